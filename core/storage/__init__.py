"""Storage: the only part of the core that knows SQL and aiosqlite."""
