"""Hostile data files given with --data: parsing never fetches or opens anything, never expands
without bound, never crashes. Both loading paths are tried: Oxigraph's (`kg stats`, `kg query`) and
rdflib's (`kg validate`, `kg export`). See conftest.py for what every case checks.
"""

from __future__ import annotations

import json

import pytest

SILENT = 20
RDF_NS = "http://www.w3.org/1999/02/22-rdf-syntax-ns#"
ASK_ANY_X = "ASK { ?s ?p ?o FILTER(STRSTARTS(STR(?s), 'http://x.example/')) }"


def write(tmp_path, name, text):
    path = tmp_path / name
    path.write_bytes(text.encode("utf-8") if isinstance(text, str) else text)
    return path


# --- JSON-LD contexts ---------------------------------------------------------------------------------


def _jsonld_with_context(context):
    return json.dumps({"@context": context, "@id": "http://x.example/a", "name": "leak"})


@pytest.mark.parametrize("where, command", [("path", ["stats"]), ("file-url", ["stats"]), ("in-a-list", ["stats"]),
                                            ("scoped", ["stats"]), ("import", ["stats"]), ("path", ["validate"])])
def test_jsonld_context_from_a_local_file_is_never_opened(run_kg, expect_clean_error, sentinel, tmp_path, where, command):
    target = {"path": str(sentinel.json_path), "file-url": sentinel.json_path.as_uri()}.get(where, str(sentinel.json_path))
    context = {"path": target, "file-url": target, "in-a-list": [{"x": "http://x.example/x"}, target],
               "scoped": {"name": {"@id": "http://x.example/name", "@context": target}},
               "import": {"@import": target}}[where]
    data = write(tmp_path, "doc.jsonld", _jsonld_with_context(context))
    run = run_kg(["--data", data, *command], timeout=SILENT)
    expect_clean_error(run, 2, mentions=["@context"])
    assert sentinel.token not in run.stdout + run.stderr


def test_jsonld_remote_context_is_never_fetched(run_kg, expect_clean_error, listener, tmp_path):
    data = write(tmp_path, "doc.jsonld", _jsonld_with_context(f"{listener.url}/context.jsonld"))
    run = run_kg(["--data", data, "query", ASK_ANY_X], timeout=SILENT)
    expect_clean_error(run, 2, mentions=["@context"])
    assert listener.connections == []


def test_jsonld_inline_context_still_loads(run_kg, expect_answer, tmp_path):
    data = write(tmp_path, "doc.jsonld", _jsonld_with_context({"name": "http://x.example/name"}))
    out = expect_answer(run_kg(["--data", data, "query", "SELECT ?v WHERE { <http://x.example/a> <http://x.example/name> ?v }",
                                "--format", "csv"], timeout=SILENT))
    assert out.splitlines() == ["v", "leak"]


def test_jsonld_nested_100000_deep_is_a_budget_error(run_kg, expect_clean_error, tmp_path):
    data = write(tmp_path, "deep.jsonld", '{"@id": "http://x.example/a", "http://x.example/p": ' + "[" * 100_000 + "]" * 100_000 + "}")
    expect_clean_error(run_kg(["--data", data, "stats"], timeout=SILENT), 2, mentions=["KG_MAX_DEPTH"])


# --- RDF/XML entities -----------------------------------------------------------------------------------


def _rdfxml(doctype, value):
    return (f'<?xml version="1.0"?>\n{doctype}\n<rdf:RDF xmlns:rdf="{RDF_NS}" xmlns:x="http://x.example/">\n'
            f' <rdf:Description rdf:about="http://x.example/a"><x:p>{value}</x:p></rdf:Description>\n</rdf:RDF>\n')


def _billion_laughs(levels=10):
    entities = ['<!ENTITY l0 "ha">'] + [f'<!ENTITY l{i} "{("&l%d;" % (i - 1)) * 10}">' for i in range(1, levels)]
    return _rdfxml("<!DOCTYPE rdf:RDF [\n" + "\n".join(entities) + "\n]>", f"&l{levels - 1};")


