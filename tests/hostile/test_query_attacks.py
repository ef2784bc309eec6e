"""Hostile SPARQL through `kg query`: reaching out, other graphs, updates, engine-crashing shapes,
exhaustion, and hostile --param / --timeout / stdin values. Each case runs the real `kg` in a
subprocess with a time limit; see conftest.py for what every case checks.
"""

from __future__ import annotations

import pytest

SILENT = 10  # seconds a case may take before it counts as a hang


# --- reaching out: SERVICE ----------------------------------------------------------------------------


@pytest.mark.parametrize("shape", [
    "SELECT * WHERE {{ SERVICE <{url}/sparql> {{ ?s ?p ?o }} }}",
    "select * where {{ service silent <{url}/sparql> {{ ?s ?p ?o }} }}",
    # "<" after an operand is "less than", not an IRI: SERVICE cannot hide in "<?o)SERVICE…#>"
    "SELECT * WHERE {{ ?s ?p ?o FILTER(?o<?o)SERVICE?svc#>\n{{ ?a ?b ?c }} VALUES ?svc {{ <{url}/x> }} }}",
    "SELECT * WHERE {{ ?s ?p ?o FILTER(?o<?o)SERVICE<{url}/x>{{ ?a ?b ?c }} }}",
    "PREFIX SERVICE: <{url}/> SELECT * WHERE {{ SERVICE:x {{ ?s ?p ?o }} }}",
])
def test_service_is_refused_and_nothing_connects(run_kg, expect_clean_error, listener, shape):
    run = run_kg(["query", shape.format(url=listener.url)], timeout=SILENT)
    expect_clean_error(run, 2, mentions=["SERVICE", "--allow-service"])
    assert listener.connections == []


def test_service_keyword_inside_strings_iris_and_comments_is_data(run_kg, expect_answer, listener):
    query = (f'SELECT ?label WHERE {{ kgd:Nvidia rdfs:label ?label FILTER(?label != "SERVICE <{listener.url}>") '
             f'FILTER(?label != <{listener.url}/SERVICE>) FILTER(lang(?label) = "zh") }} # SERVICE <{listener.url}>')
    assert "英伟达" in expect_answer(run_kg(["query", query], timeout=SILENT))
    assert listener.connections == []


def test_allow_service_reaches_out_only_when_asked(run_kg, listener):
    # The silent listener never answers: with --allow-service kg connects, and --timeout stops it.
    run = run_kg(["query", "--allow-service", "--timeout", "2",
                  f"SELECT * WHERE {{ SERVICE <{listener.url}/sparql> {{ ?s ?p ?o }} }}"], timeout=30)
    assert run.code == 3 and "time limit" in run.stderr, run
    assert len(listener.connections) >= 1


# --- other graphs and updates -------------------------------------------------------------------------


@pytest.mark.parametrize("clause", ["FROM <file://{secret}>", "FROM NAMED <file://{secret}>", "FROM <{url}/g>"])
def test_from_never_reads_files_or_urls(run_kg, expect_clean_error, listener, sentinel, clause):
    query = "SELECT * " + clause.format(secret=sentinel.path, url=listener.url) + " WHERE { ?s ?p ?o } LIMIT 5"
    run = run_kg(["query", query], timeout=SILENT)
    expect_clean_error(run, 2, mentions=["FROM"])
    assert sentinel.token not in run.stdout + run.stderr
    assert listener.connections == []


@pytest.mark.parametrize("update", [
    "LOAD <file://{secret}>", "LOAD <{url}/data.ttl> INTO GRAPH <urn:x>",
    "INSERT DATA {{ <urn:a> <urn:b> <urn:c> }}", "DELETE WHERE {{ ?s ?p ?o }}", "CLEAR ALL", "DROP DEFAULT",
    "PREFIX x: <urn:x#> WITH <urn:g> DELETE {{ ?s ?p ?o }} WHERE {{ ?s ?p ?o }}",
])
def test_updates_are_refused(run_kg, expect_clean_error, listener, sentinel, update):
    run = run_kg(["query", update.format(secret=sentinel.path, url=listener.url)], timeout=SILENT)
    expect_clean_error(run, 2, mentions=["read-only"])
    assert sentinel.token not in run.stdout + run.stderr
    assert listener.connections == []


