"""Reusable Textual widgets that render what they are given and never touch the store."""
