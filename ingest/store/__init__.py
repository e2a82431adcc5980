"""The SQLite store: schema and migrations, writes, positions, retention, and recovery of a damaged file."""
