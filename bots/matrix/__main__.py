"""``python -m bots.matrix --config PATH``: the same as ``twinome matrix``."""

import sys

from bots.matrix.cli import main

raise SystemExit(main(sys.argv[1:]))
