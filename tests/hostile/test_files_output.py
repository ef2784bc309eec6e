"""Hostile and careless output paths: every `-o` and standard output, tried as a user would break them.

Each case checks what the user sees (exit code, exactly one `kg: error:` line, no traceback) and what is
left on disk (the old file byte for byte, no temporary file, a device still a device). Full and read-only
folders are small tmpfs mounts (root only; skipped with the reason otherwise); stdout on a full disk is
/dev/full. Cases that need real file descriptors run `python -m kg` in a subprocess with a time limit.
"""

from __future__ import annotations

import os
import signal
import stat
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest
from click.testing import CliRunner
from rdflib import Graph

from kg.cli import main
from kg.graph import load_graph

OLD = b"old content the user wants to keep\n"


def run(*args):
    return CliRunner().invoke(main, list(args))


def kg(*args, timeout=60, **kwargs):
    """Run the real `kg` in its own process (real stdout, real signals)."""
    return subprocess.run([sys.executable, "-m", "kg", *args], capture_output=True, text=True,
                          timeout=timeout, **kwargs)


def names_in(folder: Path) -> list[str]:
    return sorted(p.name for p in folder.iterdir())


@pytest.fixture
def tmpfs(tmp_path):
    """A 64 kB tmpfs folder (a full disk after a few writes), unmounted afterwards."""
    folder = tmp_path / "small"
    folder.mkdir()
    mounted = subprocess.run(["mount", "-t", "tmpfs", "-o", "size=64k", "tmpfs", str(folder)],
                             capture_output=True, text=True)
    if mounted.returncode != 0:
        pytest.skip(f"cannot mount a small tmpfs (needs root): {mounted.stderr.strip()}")
    yield folder
    subprocess.run(["umount", "-l", str(folder)], check=False)


def read_only(folder: Path):
    remounted = subprocess.run(["mount", "-o", "remount,ro", str(folder)], capture_output=True, text=True)
    assert remounted.returncode == 0, remounted.stderr


# ----------------------------------------------------------------- paths that cannot be a file

@pytest.mark.parametrize("command", [["export"], ["viz"], ["synth", "--deals", "10"]])
def test_empty_output_path_is_one_line(command, assert_one_error_line):
    result = run(*command, "-o", "")
    assert result.exit_code == 2
    assert_one_error_line(result.stderr, "empty file name")


@pytest.mark.parametrize("command", [["export"], ["viz"], ["synth", "--deals", "10"]])
def test_output_into_a_missing_folder_creates_nothing(command, tmp_path, assert_one_error_line):
    result = run(*command, "-o", str(tmp_path / "missing" / "out"))
    assert result.exit_code == 2
    assert_one_error_line(result.stderr, "no such folder")
    assert names_in(tmp_path) == []


@pytest.mark.parametrize("command", [["export"], ["viz"], ["synth", "--deals", "10"]])
def test_output_that_is_a_folder_leaves_the_folder_alone(command, tmp_path, assert_one_error_line):
    (tmp_path / "keep.txt").write_bytes(OLD)
    result = run(*command, "-o", str(tmp_path))
    assert result.exit_code == 2
    assert_one_error_line(result.stderr, "is a folder")
    assert names_in(tmp_path) == ["keep.txt"] and (tmp_path / "keep.txt").read_bytes() == OLD


# ----------------------------------------------------------------- regular files, links, devices, FIFOs

def test_export_replaces_a_file_whole_and_keeps_its_permissions(tmp_path):
    target = tmp_path / "graph.ttl"
    target.write_bytes(OLD)
    target.chmod(0o640)
    result = run("export", "-o", str(target))
    assert result.exit_code == 0, result.output
    assert len(Graph().parse(target, format="turtle")) == len(load_graph())
    assert stat.S_IMODE(target.stat().st_mode) == 0o640
    assert names_in(tmp_path) == ["graph.ttl"]


def test_new_output_file_gets_the_umask_permissions_not_0600(tmp_path):
    previous = os.umask(0o022)
    try:
        assert run("synth", "--deals", "10", "-o", str(tmp_path / "s.ttl")).exit_code == 0
    finally:
        os.umask(previous)
    assert stat.S_IMODE((tmp_path / "s.ttl").stat().st_mode) == 0o644


def test_output_through_a_symbolic_link_replaces_the_file_and_keeps_the_link(tmp_path):
    real = tmp_path / "real.html"
    real.write_bytes(OLD)
    link = tmp_path / "deals.html"
    link.symlink_to(real)
    assert run("viz", "-o", str(link)).exit_code == 0
    assert link.is_symlink() and os.readlink(link) == str(real)
    assert real.read_text(encoding="utf-8").lstrip().lower().startswith("<!doctype html")
    assert names_in(tmp_path) == ["deals.html", "real.html"]


def test_export_to_a_device_node_writes_to_it_and_keeps_it_a_device(tmp_path):
    device = tmp_path / "null"
    try:
        os.mknod(device, 0o666 | stat.S_IFCHR, os.makedev(1, 3))  # same device as /dev/null
    except PermissionError:
        pytest.skip("cannot make a device node (needs root)")
    for command in (["export"], ["viz"], ["synth", "--deals", "10"]):
        result = run(*command, "-o", str(device))
        assert result.exit_code == 0, result.output
        assert stat.S_ISCHR(device.lstat().st_mode), f"{command} replaced the device with a regular file"
    assert names_in(tmp_path) == ["null"]


