"""``python -m bots``: the same as the ``twinome`` command."""

from bots.cli import main

raise SystemExit(main())
