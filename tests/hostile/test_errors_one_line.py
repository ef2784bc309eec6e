"""Every error is one `kg: error: …` line with exit code 2 — click's own usage errors included —
and `--debug` shows the traceback with the same exit code. In-process (CliRunner) except where the
exit code of the real process is the point.
"""

from __future__ import annotations

import pytest
from click.testing import CliRunner

from kg.cli import main


def run(*args, input=None):
    return CliRunner().invoke(main, list(args), input=input, prog_name="kg")


def one_error_line(result) -> str:
    assert result.exit_code == 2, (result.exit_code, result.output, result.stderr)
    lines = result.stderr.splitlines()
    assert len(lines) == 1 and lines[0].startswith("kg: error: "), result.stderr
    assert "Traceback" not in result.stderr and result.stdout == ""
    return lines[0]


@pytest.mark.parametrize("args, says", [
    (["query"], ["Missing argument 'QUERY'", "try 'kg query --help'"]),
    (["query", "circular-deals", "--fromat", "csv"], ["No such option", "--fromat", "try 'kg query --help'"]),
    (["--bogus", "stats"], ["No such option", "--bogus", "try 'kg --help'"]),
    (["quer"], ["No such command 'quer'"]),
    (["query", "circular-deals", "--limit", "many"], ["--limit", "'many' is not a valid integer"]),
    (["query", "circular-deals", "--timeout", "soon"], ["--timeout"]),
    (["trace"], ["Missing argument 'FROM'"]),
    (["synth", "--deals", "-5"], ["--deals"]),
    (["viz", "--hops", "x"], ["--hops"]),
])
def test_click_usage_errors_are_one_line(args, says):
    line = one_error_line(run(*args))
    for text in says:
        assert text in line, line


def test_store_pointing_at_a_file(tmp_path):
    afile = tmp_path / "store.txt"
    afile.write_text("not a store")
    line = one_error_line(run("--store", str(afile), "stats"))
    assert "--store" in line and "is a file" in line


def test_output_pointing_at_a_folder(tmp_path):
    line = one_error_line(run("export", "-o", str(tmp_path)))
    assert str(tmp_path) in line and ("is a folder" in line or "is a directory" in line)


def test_data_that_is_a_folder(tmp_path):
    line = one_error_line(run("--data", str(tmp_path), "stats"))
    assert "--data" in line and "is a directory" in line


def test_unreadable_data_file(tmp_path):
    import os
    if os.geteuid() == 0:
        pytest.skip("root reads every file")
    path = tmp_path / "locked.ttl"
    path.write_text("<urn:a> <urn:b> <urn:c> .")
    path.chmod(0)
    line = one_error_line(run("--data", str(path), "stats"))
    assert "locked.ttl" in line and "cannot read" in line


def test_missing_data_file(tmp_path):
    line = one_error_line(run("--data", str(tmp_path / "nope.ttl"), "stats"))
    assert line == f"kg: error: {tmp_path / 'nope.ttl'}: no such file"


def test_debug_keeps_the_traceback_and_the_exit_code(run_kg):
    # A real process: the exit code and stderr as a user sees them.
    plain = run_kg(["query", "SELECT * WHERE { SERVICE <http://127.0.0.1:9/> { ?s ?p ?o } }"], timeout=20)
    debug = run_kg(["--debug", "query", "SELECT * WHERE { SERVICE <http://127.0.0.1:9/> { ?s ?p ?o } }"], timeout=20)
    assert plain.code == debug.code == 2
    assert "Traceback" not in plain.stderr and "Traceback" in debug.stderr
    assert "UnsafeQueryError" in debug.stderr
    usage = run_kg(["--debug", "query", "--timeout", "nan", "circular-deals"], timeout=20)
    assert usage.code == 2 and "Traceback" in usage.stderr
    assert usage.stderr.splitlines()[-1].startswith("kg: error: Invalid value for '--timeout'")
