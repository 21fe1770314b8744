"""Console scenarios: scripts played through the console, checked on its JSON output."""
