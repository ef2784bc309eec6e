"""`kg viz` and kg.viz without a browser: the page file, its data, its options and its errors.

Expected figures come from the article (sources/article.zh.txt): Nvidia invests up to $100B in OpenAI
and OpenAI buys up to $350B of Nvidia GPUs (line 41); AMD grants OpenAI an option on up to 10% of its
shares for 6 GW of chips (line 43); CoreWeave gives $350M of shares for an $11.9B compute contract that
grew to $22B (line 39); SoftBank's conditional $22.5B falls to $12.5B if the restructuring fails (line 1).
"""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest
from click.testing import CliRunner

from kg.cli import main
from kg.flows import flow_graph, iter_cycles
from kg.graph import load_graph

FIXTURES = Path(__file__).parent / "fixtures" / "viz"
XSS = FIXTURES / "xss.ttl"
KGD = "https://w3id.org/aimoney/id/"


def run(*args, **kwargs):
    result = CliRunner().invoke(main, list(args), **kwargs)
    return result


def page_data(page: str) -> dict:
    match = re.search(r'<script type="application/json" id="kg-data">(.*?)</script>', page, re.S)
    assert match, "the page has no data block"
    return json.loads(match.group(1))


def edges_between(data, source, target):
    return [e for e in data["edges"] if e["from"] == KGD + source and e["to"] == KGD + target]


@pytest.fixture(scope="module")
def bundled_page(tmp_path_factory):
    out = tmp_path_factory.mktemp("viz") / "deals.html"
    result = run("viz", "-o", str(out))
    assert result.exit_code == 0, result.output
    return out.read_text(encoding="utf-8"), result


def test_page_is_written_and_references_no_network_resource(bundled_page):
    page, result = bundled_page
    assert page.startswith("<!DOCTYPE html>")
    assert "wrote" in result.stderr and "circular deals" in result.stderr
    # Nothing is loaded from anywhere: no src/href to a URL, no protocol-relative URL, no CSS import.
    assert not re.search(r'(?:src|href)\s*=\s*["\']?\s*(?:https?:)?//', page, re.I)
    assert not re.search(r'@import|url\(\s*["\']?(?:https?:)?//', page, re.I)
    assert "<script src" not in page and "stylesheet" not in page
    # vis-network itself is inside the page
    assert "vis.Network" in page and "vis-network" in page and len(page) > 400_000


def test_page_draws_exactly_the_flow_graph(bundled_page):
    data = page_data(bundled_page[0])
    G = flow_graph(load_graph(), include_relations=True)
    assert len(data["nodes"]) == G.number_of_nodes()
    assert len(data["edges"]) == G.number_of_edges()
    assert {n["id"] for n in data["nodes"]} == set(G.nodes)
    assert sorted((e["from"], e["to"], e["deal"]) for e in data["edges"]) == sorted(G.edges(keys=True))


def test_edges_show_direction_kind_amount_and_source(bundled_page):
    data = page_data(bundled_page[0])
    (invest,) = edges_between(data, "Nvidia", "OpenAI")
    (gpus,) = edges_between(data, "OpenAI", "Nvidia")
    assert (invest["kind"], invest["label"]) == ("investment", "≤ $100B")
    assert (gpus["kind"], gpus["label"]) == ("purchase", "≤ $350B")
    assert invest["dashes"] and gpus["dashes"]  # "up to" amounts are dashed
    assert gpus["width"] > invest["width"]  # $350B is wider than $100B
    quotes = {(q["line"], q["quote"]) for q in invest["tip"]["quotes"]}
    assert any(line == 41 and "1000亿美元" in quote for line, quote in quotes)
    (option,) = edges_between(data, "AMD", "OpenAI")  # equity goes from the grantor AMD to OpenAI
    assert option["kind"] == "equity" and option["label"] == ""  # no dollar value is stated
    assert any("10%" in value for _key, value in option["tip"]["rows"])
    (shares,) = edges_between(data, "CoreWeave", "OpenAI")
    (compute,) = edges_between(data, "OpenAI", "CoreWeave")
    assert shares["label"] == "$350M" and compute["label"] == "$22B"
    assert compute["width"] > shares["width"] and not compute["dashes"]
    assert any("11.9B" in value for _key, value in compute["tip"]["rows"])  # originally $11.9B
    (oracle,) = [e for e in edges_between(data, "OpenAI", "Oracle") if e["kind"] == "contract"]
    assert oracle["label"] == "~ $300B" and not oracle["dashes"]


