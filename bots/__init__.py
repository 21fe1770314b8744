"""Twinome's adapters and entry points: the console, Matrix, and the ``twinome`` CLI."""