def test_export_to_a_fifo_streams_everything_and_keeps_the_fifo(tmp_path):
    fifo = tmp_path / "pipe"
    os.mkfifo(fifo)
    received = []
    reader = threading.Thread(target=lambda: received.append(fifo.read_bytes()), daemon=True)
    reader.start()
    result = kg("export", "--format", "nt", "-o", str(fifo), timeout=60)
    reader.join(10)
    assert result.returncode == 0, result.stderr
    assert stat.S_ISFIFO(fifo.lstat().st_mode)
    assert len(Graph().parse(data=received[0].decode("utf-8"), format="nt")) == len(load_graph())
    assert names_in(tmp_path) == ["pipe"]


# ----------------------------------------------------------------- full disk, read-only, permissions

@pytest.mark.parametrize("command", [["export"], ["viz"], ["synth", "--deals", "2000"]])
def test_full_disk_keeps_the_old_file_and_leaves_no_temporary(command, tmpfs, assert_one_error_line):
    target = tmpfs / "out"
    target.write_bytes(OLD)
    result = run(*command, "-o", str(target))
    assert result.exit_code == 2
    assert_one_error_line(result.stderr, "No space left on device")
    assert target.read_bytes() == OLD
    assert names_in(tmpfs) == ["out"]


def test_read_only_folder_keeps_the_old_file(tmpfs, assert_one_error_line):
    target = tmpfs / "graph.ttl"
    target.write_bytes(OLD)
    read_only(tmpfs)
    result = run("export", "-o", str(target))
    assert result.exit_code == 2
    assert_one_error_line(result.stderr, "Read-only file system")
    assert target.read_bytes() == OLD and names_in(tmpfs) == ["graph.ttl"]


def test_folder_without_write_permission_is_one_line(tmp_path, assert_one_error_line):
    folder = Path(os.environ.get("TMPDIR", "/tmp")) / f"kg-perm-{os.getpid()}"
    folder.mkdir(mode=0o755)
    try:
        (folder / "deals.html").write_bytes(OLD)
        folder.chmod(0o555)
        command = [sys.executable, "-m", "kg", "viz", "-o", str(folder / "deals.html")]
        if os.geteuid() == 0:  # root writes anywhere: run as nobody, if the code is readable to it
            command = ["setpriv", "--reuid=65534", "--regid=65534", "--clear-groups", *command]
            probe = subprocess.run(command[:4] + [sys.executable, "-c", f"import kg, sys; open({str(folder)!r})"],
                                   capture_output=True, text=True)
            if probe.returncode != 0 and "Is a directory" not in probe.stderr:
                pytest.skip(f"cannot run kg as another user: {probe.stderr.strip()[-200:]}")
        result = subprocess.run(command, capture_output=True, text=True, timeout=60, cwd="/")
        assert result.returncode == 2
        assert_one_error_line(result.stderr, "Permission denied")
        assert (folder / "deals.html").read_bytes() == OLD and names_in(folder) == ["deals.html"]
    finally:
        folder.chmod(0o755)
        for path in folder.iterdir():
            path.unlink()
        folder.rmdir()


def test_interrupted_write_keeps_the_old_file_and_leaves_no_temporary(tmp_path):
    target = tmp_path / "synth.ttl"
    target.write_bytes(OLD)
    # Ctrl-C as a terminal sends it. SIGINT back to its default in the child: a suite started in the
    # background (`&`) ignores it, and Python then never turns it into KeyboardInterrupt.
    process = subprocess.Popen([sys.executable, "-m", "kg", "synth", "--deals", "400000", "-o", str(target)],
                               stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                               preexec_fn=lambda: signal.signal(signal.SIGINT, signal.SIG_DFL))
    deadline = time.monotonic() + 30
    while not any(p.name.endswith(".part") for p in tmp_path.iterdir()) and time.monotonic() < deadline:
        time.sleep(0.05)  # wait until the temporary file is being written
    process.send_signal(signal.SIGINT)
    _out, err = process.communicate(timeout=30)
    assert process.returncode != 0
    assert "Traceback" not in err, err
    assert target.read_bytes() == OLD and names_in(tmp_path) == ["synth.ttl"]


# ----------------------------------------------------------------- standard output

@pytest.mark.parametrize("command", [
    ["query", "SELECT * WHERE { ?s ?p ?o }"],
    ["query", "SELECT * WHERE { ?s ?p ?o } LIMIT 1"],  # small: fails only when flushed at the end
    ["export"],
    ["viz", "-o", "-"],
    ["synth", "--deals", "10"],
])
def test_stdout_on_a_full_disk_is_one_line(command, assert_one_error_line):
    with open("/dev/full", "w") as full:
        result = subprocess.run([sys.executable, "-m", "kg", *command], stdout=full, stderr=subprocess.PIPE,
                                text=True, timeout=60)
    assert result.returncode == 2
    assert_one_error_line(result.stderr, "standard output", "No space left on device")


def test_stdout_closed_by_the_reader_is_quiet():
    process = subprocess.Popen([sys.executable, "-m", "kg", "export", "--format", "nt"],
                               stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    process.stdout.read(100)
    process.stdout.close()  # like `kg export | head -c 100`
    err = process.stderr.read().decode()
    process.wait(timeout=60)
    assert "Traceback" not in err and "kg: error" not in err, err
