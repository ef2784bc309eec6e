"""--data files too large to hold in memory comfortably: kg says so, loads them into a temporary on-disk
store instead (removed afterwards), and answers as it does from memory."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

FIXTURE = Path(__file__).parent / "fixtures" / "flows" / "new_loop.ttl"


def kg(*args, env=None) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "kg", *args], capture_output=True, text=True, timeout=300,
                          env={**os.environ, **(env or {})})


def test_files_over_the_memory_budget_go_to_a_temporary_store(tmp_path):
    args = ("--data", str(FIXTURE), "cycles", "--format", "json")
    in_memory = kg(*args)
    assert in_memory.returncode == 0 and "temporary" not in in_memory.stderr
    on_disk = kg(*args, env={"KG_MEMORY_BUDGET": "1000", "TMPDIR": str(tmp_path)})
    assert on_disk.returncode == 0, on_disk.stderr
    assert "too much to hold in memory" in on_disk.stderr and "kg load --store" in on_disk.stderr
    assert json.loads(on_disk.stdout) == json.loads(in_memory.stdout)
    assert list(tmp_path.iterdir()) == []  # the temporary store is gone


def test_a_bad_memory_budget_is_one_clear_line():
    result = kg("--data", str(FIXTURE), "stats", env={"KG_MEMORY_BUDGET": "lots"})
    assert result.returncode == 2 and result.stderr.strip() == (
        "kg: error: KG_MEMORY_BUDGET='lots': give a number of bytes")
