"""Where logs are and how each source reads: pure functions, bytes in, records out; never the store."""