@pytest.mark.parametrize("command", [["stats"], ["validate"], ["export", "--format", "nt"]])
def test_billion_laughs_is_refused_quickly_and_small(run_kg, expect_clean_error, tmp_path, command):
    data = write(tmp_path, "laughs.rdf", _billion_laughs())
    run = run_kg(["--data", data, *command], timeout=SILENT)
    expect_clean_error(run, 2, mentions=["entit"])
    assert run.peak_bytes < 300 * 10**6, run


def test_one_big_entity_used_many_times_is_a_size_budget_error(run_kg, expect_clean_error, tmp_path):
    # No nesting, but 2 MB of entity used 1,000 times would expand to 2 GB.
    data = write(tmp_path, "wide.rdf", _rdfxml(f'<!DOCTYPE rdf:RDF [ <!ENTITY big "{"x" * 2_000_000}"> ]>', "&big;" * 1000))
    run = run_kg(["--data", data, "stats"], timeout=SILENT, env={"KG_MAX_FILE_SIZE": "100M"})
    expect_clean_error(run, 2, mentions=["KG_MAX_FILE_SIZE"])


@pytest.mark.parametrize("kind, command", [("system-file", ["stats"]), ("system-url", ["stats"]),
                                           ("parameter", ["stats"]), ("external-dtd", ["stats"]),
                                           ("system-file", ["validate"]), ("external-dtd", ["validate"])])
def test_external_entities_are_never_read(run_kg, expect_clean_error, listener, sentinel, tmp_path, kind, command):
    doctype = {
        "system-file": f'<!DOCTYPE rdf:RDF [ <!ENTITY s SYSTEM "{sentinel.path.as_uri()}"> ]>',
        "system-url": f'<!DOCTYPE rdf:RDF [ <!ENTITY s SYSTEM "{listener.url}/secret"> ]>',
        "parameter": f'<!DOCTYPE rdf:RDF [ <!ENTITY % p SYSTEM "{sentinel.path.as_uri()}"> %p; ]>',
        "external-dtd": f'<!DOCTYPE rdf:RDF SYSTEM "{listener.url}/evil.dtd">',
    }[kind]
    data = write(tmp_path, "xxe.rdf", _rdfxml(doctype, "&s;" if kind.startswith("system") else "v"))
    run = run_kg(["--data", data, *command], timeout=SILENT)
    expect_clean_error(run, 2, mentions=["refused"])
    assert sentinel.token not in run.stdout + run.stderr
    assert listener.connections == []


def test_simple_entities_for_namespaces_still_load(run_kg, expect_answer, tmp_path):
    doctype = '<!DOCTYPE rdf:RDF [ <!ENTITY x "http://x.example/"> ]>'
    data = write(tmp_path, "ns.rdf", _rdfxml(doctype, "&x;value").replace('rdf:about="http://x.example/a"', 'rdf:about="&x;a"'))
    out = expect_answer(run_kg(["--data", data, "query", "SELECT ?v WHERE { <http://x.example/a> <http://x.example/p> ?v }",
                                "--format", "csv"], timeout=SILENT))
    assert out.splitlines() == ["v", "http://x.example/value"]


# --- nesting and size -----------------------------------------------------------------------------------


def _deep_turtle(n, kind):
    if kind == "list":
        return "<http://x.example/a> <http://x.example/p> " + "( " * n + "1 " + ") " * n + ".\n"
    return "<http://x.example/a> <http://x.example/p> " + "[ <http://x.example/q> " * n + "1 " + "] " * n + ".\n"


