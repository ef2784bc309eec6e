"""A persistent store (`kg load --store`) under concurrent, killed and read-only use.

Everything runs the real `kg` in subprocesses (each with a time limit), because locks and kills are
between processes. After each case the store must answer the right triple count: counted here by
parsing the same files with pyoxigraph directly, not by kg's store code.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pyoxigraph as ox
import pytest
from click.testing import CliRunner

from kg.cli import main
from kg.graph import bundled_files

COUNT = "SELECT (COUNT(*) AS ?n) WHERE { ?s ?p ?o }"


@pytest.fixture(autouse=True)
def own_signing_key(tmp_path, monkeypatch):
    """Each test signs its stores with a key of its own (subprocesses inherit the environment)."""
    monkeypatch.setenv("XDG_STATE_HOME", str(tmp_path / "state"))


@pytest.fixture(scope="module")
def data(tmp_path_factory):
    """Synthetic deal files: small (loads in a moment), larger (loads for a second or two), extra."""
    folder = tmp_path_factory.mktemp("data")
    from kg.synth import write_synthetic

    files = {}
    for name, deals, seed in (("small", 200, 1), ("large", 1500, 2), ("extra", 50, 3)):
        files[name] = folder / f"{name}.ttl"
        with files[name].open("w", encoding="utf-8") as out:
            write_synthetic(out, deals, None, seed)
    return files


def triples(*paths) -> int:
    """How many distinct triples the bundled files plus ``paths`` hold, parsed by pyoxigraph itself."""
    store = ox.Store()
    for path in [*bundled_files(), *paths]:
        store.load(path=str(path), format=ox.RdfFormat.TURTLE, to_graph=ox.DefaultGraph())
    return len(store)


def kg(*args, timeout=90, env=None):
    return subprocess.run([sys.executable, "-m", "kg", *args], capture_output=True, text=True, timeout=timeout,
                          env=env)


def start(*args, env=None):
    return subprocess.Popen([sys.executable, "-m", "kg", *args], stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                            text=True, env=env)


def finish(process, timeout=90):
    out, err = process.communicate(timeout=timeout)
    return process.returncode, out, err


def store_count(store: Path) -> int:
    result = CliRunner().invoke(main, ["--store", str(store), "query", COUNT, "--format", "csv"])
    assert result.exit_code == 0, result.output
    return int(result.stdout.splitlines()[1])


def test_three_loads_of_a_new_store_at_once_leave_one_good_store(tmp_path, data):
    store = tmp_path / "S"
    processes = [start("load", "--store", str(store), str(data["small"])) for _ in range(3)]
    outcomes = [finish(p) for p in processes]
    for code, out, err in outcomes:
        assert code == 0 and "Traceback" not in err, err
    assert sum("loaded" in out for _code, out, _err in outcomes) >= 1
    assert store_count(store) == triples(data["small"])


def test_two_forced_reloads_at_once_leave_one_good_store(tmp_path, data):
    store = tmp_path / "S"
    assert kg("load", "--store", str(store), str(data["small"])).returncode == 0
    processes = [start("load", "--store", str(store), "--force", str(data["small"])) for _ in range(2)]
    for code, _out, err in (finish(p) for p in processes):
        assert code == 0 and "Traceback" not in err, err
    assert store_count(store) == triples(data["small"])
    assert sorted(p.name for p in store.iterdir()) == ["answers", "flow-details.jsonl", "flow-edges.csv",
                                                      "flow-edges.jsonl", "flow-index.json", "kg-store.json",
                                                      "kg-store.load.lock", "kg-store.lock", "oxigraph"]
    assert all(p.suffix == ".jsonl" for p in (store / "answers").iterdir())  # no half-written answer left


def test_a_load_and_a_refresh_adding_data_race_and_both_land(tmp_path, data):
    store = tmp_path / "S"
    assert kg("load", "--store", str(store), str(data["small"])).returncode == 0
    loading = start("load", "--store", str(store), "--force", str(data["large"]))
    refreshing = start("--store", str(store), "--data", str(data["extra"]), "query", COUNT, "--format", "csv")
    (load_code, _out, load_err), (code, out, err) = finish(loading), finish(refreshing)
    assert load_code == 0 and "Traceback" not in load_err, load_err
    assert code == 0 and "Traceback" not in err, err
    # They take turns, in either order. Refresh first: it adds extra to the small store, then the load
    # sets the files to the bundled ones plus large. Load first: the refresh adds extra to large.
    seen_by_refresh = int(out.splitlines()[1])
    if seen_by_refresh == triples(data["small"], data["extra"]):
        assert store_count(store) == triples(data["large"])
    else:
        assert seen_by_refresh == triples(data["large"], data["extra"])
        assert store_count(store) == triples(data["large"], data["extra"])


def test_readers_during_a_load_see_the_old_or_the_new_store_never_a_broken_one(tmp_path, data):
    store = tmp_path / "S"
    assert kg("load", "--store", str(store), str(data["small"])).returncode == 0
    old, new = triples(data["small"]), triples(data["large"])
    loading = start("load", "--store", str(store), "--force", str(data["large"]))
    seen = []
    while loading.poll() is None or not seen:
        result = kg("--store", str(store), "query", COUNT, "--format", "csv")
        assert result.returncode == 0 and "Traceback" not in result.stderr, result.stderr
        seen.append(int(result.stdout.splitlines()[1]))
    assert finish(loading)[0] == 0
    assert set(seen) <= {old, new}, seen
    assert store_count(store) == new


def test_a_second_load_gives_up_after_the_bounded_wait_with_one_line(tmp_path, data, assert_one_error_line):
    store = tmp_path / "S"
    assert kg("load", "--store", str(store), str(data["small"])).returncode == 0
    loading = start("load", "--store", str(store), "--force", str(data["large"]))
    while not (store / "oxigraph.new").exists() and loading.poll() is None:
        time.sleep(0.02)  # the first load holds the load lock now
    impatient = kg("load", "--store", str(store), "--force", env={**os.environ, "KG_STORE_WAIT": "0"})
    assert finish(loading)[0] == 0
    if loading.returncode == 0 and impatient.returncode == 0:
        pytest.skip("the first load finished before the second one started (machine too fast to race)")
    assert impatient.returncode == 2
    assert_one_error_line(impatient.stderr, "another kg process is loading this store", "KG_STORE_WAIT")
    assert store_count(store) == triples(data["large"])


def test_a_load_killed_mid_way_leaves_the_old_store_usable(tmp_path, data):
    store = tmp_path / "S"
    assert kg("load", "--store", str(store), str(data["small"])).returncode == 0
    loading = start("load", "--store", str(store), "--force", str(data["large"]))
    while not (store / "oxigraph.new").exists() and loading.poll() is None:
        time.sleep(0.01)
    loading.send_signal(signal.SIGKILL)
    loading.wait(30)
    assert store_count(store) == triples(data["small"])
    assert kg("load", "--store", str(store), str(data["extra"])).returncode == 0  # and loads again
    assert store_count(store) == triples(data["extra"])
    assert not (store / "oxigraph.new").exists()


def test_a_load_killed_between_its_two_renames_is_recovered_on_open(tmp_path, data):
    store = tmp_path / "S"
    assert kg("load", "--store", str(store), str(data["small"])).returncode == 0
    (store / "oxigraph").rename(store / "oxigraph.old")  # the state between "old aside" and "new in"
    assert store_count(store) == triples(data["small"])


@pytest.fixture
def read_only_store(tmp_path, data):
    """A store on a tmpfs remounted read-only (root only; skipped otherwise)."""
    folder = tmp_path / "ro"
    folder.mkdir()
    mounted = subprocess.run(["mount", "-t", "tmpfs", "-o", "size=32m", "tmpfs", str(folder)],
                             capture_output=True, text=True)
    if mounted.returncode != 0:
        pytest.skip(f"cannot mount a tmpfs (needs root): {mounted.stderr.strip()}")
    try:
        store = folder / "S"
        assert kg("load", "--store", str(store), str(data["small"])).returncode == 0
        remounted = subprocess.run(["mount", "-o", "remount,ro", str(folder)], capture_output=True, text=True)
        assert remounted.returncode == 0, remounted.stderr
        yield store
    finally:
        subprocess.run(["umount", "-l", str(folder)], check=False)


def test_read_only_store_still_answers(read_only_store, data):
    assert store_count(read_only_store) == triples(data["small"])


@pytest.mark.parametrize("args", [
    ["--data", "EXTRA", "stats"],
    ["load", "--force", "SMALL"],
])
def test_read_only_store_refuses_changes_with_one_line(read_only_store, data, args, assert_one_error_line):
    args = [str(data["extra"]) if a == "EXTRA" else str(data["small"]) if a == "SMALL" else a for a in args]
    before = sorted(p.name for p in read_only_store.iterdir())
    result = kg("--store", str(read_only_store), *args)
    assert result.returncode == 2
    assert_one_error_line(result.stderr, "cannot write the store", "Read-only file system")
    assert sorted(p.name for p in read_only_store.iterdir()) == before
    assert store_count(read_only_store) == triples(data["small"])
