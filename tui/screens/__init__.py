"""The screens of the Textual app: overview, session drill-down, views, help and filter."""
