"""One sync pass: merge the other machines' files, then publish this machine's part; what `tokentop sync`, the
TUI and `ingest --follow` run every few minutes and on exit."""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from pathlib import Path

from .merge import Merged, merge
from .publish import Published, publish

SYNC_EVERY_S = 180.0
"""How often the TUI and `ingest --follow` sync while running."""


@dataclass
class SyncResult:
    folder: Path
    machine: str
    merged: Merged = field(default_factory=Merged)
    published: Published = field(default_factory=Published)
    error: str | None = None

    def lines(self) -> list[str]:
        head = f"sync folder {self.folder} as machine {self.machine!r}"
        if self.error:
            return [head, f"  not synced: {self.error}"]
        out = [head, f"  {self.merged.line()}", f"  {self.published.line()}"]
        out += [f"  skipped {p}" for p in self.merged.problems[:10]]
        if len(self.merged.problems) > 10:
            out.append(f"  … and {len(self.merged.problems) - 10} more (see `tokentop doctor`)")
        return out


def sync_once(store, folder: Path, now_ms: int | None = None) -> SyncResult:
    """Merge, then publish (so what is published already reflects the merge's attribution). Problems with the
    folder itself (missing, read-only) come back in `error`; nothing a peer wrote can raise here."""
    now_ms = int(time.time() * 1000) if now_ms is None else now_ms
    result = SyncResult(folder, store.machine)
    if not folder.is_dir():
        result.error = f"{folder} is not a folder (create it, or point sync_dir / TOKENTOP_SYNC_DIR at one)"
        return result
    result.merged = merge(store, folder, now_ms)
    try:
        with store.transaction():
            result.published = publish(store, folder, now_ms)
    except OSError as exc:
        result.error = f"cannot write {folder / store.machine} ({exc.strerror or exc})"
    return result