# --- shapes that crash or stall the engine: refused before it sees them -------------------------------


def _nested(open_, close, n, inner):
    return open_ * n + inner + close * n


CRASHERS = {
    "5000-nested-groups": "SELECT * WHERE { " + _nested("{ ", "} ", 5000, "?s ?p ?o ") + "}",
    "5000-nested-parentheses": "SELECT * WHERE { ?s ?p ?o FILTER(" + _nested("(", ")", 5000, "1") + ") }",
    "50000-negations": "SELECT * WHERE { ?s ?p ?o FILTER(" + "!" * 50000 + "true) }",
    "10000-term-sum": "SELECT * WHERE { ?s ?p ?o FILTER(" + "+".join(["1"] * 10000) + " > 0) }",
    "10000-term-or": "SELECT * WHERE { ?s ?p ?o FILTER(" + " || ".join(["?o"] * 10000) + ") }",
    "1000-step-path": "SELECT * WHERE { ?s " + "/".join(["kg:payer"] * 1000) + " ?o }",
    "5000-nested-blank-nodes": "SELECT * WHERE { ?s ?p " + _nested("[ ?p ", "] ", 5000, "1 ") + "}",
    "10000-unions": "SELECT * WHERE { " + " UNION ".join(["{ ?s ?p ?o }"] * 10000) + " }",
    "600-optionals": "SELECT * WHERE { ?s ?p ?o " + " ".join(["OPTIONAL { ?s ?p ?o }"] * 600) + " }",
    "5000-triple-patterns": "SELECT * WHERE { " + " . ".join(f"?s kg:p{i} ?o{i}" for i in range(5000)) + " }",
    "5000-nested-subqueries": "SELECT * WHERE { " + _nested("{ SELECT * WHERE { ", "} } ", 5000, "?s ?p ?o ") + "}",
}


@pytest.mark.parametrize("name", sorted(CRASHERS))
def test_engine_crashing_query_is_a_clean_budget_error(run_kg, expect_clean_error, name):
    run = run_kg(["query", "-"], stdin=CRASHERS[name], timeout=SILENT)
    line = expect_clean_error(run, 2, mentions=["limit"])
    assert "KG_MAX_DEPTH" in line or "KG_MAX_TRIPLE_PATTERNS" in line


def test_query_text_size_budget(run_kg, expect_clean_error):
    query = "SELECT * WHERE { ?s ?p ?o } # " + "x" * (2 << 20)
    run = run_kg(["query", "-"], stdin=query, timeout=SILENT)
    expect_clean_error(run, 2, mentions=["KG_MAX_QUERY_SIZE"])


def test_raising_a_budget_lets_a_deep_but_sane_query_run(run_kg, expect_answer):
    # 200 nested groups is over the default depth (128) but well within what the engine survives.
    query = "ASK { ?deal kg:payer kgd:Nvidia FILTER(" + _nested("(", ")", 200, "true") + ") }"
    assert expect_answer(run_kg(["query", "-"], stdin=query, timeout=SILENT, env={"KG_MAX_DEPTH": "300"})) == "true\n"


def test_bad_budget_value_is_one_line(run_kg, expect_clean_error):
    run = run_kg(["query", "ASK { ?s ?p ?o }"], timeout=SILENT, env={"KG_MAX_DEPTH": "lots"})
    expect_clean_error(run, 2, mentions=["KG_MAX_DEPTH"])


# --- exhaustion: memory and time ----------------------------------------------------------------------


def test_cross_product_of_every_triple_is_stopped_by_the_memory_budget(run_kg, expect_clean_error):
    # 12k triples cubed: without a budget this grows without end (20+ GB). 300 MB keeps the case quick.
    run = run_kg(["query", "SELECT * WHERE { ?a ?b ?c . ?d ?e ?f . ?g ?h ?i } ORDER BY ?a ?d ?g"],
                 timeout=60, env={"KG_MAX_MEMORY": "300M"})
    expect_clean_error(run, 3, mentions=["memory", "KG_MAX_MEMORY"])
    # The watchdog samples memory every 0.25 s, so the process may pass the budget by what it allocates in
    # one interval (481 MB seen on a loaded machine); what must hold is the bound, far below 2 GB.
    assert run.peak_bytes < 10**9, run