def test_nodes_are_coloured_by_kind_and_sized_by_money(bundled_page):
    data = page_data(bundled_page[0])
    nodes = {n["id"].rsplit("/", 1)[1]: n for n in data["nodes"]}
    assert nodes["OpenAI"]["kind"] == "AILab" and nodes["Nvidia"]["kind"] == "ChipVendor"
    assert nodes["SoftBank"]["kind"] == "Investor" and nodes["SamAltman"]["kind"] == "Person"
    assert nodes["OpenAI"]["color"]["background"] != nodes["Nvidia"]["color"]["background"]
    assert nodes["OpenAI"]["size"] > nodes["Nvidia"]["size"] > nodes["Broadcom"]["size"]
    assert nodes["Nvidia"]["label_zh"] == "英伟达" and nodes["Nvidia"]["label"] == "Nvidia"
    legend = {k["id"] for k in data["nodeKinds"]}
    assert {"AILab", "ChipVendor", "Investor", "Person"} <= legend
    assert {"investment", "purchase", "contract", "equity", "role"} <= {k["id"] for k in data["edgeKinds"]}


def test_loop_edges_are_the_cycles_of_the_flow_graph(bundled_page):
    data = page_data(bundled_page[0])
    G = flow_graph(load_graph(), include_relations=True)
    expected = {(e["from"], e["to"], e["key"]) for c in iter_cycles(G) for h in c["hops"] for e in h["edges"]}
    drawn = {(e["from"], e["to"], e["deal"]) for e in data["edges"] if e["loop"]}
    assert drawn == expected
    pairs = {(f.rsplit("/", 1)[1], t.rsplit("/", 1)[1]) for f, t, _ in drawn}
    # the article's three circular deals
    assert {("Nvidia", "OpenAI"), ("OpenAI", "Nvidia"), ("AMD", "OpenAI"), ("OpenAI", "AMD"),
            ("CoreWeave", "OpenAI"), ("OpenAI", "CoreWeave")} <= pairs
    assert ("SoftBank", "OpenAI") not in pairs and ("OpenAI", "Broadcom") not in pairs
    (invest,) = edges_between(data, "Nvidia", "OpenAI")
    assert any(key == "Circular deal" and "Nvidia–OpenAI" in value for key, value in invest["tip"]["rows"])


