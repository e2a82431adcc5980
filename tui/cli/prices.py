"""`tokentop prices`: the effective price table with where each row comes from and the models seen unpriced;
`tokentop prices import FILE`: refresh prices from a LiteLLM price file the user downloaded (no network)."""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

from ...ingest.pricing import RATE_KEYS
from .common import UserFacingError, context, explained


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("prices", help="the effective price table (built-in, imported, overridden, unconfirmed) and "
                                      "the models seen without a price")
    p.add_argument("--json", action="store_true", help="JSON for scripts")
    p.set_defaults(handler=cmd_prices, action=None)
    actions = p.add_subparsers(dest="action", metavar="ACTION")
    imp = actions.add_parser("import", help="read a LiteLLM model_prices_and_context_window.json you downloaded; "
                                            "shows what changes before writing the override file")
    imp.add_argument("file", metavar="FILE", type=Path)
    imp.add_argument("--yes", action="store_true", help="write without asking (for scripts)")
    imp.add_argument("--dry-run", action="store_true", help="show the changes, write nothing")
    imp.set_defaults(handler=cmd_prices_import)


def _rates(price) -> list[str]:
    r = price.rates
    return [f"{v:g}" for v in (r.input, r.output, r.cache_write_5m, r.cache_write_1h, r.cache_read)]


def _rules(price) -> str:
    rules = []
    if price.long_context is not None:
        base, high = price.rates, price.long_context
        ratios = {round(getattr(high, k) / getattr(base, k), 6) for k in RATE_KEYS if getattr(base, k)}
        scale = f"x{ratios.pop():g}" if len(ratios) == 1 else "premium"
        rules.append(f"{scale} above {price.long_context_threshold // 1000}k input")
    if price.fast_multiplier is not None:
        rules.append(f"fast x{price.fast_multiplier:g}")
    if price.us_multiplier != 1.0:
        rules.append(f"US x{price.us_multiplier:g}")
    return ", ".join(rules)


@explained
def cmd_prices(args) -> int:
    from ...ingest.price_book import config_lines, load_imported, origin, unpriced_models
    from ...ingest.pricing import PriceTable

    ctx = context(args)
    table, shipped = ctx.prices, PriceTable.load()
    imported = {str(k).strip().lower() for k in load_imported(ctx.imported_prices_path)}
    config = ctx.settings.prices or {}
    seen: list[tuple[str, int]] = []
    if ctx.db_path.exists():
        from .common import open_store
        with open_store(ctx, readonly=True) as store:
            seen = unpriced_models(store.db)
    rows = [{"prefix": p.prefix, "origin": origin(table, shipped, imported, config, p.prefix),
             "rates": dict(zip(("input", "output", "cache_write_5m", "cache_write_1h", "cache_read"),
                               map(float, _rates(p)), strict=True)),
             "rules": _rules(p), "source": p.source, "as_of": p.as_of} for p in table.rows()]
    unpriced = [{"model": m, "requests": n, "config": config_lines(table, m)} for m, n in seen]
    if args.json:
        print(json.dumps({"web_search_per_1000": table.web_search_per_1000, "models": rows, "unpriced": unpriced},
                         indent=2))
        return 0
    head = ["prefix", "origin", "input", "output", "write 5m", "write 1h", "read", "rules", "source", "as of"]
    body = [[r["prefix"], r["origin"], *_rates(table[r["prefix"]]), r["rules"], r["source"], r["as_of"]]
            for r in rows]
    widths = [max(len(str(line[i])) for line in [head, *body]) for i in range(len(head))]
    print("USD per million tokens (estimates at list prices). Web search: "
          f"${table.web_search_per_1000:g} per 1,000 searches.")
    for line in [head, *body]:
        print("  ".join(str(cell).ljust(w) for cell, w in zip(line, widths, strict=True)).rstrip())
    if any(r["origin"] == "unconfirmed" for r in rows):
        print('unconfirmed: third-party quotes; they price nothing until you add [prices."<prefix>"] '
              "confirmed = true to config.toml")
    if unpriced:
        print(f"\nSeen without a price ({sum(n for _, n in seen):,} requests; totals that include them are lower "
              "bounds). Add to config.toml:")
        for item in unpriced:
            print(f"  {item['model']}: {item['requests']:,} requests")
            print("\n".join(f"    {line}" for line in item["config"]))
    return 0


@explained
def cmd_prices_import(args) -> int:
    from ...ingest.price_book import diff, load_imported, read_litellm, write_imported
    from ...ingest.pricing import PricingError

    ctx = context(args)
    try:
        found = read_litellm(args.file)
        changes = diff(ctx.prices, found.tables)
    except PricingError as exc:
        raise UserFacingError(str(exc)) from None
    target = ctx.imported_prices_path
    for name, why in found.skipped:
        print(f"skipped {name}: {why}")
    changed = [c for c in changes if c.what != "same"]
    for change in changed:
        print(f"{'+' if change.what == 'new' else '~'} {change.prefix}: {', '.join(change.details)}")
    print(f"{len(found.tables)} Anthropic models read, {len(changed)} would change the prices in use "
          f"({len(changes) - len(changed)} already match).")
    if not changed:
        return 0
    if args.dry_run:
        return 0
    if not args.yes:
        if not sys.stdin.isatty():
            raise UserFacingError(f"not writing {target} without confirmation: run on a terminal or add --yes")
        if input(f"write {target}? [y/N] ").strip().lower() not in ("y", "yes"):
            print("nothing written")
            return 1
    keep = {c.prefix for c in changed}
    tables = {**load_imported(target), **{p: t for p, t in found.tables.items() if p in keep}}
    write_imported(target, tables, args.file.name)
    print(f"wrote {target}; the store re-prices its history on the next run")
    return 0
