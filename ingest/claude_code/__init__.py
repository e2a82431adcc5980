"""Claude Code integration: the statusline command, the hook, and the settings file they are registered in."""
