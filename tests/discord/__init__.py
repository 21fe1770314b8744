"""Tests against a project-owned fake Discord server, driven by real discord.py clients."""

import warnings

# discord.py 2.7 imports the deprecated `audioop` for voice; pytest turns that into an error.
with warnings.catch_warnings():
    warnings.filterwarnings("ignore", "'audioop' is deprecated", DeprecationWarning)
    import discord  # noqa: F401
