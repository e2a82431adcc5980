"""The live path: file events and a safety poll feed one ingest thread that commits rows and offsets together."""