def test_default_output_is_deals_html_in_the_current_folder(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    result = run("viz")
    assert result.exit_code == 0, result.output
    assert (tmp_path / "deals.html").read_text(encoding="utf-8").startswith("<!DOCTYPE html>")


def test_dash_writes_the_page_to_stdout_and_python_api_gives_the_same_page():
    from kg.viz import render

    result = run("viz", "-o", "-")
    assert result.exit_code == 0
    assert result.stdout == render(load_graph())


def test_same_data_gives_the_same_page():
    from kg.viz import render

    graph = load_graph()
    assert render(graph) == render(graph) == render(load_graph(store="oxigraph"))


def test_hostile_labels_reach_the_page_only_as_escaped_json(tmp_path):
    out = tmp_path / "xss.html"
    result = run("viz", "--data", str(XSS), "-o", str(out))
    assert result.exit_code == 0, result.output
    page = out.read_text(encoding="utf-8")
    for raw in ("<img", "<svg", "<iframe", "<b id", "</script><script>alert"):
        assert raw not in page
    assert "\\u003cimg src=x onerror=alert(1)\\u003e" in page  # the label, as escaped JSON text
    import pyvis
    vis_js = (Path(pyvis.__file__).parent / "templates/lib/vis-9.1.2/vis-network.min.js").read_text(encoding="utf-8")
    # the data block, vis-network and the page's own script (plus a string inside vis-network's polyfills)
    assert page.count("<script") == 3 + vis_js.count("<script")
    data = page_data(page)
    labels = {n["label"] for n in data["nodes"]}
    assert "<img src=x onerror=alert(1)>" in labels  # kept as text, for the page to show as text
    (hostile,) = edges_between(data, "EvilCorp", "OpenAI")
    assert hostile["label"] == "$5B"


def test_focus_draws_a_neighbourhood_by_english_or_chinese_name(tmp_path):
    out = tmp_path / "nvidia.html"
    for name in ("Nvidia", "英伟达"):
        assert run("viz", "--focus", name, "-o", str(out)).exit_code == 0
        data = page_data(out.read_text(encoding="utf-8"))
        # Nvidia's deals are with OpenAI (line 41); Jensen Huang is its CEO (line 41)
        assert {n["label"] for n in data["nodes"]} == {"Nvidia", "OpenAI", "Jensen Huang"}
        assert data["meta"]["focus"] == KGD + "Nvidia"
    assert run("viz", "--focus", "Nvidia", "--hops", "0", "-o", str(out)).exit_code == 0
    assert [n["label"] for n in page_data(out.read_text(encoding="utf-8"))["nodes"]] == ["Nvidia"]
    assert run("viz", "--focus", "AMD", "--hops", "2", "-o", str(out)).exit_code == 0
    labels = {n["label"] for n in page_data(out.read_text(encoding="utf-8"))["nodes"]}
    assert {"Advanced Micro Devices", "OpenAI", "Lisa Su", "Nvidia", "SoftBank Group"} <= labels
    assert "Anthropic" not in labels  # three steps away from AMD


def test_assume_failed_restructuring_draws_the_reduced_softbank_tranche(tmp_path):
    out = tmp_path / "failed.html"
    open_result = run("viz", "-o", str(out))
    assert open_result.exit_code == 0
    (tranche,) = [e for e in edges_between(page_data(Path(out).read_text(encoding="utf-8")), "SoftBank", "OpenAI")
                  if e["deal"].endswith("tranche-2")]
    assert "12.5B" in tranche["label"] and "22.5B" in tranche["label"] and tranche["dashes"]
    result = run("viz", "--assume", "restructuring=failed", "-o", str(out))
    assert result.exit_code == 0, result.output
    data = page_data(out.read_text(encoding="utf-8"))
    (tranche,) = [e for e in edges_between(data, "SoftBank", "OpenAI") if e["deal"].endswith("tranche-2")]
    assert tranche["label"] == "$12.5B" and not tranche["dashes"]
    assert "restructuring failed" in data["meta"]["assumed"]


@pytest.mark.parametrize("args, message", [
    (["--focus", "Nvidea"], "did you mean: Nvidia"),
    (["--hops", "2"], "--hops needs --focus"),
    (["--focus", "Nvidia", "--hops", "-1"], "--hops must be 0 or more"),
    (["--top", "0"], "--top must be 1 or more"),
    (["--assume", "weather=failed"], "no condition named 'weather'"),
    (["--assume", "restructuring"], "CONDITION=met or CONDITION=failed"),
    (["-o", "no/such/folder/deals.html"], "no such folder"),
    (["--open", "-o", "-"], "--open needs a file"),
    (["--data", "no-such-file.ttl"], "no such file"),
])
def test_bad_input_is_one_line_and_exit_2(args, message, tmp_path):
    result = run("viz", *args, "-o", str(tmp_path / "x.html")) if "-o" not in args else run("viz", *args)
    assert result.exit_code == 2, result.output
    assert message in result.stderr
    assert result.stderr.count("\n") == 1 and "Traceback" not in result.output


def big_graph_file(path: Path, investors: int) -> Path:
    """A data file with ``investors`` investors, investor i paying i million dollars to one lab."""
    lines = ["@prefix kg: <https://w3id.org/aimoney/ontology#> .", "@prefix kgd: <https://w3id.org/aimoney/id/> .",
             "@prefix rdfs: <http://www.w3.org/2000/01/rdf-schema#> .", "@prefix schema: <https://schema.org/> .",
             'kgd:BigLab a kg:AILab ; rdfs:label "Big Lab"@en .']
    for i in range(1, investors + 1):
        lines.append(f'kgd:inv{i} a kg:Investor ; rdfs:label "Investor {i}"@en .')
        lines.append(f'kgd:deal-inv{i} a kg:Investment ; kg:payer kgd:inv{i} ; kg:payee kgd:BigLab ; '
                     f'kg:amount [ a kg:MonetaryAmount ; schema:value {i}000000.0 ; schema:currency "USD" ; '
                     f'kg:figureKind kg:Exact ] .')
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return path


def test_above_500_nodes_the_largest_flows_are_kept_and_the_rest_named(tmp_path):
    data_file = big_graph_file(tmp_path / "big.ttl", 600)
    graph = load_graph([data_file], bundled=False)
    from kg.viz import build

    web = build(graph)
    assert web.node_count == 500 and web.edge_count == 499  # Big Lab and its 499 largest investors
    data = page_data(web.html)
    kept = {n["label"] for n in data["nodes"]}
    assert "Investor 600" in kept and "Investor 102" in kept and "Investor 101" not in kept
    assert len(web.left_out_flows) == 101 and web.left_out_flows[0].startswith("Investor 101 → Big Lab: $101M")
    assert "left out" in data["meta"]["note"].lower() and data["meta"]["leftOutCount"] == 101

    out = tmp_path / "top.html"
    result = run("viz", "--data", str(data_file), "--top", "10", "-o", str(out))
    assert result.exit_code == 0, result.output
    assert "Left out:" in result.stderr and "largest left out" in result.stderr
    data = page_data(out.read_text(encoding="utf-8"))
    assert len(data["edges"]) == 10
    G = flow_graph(load_graph([data_file]), include_relations=True)
    size = {(u, v, k): d["high"] if d["high"] is not None else (d["low"] or 0.0)
            for u, v, k, d in G.edges(keys=True, data=True)}
    drawn = {(e["from"], e["to"], e["deal"]) for e in data["edges"]}
    assert min(size[e] for e in drawn) >= max(s for e, s in size.items() if e not in drawn)
    assert (KGD + "inv600", KGD + "BigLab", KGD + "deal-inv600") in drawn  # $600M: among the ten largest


def test_notebook_display_is_an_escaped_iframe():
    from kg.viz import build

    web = build(load_graph([XSS]))
    shown = web._repr_html_()
    assert shown.startswith("<iframe srcdoc=\"") and "<script" not in shown and "<img" not in shown


def test_page_is_the_same_whatever_the_hash_seed(tmp_path):
    """The loops an arrow's tip lists come in a fixed order: with several loops of the same length
    through one deal they came in set order, which Python changes from run to run (PYTHONHASHSEED)."""
    import os
    import subprocess
    import sys

    from kg.synth import write_synthetic

    data = tmp_path / "synth.ttl"
    with open(data, "w", encoding="utf-8") as out:
        write_synthetic(out, 400, 40, 1)  # loops of equal length share deals here
    pages = [subprocess.run([sys.executable, "-m", "kg", "--data", str(data), "viz", "-o", "-"],
                            env={**os.environ, "PYTHONHASHSEED": seed}, capture_output=True, check=True).stdout
             for seed in ("1", "2", "3")]
    assert "Money loop" in pages[0].decode("utf-8")
    assert pages[0] == pages[1] == pages[2]
