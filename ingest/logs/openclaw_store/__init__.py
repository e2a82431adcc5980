"""OpenClaw's per-agent SQLite store (2026.8+): finding it, opening it as a read-only guest, reading it by cursor."""
