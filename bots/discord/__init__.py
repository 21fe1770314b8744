"""The Discord adapter: slash commands in, effects out through a carrier (discord.py 2.x)."""
