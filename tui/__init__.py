"""The Textual app, its screens and the `tokentop` command line."""