def test_timeout_covers_loading_data(run_kg, expect_clean_error, tmp_path):
    # An ASK answers in milliseconds; only reading the 400,000-triple --data file takes time.
    big = tmp_path / "big.nt"
    with big.open("w", encoding="utf-8") as out:
        for i in range(400_000):
            out.write(f'<urn:kg-test:s{i}> <urn:kg-test:p> "value {i}" .\n')
    run = run_kg(["--data", big, "query", "--timeout", "0.2", "ASK { ?s ?p ?o }"], timeout=60)
    expect_clean_error(run, 3, mentions=["0.2 s time limit"])


@pytest.mark.parametrize("value", ["inf", "nan", "-1", "0", "-inf", "1e400", "soon"])
def test_timeout_values_that_mean_nothing(run_kg, expect_clean_error, value):
    run = run_kg(["query", "--timeout", value, "circular-deals"], timeout=SILENT)
    expect_clean_error(run, 2, mentions=["--timeout"])


# --- --param: bound as a value, never spliced as text -------------------------------------------------


@pytest.mark.parametrize("value", ["<a> } UNION { ?s ?p ?o } #>", "kg:x}UNION{", "<urn:a\nb>", "<urn:a\x1b[2Jb>"])
def test_param_that_is_not_an_iri_is_refused(run_kg, expect_clean_error, value):
    run = run_kg(["query", "money-into", "--param", f"company={value}"], timeout=SILENT)
    expect_clean_error(run, 2, mentions=["--param", "not a valid IRI"])


@pytest.mark.parametrize("value", ["kg:x}UNION{?s ?p ?o}", "<javascript:alert(1)>\"", "Nvidia } UNION { ?s ?p ?o"])
def test_param_that_names_nothing_is_refused(run_kg, expect_clean_error, value):
    run = run_kg(["query", "money-into", "--param", f"company={value}"], timeout=SILENT)
    expect_clean_error(run, 2, mentions=["no entity named"])


@pytest.mark.parametrize("value", ['"x\\" } UNION { ?s ?p ?o } #"', "'} UNION { ?s ?p ?o } #'", "9" * 5000,
                                   "-" + "1" * 4500 + ".5"])
def test_hostile_param_literal_is_bound_safely(run_kg, expect_answer, value):
    # Bound as one literal, it matches no company: the table is empty (an injection would list triples).
    out = expect_answer(run_kg(["query", "money-into", "--param", f"company={value}"], timeout=SILENT))
    assert out.rstrip().endswith("(0 rows)"), out


def test_param_by_name_still_answers(run_kg, expect_answer):
    # Article line 41: OpenAI buys up to $350B of Nvidia GPUs, the money going into Nvidia.
    out = expect_answer(run_kg(["query", "money-into", "--param", "company=英伟达", "--format", "csv"], timeout=SILENT))
    assert "350000000000" in out


# --- standard input and query files -------------------------------------------------------------------


def test_binary_standard_input_is_refused_without_echo(run_kg, expect_clean_error):
    garbage = bytes(range(256)) * 4 + b"\x1b]0;owned\x07"
    run = run_kg(["query", "-"], stdin=garbage, timeout=SILENT)
    line = expect_clean_error(run, 2, mentions=["UTF-8"])
    assert "\x1b" not in run.stderr and "owned" not in line


def test_nul_bytes_in_a_query_file_are_refused(run_kg, expect_clean_error, tmp_path):
    query = tmp_path / "q.rq"
    query.write_bytes(b"SELECT * WHERE { ?s ?p ?o }\x00\x00\x00")
    run = run_kg(["query", query], timeout=SILENT)
    expect_clean_error(run, 2, mentions=["binary"])


def test_device_as_query_file_is_not_read_forever(run_kg, expect_clean_error):
    run = run_kg(["query", "/dev/zero"], timeout=SILENT)
    expect_clean_error(run, 2)


def test_param_name_cannot_carry_syntax(run_kg, expect_clean_error):
    run = run_kg(["query", "SELECT ?s ?p WHERE { ?s ?p ?o } LIMIT 1", "--param", "s ?p=1"], timeout=SILENT)
    expect_clean_error(run, 2, mentions=["--param", "parameter name"])
