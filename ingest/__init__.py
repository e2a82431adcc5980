"""Everything without a screen: discovery, parsing, pricing, the SQLite store, windows and forecasts.
Never imports Textual."""
