"""An audit hook (``sys.addaudithook``) watches every file Python opens and every socket it connects
while kg handles hostile input; nothing outside the expected files may be touched.

The hook cannot be removed once added, so it runs in a child Python that calls the CLI in-process
for each case and prints what it saw. Oxigraph's own I/O is native and invisible to audit hooks:
the loopback listener and sentinel checks in the other files cover it.
"""

from __future__ import annotations

import json
import subprocess
import sys
import textwrap

CHILD = textwrap.dedent(r'''
    import json, os, sys
    allowed = [os.path.realpath(p) for p in json.loads(sys.argv[1])]
    seen = []

    def hook(event, args):
        if event == "socket.connect":
            seen.append(["connect", repr(args[1])])
        elif event == "open" and isinstance(args[0], (str, bytes, os.PathLike)):
            path = os.path.realpath(os.fsdecode(args[0]))
            if not any(path == a or path.startswith(a + os.sep) for a in allowed):
                seen.append(["open", path])

    from click.testing import CliRunner
    from kg.cli import main
    cases = json.loads(sys.argv[2])
    sys.addaudithook(hook)
    codes = [CliRunner().invoke(main, args).exit_code for args in cases]
    print(json.dumps({"codes": codes, "seen": seen}))
''')


def test_no_unexpected_open_or_connect(tmp_path, sentinel, listener):
    import kg
    from pathlib import Path

    data = tmp_path / "data"
    data.mkdir()
    (data / "ctx.jsonld").write_text(json.dumps({"@context": str(sentinel.json_path), "@id": "http://x.example/a"}))
    (data / "remote.jsonld").write_text(json.dumps({"@context": f"{listener.url}/ctx", "@id": "http://x.example/a"}))
    (data / "xxe.rdf").write_text(
        f'<?xml version="1.0"?><!DOCTYPE r [ <!ENTITY s SYSTEM "{sentinel.path.as_uri()}"> ]>'
        '<rdf:RDF xmlns:rdf="http://www.w3.org/1999/02/22-rdf-syntax-ns#" xmlns:x="http://x.example/">'
        '<rdf:Description rdf:about="http://x.example/a"><x:p>&s;</x:p></rdf:Description></rdf:RDF>')
    cases = [
        ["--data", str(data / "ctx.jsonld"), "stats"],
        ["--data", str(data / "remote.jsonld"), "validate"],
        ["--data", str(data / "xxe.rdf"), "validate"],
        ["query", f"SELECT * WHERE {{ SERVICE <{listener.url}/sparql> {{ ?s ?p ?o }} }}"],
        ["query", f"SELECT * FROM <{sentinel.path.as_uri()}> WHERE {{ ?s ?p ?o }}"],
        ["query", f"LOAD <{sentinel.path.as_uri()}>"],
    ]
    # Expected: the project (data, queries, ontology), the Python installation, the case's own files.
    project = Path(kg.__file__).resolve().parents[1]
    allowed = [str(project), sys.prefix, sys.base_prefix, str(data), "/proc", "/dev", "/sys",
               "/usr/lib", "/usr/share", "/etc/localtime"]
    child = subprocess.run([sys.executable, "-c", CHILD, json.dumps(allowed), json.dumps(cases)],
                           capture_output=True, text=True, timeout=120, cwd=project)
    assert child.returncode == 0, child.stderr[-2000:]
    report = json.loads(child.stdout.strip().splitlines()[-1])
    assert report["codes"] == [2] * len(cases), report
    assert report["seen"] == []
    assert listener.connections == []
    assert sentinel.token not in child.stdout + child.stderr