@pytest.mark.parametrize("kind", ["list", "blank-nodes"])
def test_deep_turtle_loads_in_oxigraph(run_kg, expect_answer, tmp_path, kind):
    data = write(tmp_path, "deep.ttl", _deep_turtle(2000, kind))
    assert expect_answer(run_kg(["--data", data, "query", ASK_ANY_X], timeout=SILENT)) == "true\n"


@pytest.mark.parametrize("kind", ["list", "blank-nodes"])
def test_deep_turtle_for_rdflib_is_a_budget_error_not_a_syntax_error(run_kg, expect_clean_error, tmp_path, kind):
    data = write(tmp_path, "deep.ttl", _deep_turtle(100_000, kind))
    line = expect_clean_error(run_kg(["--data", data, "validate"], timeout=SILENT), 2, mentions=["KG_MAX_DEPTH"])
    assert "syntax" not in line and "recursion" not in line


def test_deep_turtle_within_a_raised_budget_validates(run_kg, expect_answer, tmp_path):
    # 300 levels: rdflib's own recursion limit failed this before ("maximum recursion depth exceeded").
    data = write(tmp_path, "deep.ttl", _deep_turtle(300, "list"))
    run = run_kg(["--data", data, "validate"], timeout=60, env={"KG_MAX_DEPTH": "400"})
    expect_answer(run, 0)
    assert run.stderr.startswith("ok:"), run


def test_file_over_the_size_budget(run_kg, expect_clean_error, tmp_path):
    data = write(tmp_path, "big.nt", '<http://x.example/a> <http://x.example/p> "x" .\n' * 250_000)  # 12 MB
    run = run_kg(["--data", data, "stats"], timeout=SILENT, env={"KG_MAX_FILE_SIZE": "10M"})
    expect_clean_error(run, 2, mentions=["big.nt", "KG_MAX_FILE_SIZE"])


@pytest.mark.parametrize("name, content, command", [
    ("garbage.ttl", bytes(range(256)) * 64, ["stats"]),
    ("garbage.jsonld", b"\xff\xfe\x00{\x1b]0;owned\x07", ["stats"]),
    ("garbage.rdf", b"<?xml version='1.0'?>\x00\x1b[2J<rdf:RDF", ["stats"]),
    ("garbage.nt", b"<http://x.example/a> <http://x.example/p> \"\x1b]0;owned\x07\n", ["stats"]),
    ("garbage.ttl", bytes(range(256)) * 64, ["validate"]),
    ("garbage.rdf", b"<?xml version='1.0'?>\x00\x1b[2J<rdf:RDF", ["validate"]),
])
def test_binary_data_file_is_one_clean_line(run_kg, expect_clean_error, tmp_path, name, content, command):
    run = run_kg(["--data", write(tmp_path, name, content), *command], timeout=SILENT)
    expect_clean_error(run, 2, mentions=[name])
    assert "\x1b" not in run.stderr


def test_fifo_as_data_file_does_not_block(run_kg, expect_clean_error, tmp_path):
    import os
    fifo = tmp_path / "pipe.ttl"
    os.mkfifo(fifo)
    expect_clean_error(run_kg(["--data", fifo, "stats"], timeout=SILENT), 2, mentions=["not a regular file"])


def test_owl_imports_and_base_are_never_followed(run_kg, expect_answer, listener, sentinel, tmp_path):
    data = write(tmp_path, "imports.ttl", f"""@base <{listener.url}/base/> .
@prefix owl: <http://www.w3.org/2002/07/owl#> .
<> owl:imports <{listener.url}/ontology.ttl> , <{sentinel.path.as_uri()}> .
<thing> <{listener.url}/p> "local" .
""")
    for command in (["validate"], ["query", f"SELECT ?o WHERE {{ <{listener.url}/base/thing> ?p ?o }}", "--format", "csv"]):
        run = run_kg(["--data", data, *command], timeout=SILENT)
        out = expect_answer(run, 0)
        assert sentinel.token not in out + run.stderr
    assert out.splitlines() == ["o", "local"]
    assert listener.connections == []
