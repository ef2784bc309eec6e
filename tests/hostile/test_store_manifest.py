"""A planted or damaged store manifest (`kg-store.json`) must not make kg open files the user did not load.

The rule (docs/scale.md): kg signs the manifests it writes with a key only the user can read; a manifest
without a valid signature is never used to open files other than the bundled ones and those named on the
command line. Its database is used as it is; a command that would re-read its other files refuses with
one line. Which files a process opens is watched with strace (skipped without it); a secret file's
content must also never show up in answers.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
from click.testing import CliRunner

from kg.cli import main

SECRET = "SECRET-7d41"
COUNT = "SELECT (COUNT(*) AS ?n) WHERE { ?s ?p ?o }"


@pytest.fixture(scope="module", autouse=True)
def own_signing_key(tmp_path_factory):
    """The tests sign stores with a key of their own (subprocesses inherit the environment)."""
    state = tmp_path_factory.mktemp("state")
    previous = os.environ.get("XDG_STATE_HOME")
    os.environ["XDG_STATE_HOME"] = str(state)
    yield state
    if previous is None:
        del os.environ["XDG_STATE_HOME"]
    else:
        os.environ["XDG_STATE_HOME"] = previous


def kg(*args, trace=None, timeout=90):
    """Run the real kg; with ``trace`` (a path), strace records every file it opens or stats into it."""
    command = [sys.executable, "-m", "kg", *args]
    if trace is not None:
        command = ["strace", "-f", "-qq", "-e", "trace=%file", "-o", str(trace), *command]
    return subprocess.run(command, capture_output=True, text=True, timeout=timeout)


@pytest.fixture(scope="module")
def made_store(tmp_path_factory):
    path = tmp_path_factory.mktemp("made") / "S"
    result = kg("load", "--store", str(path))
    assert result.returncode == 0, result.stderr
    return path


@pytest.fixture
def store(made_store, tmp_path):
    """A store of the bundled data, made by kg (so signed with the tests' key); a fresh copy per test."""
    return Path(shutil.copytree(made_store, tmp_path / "S"))


@pytest.fixture
def secret(tmp_path):
    """A Turtle file the user never loaded, holding a value that must never be shown."""
    path = tmp_path / "private" / "secret.ttl"
    path.parent.mkdir()
    path.write_text(f'<urn:x:secret> <urn:x:says> "{SECRET}" .\n', encoding="utf-8")
    return path


def plant(store: Path, path: str, *, size: int | None = None):
    """Add ``path`` to the store's manifest the way an attacker would (no valid signature, a stale size)."""
    manifest_file = store / "kg-store.json"
    manifest = json.loads(manifest_file.read_text(encoding="utf-8"))
    manifest["files"].append({"path": path, "size": size if size is not None else 1, "mtime_ns": 1, "sha256": "0" * 64})
    manifest_file.write_text(json.dumps(manifest), encoding="utf-8")


def count(store: Path) -> int:
    result = CliRunner().invoke(main, ["--store", str(store), "query", COUNT, "--format", "csv"])
    assert result.exit_code == 0, result.output
    return int(result.stdout.splitlines()[1])


def opened(trace: Path, path) -> list[str]:
    return [line for line in trace.read_text().splitlines() if str(path) in line]


needs_strace = pytest.mark.skipif(shutil.which("strace") is None, reason="strace is not installed")


@needs_strace
def test_planted_manifest_naming_etc_passwd_is_never_opened(store, tmp_path):
    before = count(store)
    plant(store, "/etc/passwd", size=os.path.getsize("/etc/passwd"))  # same size, other time: would be hashed
    trace = tmp_path / "trace.txt"
    result = kg("--store", str(store), "query", COUNT, "--format", "csv", trace=trace)
    assert result.returncode == 0, result.stderr
    assert int(result.stdout.splitlines()[1]) == before  # the store is used as it is
    assert [line for line in opened(trace, "/etc/passwd") if "open" in line] == []


@needs_strace
def test_planted_manifest_entry_is_not_even_looked_at_on_a_plain_read(store, secret, tmp_path):
    plant(store, str(secret))
    trace = tmp_path / "trace.txt"
    assert kg("--store", str(store), "stats", trace=trace).returncode == 0
    assert opened(trace, secret) == []


def test_planted_manifest_does_not_pull_a_secret_file_into_answers(store, secret):
    before = count(store)
    plant(store, str(secret))
    for args in (["query", f'SELECT ?o WHERE {{ ?s ?p ?o FILTER(STR(?o) = "{SECRET}") }}'], ["stats"]):
        result = kg("--store", str(store), *args)
        assert result.returncode == 0 and SECRET not in result.stdout + result.stderr, result.stderr
    assert count(store) == before


@pytest.mark.parametrize("command", [["--data", "EXTRA", "stats"], ["export"], ["validate"]])
def test_commands_that_would_reread_a_planted_file_refuse_with_one_line(store, secret, tmp_path, command, assert_one_error_line):
    extra = tmp_path / "extra.ttl"
    extra.write_text("<urn:x:a> <urn:x:b> <urn:x:c> .\n", encoding="utf-8")
    before = count(store)
    plant(store, str(secret))
    result = kg("--store", str(store), *[str(extra) if a == "EXTRA" else a for a in command])
    assert result.returncode == 2
    assert_one_error_line(result.stderr, "not written by kg for this user", "kg load --store")
    assert SECRET not in result.stdout + result.stderr
    assert count(store) == before


def test_reloading_with_force_adopts_the_store_from_the_files_named(store, secret, tmp_path):
    extra = tmp_path / "extra.ttl"
    extra.write_text("<urn:x:a> <urn:x:b> <urn:x:c> .\n", encoding="utf-8")
    before = count(store)
    plant(store, str(secret))
    result = kg("load", "--store", str(store), "--force", str(extra))
    assert result.returncode == 0, result.stderr
    assert count(store) == before + 1
    assert str(secret) not in (store / "kg-store.json").read_text(encoding="utf-8")
    assert kg("--store", str(store), "export").returncode == 0  # its own manifest again: trusted


def test_manifest_from_another_account_key_is_not_trusted(store, secret, tmp_path, monkeypatch, own_signing_key, assert_one_error_line):
    """A store kg made for someone else (another key) counts as foreign, even if its manifest is intact."""
    plant(store, str(secret))
    other = tmp_path / "other"
    monkeypatch.setenv("XDG_STATE_HOME", str(tmp_path / "other-state"))
    assert kg("load", "--store", str(other), str(secret)).returncode == 0  # signed with the other key
    monkeypatch.setenv("XDG_STATE_HOME", str(own_signing_key))
    result = kg("--store", str(other), "export")
    assert result.returncode == 2
    assert_one_error_line(result.stderr, "not written by kg for this user")


@pytest.mark.parametrize("damage", [
    lambda m: m.update(files="all of them"),
    lambda m: m["files"].append({"path": "relative/file.ttl", "size": 1, "mtime_ns": 1, "sha256": "0"}),
    lambda m: m["files"].append({"path": ["/etc/passwd"], "size": 1, "mtime_ns": 1, "sha256": "0"}),
    lambda m: m["files"][0].pop("size"),
    lambda m: m.update(triples="many"),
], ids=["files-not-a-list", "relative-path", "path-not-a-string", "entry-without-size", "triples-not-a-number"])
def test_malformed_manifest_is_one_line(store, damage, assert_one_error_line):
    manifest_file = store / "kg-store.json"
    manifest = json.loads(manifest_file.read_text(encoding="utf-8"))
    damage(manifest)
    manifest_file.write_text(json.dumps(manifest), encoding="utf-8")
    result = CliRunner().invoke(main, ["--store", str(store), "stats"])
    assert result.exit_code == 2
    assert_one_error_line(result.stderr, "not a kg store manifest")


def test_manifest_that_is_not_json_is_one_line(store, assert_one_error_line):
    (store / "kg-store.json").write_bytes(b"\x00\xff{not json")
    result = CliRunner().invoke(main, ["--store", str(store), "stats"])
    assert result.exit_code == 2
    assert_one_error_line(result.stderr, "unreadable store manifest")
