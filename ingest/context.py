"""Assembling what every command needs from its flags: settings, the database path, the price table, a store."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from .config import Settings, load_settings
from .live.writer_lock import WriterLock
from .pricing import PriceTable
from .store.store import Store


@dataclass
class Context:
    settings: Settings
    db_path: Path
    config_path: Path | None

    _prices: PriceTable | None = None

    @property
    def prices(self) -> PriceTable:
        """Shipped prices, under the file `tokentop prices import` wrote, under the config's [prices]."""
        if self._prices is None:
            from .price_book import load_imported, merge_overrides

            overrides = merge_overrides(load_imported(self.imported_prices_path), self.settings.prices or {})
            self._prices = PriceTable.load(overrides=overrides or None)
        return self._prices

    @property
    def imported_prices_path(self) -> Path:
        from .locations import config_path
        from .price_book import imported_path

        return imported_path(self.config_path or config_path())

    def open_store(self, readonly: bool = False) -> Store:
        return Store(self.db_path, prices=None if readonly else self.prices, readonly=readonly,
                     machine=self.settings.machine())

    def writer_lock(self) -> WriterLock:
        return WriterLock(self.db_path)


def make_context(db: str | None = None, config: str | None = None) -> Context:
    """`--db` beats $TOKENTOP_DB beats the config's db_path beats ~/.claude-usage/usage.db."""
    config_path = Path(config).expanduser() if config else None
    settings = load_settings(config_path)
    db_path = Path(db).expanduser() if db else settings.db_file()
    return Context(settings, db_path, config_path)
