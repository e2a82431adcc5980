"""The command line: argument parsing and one module per command group. Never imports Textual."""
