"""A smoke run of the PostgreSQL benchmark (``--quick``): every row prints; figures are
not checked here (speed is judged by the benchmark's own floors, not by tests)."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

SCRIPT = Path(__file__).with_name("bench_postgres.py")


def test_the_quick_run_prints_every_row() -> None:
    done = subprocess.run([sys.executable, str(SCRIPT), "--quick", "--no-fsync"],
                          capture_output=True, text=True, timeout=180)
    assert done.returncode == 0, done.stderr
    out = done.stdout
    for row in ("[1] 100 concurrent tasks", "bare asyncpg loop committing every 100",
                "[2] one event at a time", "bare asyncpg loop committing each event",
                "the first message of a line not known",
                "[3] two processes on one database", "one process alone",
                "[4] scale: 1,000 active trios", "turn ", "trio info ", "ledger "):
        assert row in out, out
    assert out.count("target") == 6, out
