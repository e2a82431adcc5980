"""tokentop: `top` for Claude usage — a live, local monitor of Claude Code and OpenClaw token use."""

__version__ = "0.1.0"
