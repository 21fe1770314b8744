"""Twinome's shared core: platform-neutral commands in, effects out."""
