"""Money flows on the bundled article: the three circular deals, tracing, what-if totals, per-company
totals, the flow graph of a --data file, export, and clean errors.

Expected figures come from the article (sources/article.zh.txt):
- line 41: Nvidia invests up to $100B in OpenAI (投资最高1000亿美元), OpenAI buys up to $350B of GPUs (最多3500亿美元).
- line 43: OpenAI buys 6 GW of AMD chips for an option on up to 10% of AMD at one cent a share.
- line 39: an $11.9B CoreWeave compute contract, later $22B, for $350M of CoreWeave shares.
- lines 1, 6, 29: SoftBank: $30B in two stages, $22.5B of it conditional on the restructuring, falling
  to $12.5B if it fails; so $7.5B + $22.5B = $30B if met, $7.5B + $12.5B = $20B if failed.
- line 33: the restructuring needs Microsoft's consent and regulatory approval.
- line 45: about $300B with Oracle over five years. Line 50: Google and Amazon together invested
  数十亿 (billions: $1B up to $10B) in Anthropic. Line 51: a Google Cloud contract worth 数百亿 ($10B–100B).
- line 52: Amazon builds a data-center cluster in Indiana for Anthropic (no amount).
"""

from __future__ import annotations

import csv
import io
import json
from pathlib import Path

import networkx as nx
import pytest
from click.testing import CliRunner

from kg.cli import main
from kg.flows import net_positions
from kg.graph import KGD, load_graph

B = 1e9
FIXTURE = Path(__file__).parent / "fixtures" / "flows" / "new_loop.ttl"
NVIDIA, OPENAI, AMD, COREWEAVE = (str(KGD[n]) for n in ("Nvidia", "OpenAI", "AMD", "CoreWeave"))
SOFTBANK, ANTHROPIC, ORACLE = str(KGD.SoftBank), str(KGD.Anthropic), str(KGD.Oracle)


@pytest.fixture(scope="module")
def rdf():
    return load_graph()


@pytest.fixture(scope="module")
def flows(rdf):
    from kg.flows import flow_graph
    return flow_graph(rdf)


def run(*args):
    result = CliRunner().invoke(main, list(args))
    return result


def run_json(*args):
    result = run(*args, "--format", "json")
    assert result.exit_code == 0, result.output
    return json.loads(result.stdout)


def one_error_line(result, code):
    assert result.exit_code == code, result.output
    lines = [line for line in result.stderr.splitlines() if line.strip()]
    assert len(lines) == 1 and lines[0].startswith("kg: error: "), result.stderr
    assert "Traceback" not in result.output
    return lines[0]


# --------------------------------------------------------------------------------------------------
# The flow graph itself
# --------------------------------------------------------------------------------------------------

def test_edges_follow_the_direction_of_value(flows):
    # cash: payer -> payee; options and shares: grantor -> grantee (opposite to the cash they pay for)
    assert flows.has_edge(NVIDIA, OPENAI) and flows.has_edge(OPENAI, NVIDIA)
    assert [d["kind"] for d in flows[AMD][OPENAI].values()] == ["equity"]
    assert [d["kind"] for d in flows[OPENAI][AMD].values()] == ["purchase"]
    assert [d["kind"] for d in flows[COREWEAVE][OPENAI].values()] == ["equity"]
    assert [d["kind"] for d in flows[OPENAI][COREWEAVE].values()] == ["contract"]
    # Amazon gives Anthropic money (with Google) and a data-center cluster built for it (in kind)
    assert sorted(d["kind"] for d in flows[str(KGD.Amazon)][ANTHROPIC].values()) == ["in-kind", "investment"]


def test_amount_bounds_and_texts(flows):
    nvidia = flows.edges[NVIDIA, OPENAI, str(KGD["deal-nvidia-openai-investment"])]
    assert (nvidia["low"], nvidia["high"], nvidia["amount_text"]) == (0.0, 100 * B, "≤ $100B")
    gpus = flows.edges[OPENAI, NVIDIA, str(KGD["deal-openai-nvidia-gpus"])]
    assert (gpus["low"], gpus["high"], gpus["amount_text"], gpus["source_line"]) == (0.0, 350 * B, "≤ $350B", 41)
    oracle = flows.edges[OPENAI, ORACLE, str(KGD["deal-openai-oracle-cloud"])]
    assert (oracle["low"], oracle["high"], oracle["approximate"], oracle["amount_text"]) == (300 * B, 300 * B, True, "~ $300B")
    assert "5 years" in oracle["terms_text"]
    coreweave = flows.edges[OPENAI, COREWEAVE, str(KGD["deal-openai-coreweave-compute"])]
    assert (coreweave["low"], coreweave["high"]) == (22 * B, 22 * B)
    assert "originally $11.9B" in coreweave["terms_text"]
    assert (39, "后合同扩至220亿美元") in [tuple(s) for s in coreweave["sources"]]


def test_deals_with_parts_are_not_counted_twice(flows):
    deals = {d["deal"] for _, _, d in flows.edges(data=True)}
    assert str(KGD["deal-softbank-openai"]) not in deals          # the $30B total: counted through tranches
    assert str(KGD["deal-openai-round-2025"]) not in deals         # the $41B round: counted through its parts
    softbank = sorted((d["low"], d["high"]) for d in flows[SOFTBANK][OPENAI].values())
    assert softbank == [(7.5 * B, 7.5 * B), (12.5 * B, 22.5 * B)]


def test_conditional_tranche_without_assumption(flows):
    tranche = flows.edges[SOFTBANK, OPENAI, str(KGD["deal-softbank-openai-tranche-2"])]
    assert (tranche["low"], tranche["high"]) == (12.5 * B, 22.5 * B)
    assert tranche["conditions"] == [str(KGD["cond-restructuring"])]
    assert tranche["condition_status"] == "open" and tranche["modality"] == "Conditional"
    assert (tranche["amount_met_text"], tranche["amount_failed_text"]) == ("$22.5B", "$12.5B")


def test_shared_investment_is_one_edge_per_payer(flows):
    deal = str(KGD["deal-google-amazon-anthropic-investment"])
    google = flows.edges[str(KGD.Google), ANTHROPIC, deal]
    amazon = flows.edges[str(KGD.Amazon), ANTHROPIC, deal]
    # line 50: 谷歌和亚马逊数十亿美元投资 -- one figure, $1B-10B, for both together: never split
    for edge, other in ((google, KGD.Amazon), (amazon, KGD.Google)):
        assert edge["shared"] and edge["shared_with"] == [str(other)] and edge["shared_side"] == "givers"
        assert (edge["low"], edge["high"], edge["status"]) == (1 * B, 10 * B, "firm")
    positions = net_positions(flows)
    anthropic_in = positions[ANTHROPIC]["in"]["investment"]
    assert (anthropic_in["firm"], anthropic_in["upper"], anthropic_in["deals"]) == (1 * B, 10 * B, 1)  # counted once
    for payer, other in ((str(KGD.Google), "Amazon"), (str(KGD.Amazon), "Google")):
        out = positions[payer]["out"]["investment"]
        assert (out["firm"], out["upper"]) == (0, 0)  # not in the payer's own sums ...
        assert [(j["with"], j["low"], j["high"]) for j in out["joint"]] == [([other], 1 * B, 10 * B)]  # ... but apart
    assert "jointly with Amazon: $1B–10B" in run("flows", "Google").stdout


def test_flow_graph_does_not_change_the_rdf_graph(rdf):
    from kg.flows import flow_graph
    before = set(rdf)
    flow_graph(rdf, assume={"restructuring": "failed"}, include_relations=True)
    assert set(rdf) == before


def test_nodes_carry_labels_and_kinds(flows):
    node = flows.nodes[NVIDIA]
    assert (node["label"], node["label_zh"], node["iri"]) == ("Nvidia", "英伟达", NVIDIA)
    assert node["kinds"] == ["ChipVendor", "Investor"] and node["node_type"] == "organization"


def test_relations_are_added_only_on_request(rdf, flows):
    from kg.flows import FLOW_KINDS, flow_graph
    assert {d["kind"] for _, _, d in flows.edges(data=True)} <= set(FLOW_KINDS)
    full = flow_graph(rdf, include_relations=True)
    partnerships = [(u, v) for u, v, d in full.edges(data=True) if d["kind"] == "partnership"]
    assert {frozenset(p) for p in partnerships} == {frozenset((OPENAI, ORACLE))}   # line 48: co-built data centers
    roles = {(u, v) for u, v, d in full.edges(data=True) if d["kind"] == "role"}
    assert (str(KGD.JensenHuang), NVIDIA) in roles and (str(KGD.LisaSu), AMD) in roles
    assert full.nodes[str(KGD.SamAltman)]["node_type"] == "person"
    # the money analyses ignore relation edges
    from kg.flows import cycles
    assert len(cycles(full)) == len(cycles(flows))


# --------------------------------------------------------------------------------------------------
# kg cycles: the article's three loops
# --------------------------------------------------------------------------------------------------

def _loop(found, *parties):
    matches = [c for c in found if set(c["nodes"]) == set(parties) and len(c["nodes"]) == len(parties) + 1]
    assert len(matches) == 1, [c["nodes_labels"] for c in found]
    return matches[0]


def _hop(cycle, u, v):
    return next(h for h in cycle["hops"] if (h["from"], h["to"]) == (u, v))


def test_the_three_loops_of_the_article():
    found = run_json("cycles")["cycles"]
    nvidia = _loop(found, NVIDIA, OPENAI)
    assert (_hop(nvidia, NVIDIA, OPENAI)["high"], _hop(nvidia, OPENAI, NVIDIA)["high"]) == (100 * B, 350 * B)
    assert nvidia["gross_high"] == 450 * B
    assert {n["label"]: n["net_upper"] for n in nvidia["net"]} == {"Nvidia": 250 * B, "OpenAI": -250 * B}
    assert nvidia["arrangements"] == [str(KGD["loop-nvidia-openai"])]

    amd = _loop(found, AMD, OPENAI)
    assert "6 GW" in _hop(amd, OPENAI, AMD)["terms_text"]
    assert _hop(amd, AMD, OPENAI)["terms_text"] == "option on ≤ 10% of shares at $0.01/share"
    assert amd["gross_low"] is None and _hop(amd, AMD, OPENAI)["edges"][0]["kind"] == "equity"
    assert {line for line, _ in amd["sources"]} >= {43}

    coreweave = _loop(found, COREWEAVE, OPENAI)
    assert _hop(coreweave, OPENAI, COREWEAVE)["high"] == 22 * B
    assert _hop(coreweave, COREWEAVE, OPENAI)["high"] == 350e6
    assert coreweave["gross_low"] == coreweave["gross_high"] == 22.35 * B
    assert {n["label"]: n["net_firm"] for n in coreweave["net"]} == {"CoreWeave": 21.65 * B, "OpenAI": -21.65 * B}


def test_cycles_table_largest_first_and_amd_terms_shown():
    result = run("cycles")
    assert result.exit_code == 0, result.output
    text = result.stdout
    assert text.index("Nvidia → OpenAI → Nvidia") < text.index("CoreWeave → OpenAI → CoreWeave") \
        < text.index("Advanced Micro Devices → OpenAI → Advanced Micro Devices")
    assert "≤ $100B" in text and "≤ $350B" in text and "$350M" in text and "$22B" in text
    assert "6 GW" in text and "option on ≤ 10% of shares at $0.01/share" in text
    assert "OpenAI pays Nvidia $250B" in text


def test_cycles_are_bounded_by_length():
    two = run_json("cycles", "--max-length", "2")["cycles"]
    assert all(len(c["nodes"]) <= 3 for c in two)
    first = run_json("cycles", "--max-length", "2", "--limit", "1")
    assert first["truncated"] and [c["nodes"][0] for c in first["cycles"]] == [NVIDIA]   # the largest: ≤ $450B
    assert not run_json("cycles", "--limit", "50")["truncated"]


# --------------------------------------------------------------------------------------------------
# kg trace
# --------------------------------------------------------------------------------------------------

def test_trace_softbank_to_nvidia():
    result = run("trace", "SoftBank", "Nvidia")
    assert result.exit_code == 0, result.output
    assert "SoftBank Group → OpenAI → Nvidia" in result.stdout
    assert "$7.5B" in result.stdout and "≤ $350B" in result.stdout and "line 41" in result.stdout
    assert "(derived: the $30B total less the $22.5B second tranche)" in result.stdout  # $7.5B is not in the text
    data = run_json("trace", "软银", "英伟达")
    assert [p["nodes"] for p in data["paths"]] == [[SOFTBANK, OPENAI, NVIDIA]]
    # the most that can pass: SoftBank's $7.5B + up to $22.5B, below the $350B of GPUs
    assert data["paths"][0]["capacity"] == 30 * B


def test_trace_with_assumption_and_kind_filter():
    data = run_json("trace", "softbank", "nvidia", "--assume", "restructuring=failed")
    assert data["paths"][0]["capacity"] == 20 * B
    assert data["assumptions"]["restructuring"] == "failed"
    only_investments = run("trace", "SoftBank", "Nvidia", "--kind", "investment")
    line = one_error_line(only_investments, 1)
    assert "no money path" in line


def test_trace_without_target_and_hop_limit():
    data = run_json("trace", "SoftBank", "--max-hops", "1")
    assert [p["nodes"] for p in data["paths"]] == [[SOFTBANK, OPENAI]]
    reach = {p["nodes"][-1] for p in run_json("trace", "SoftBank", "--max-hops", "2")["paths"]}
    assert {NVIDIA, AMD, COREWEAVE, ORACLE} <= reach


# --------------------------------------------------------------------------------------------------
# kg flows: totals, what-if, conditions
# --------------------------------------------------------------------------------------------------

def _party(data, iri):
    return next(p for p in data["parties"] if p["node"] == iri)


@pytest.mark.parametrize("assume, firm, upper", [
    ((), 20 * B, 30 * B),                                  # 7.5 + (12.5 either way) firm; up to 7.5 + 22.5
    (("restructuring=met",), 30 * B, 30 * B),
    (("restructuring=failed",), 20 * B, 20 * B),
    (("microsoft-consent=failed",), 20 * B, 20 * B),       # a failed sub-condition fails the restructuring
    (("regulatory-approval=failed",), 20 * B, 20 * B),
    (("cond-restructuring=met",), 30 * B, 30 * B),         # by IRI local name
    (("OpenAI在年底前完成重组=failed",), 20 * B, 20 * B),   # by Chinese label
])
def test_what_if_softbank_totals(assume, firm, upper):
    args = [a for item in assume for a in ("--assume", item)]
    for entity, side in ((SOFTBANK, "out"), (OPENAI, "in")):
        data = run_json("flows", "SoftBank", *args) if entity == SOFTBANK else run_json("flows", "OpenAI", *args)
        investment = _party(data, entity)[side]["investment"]
        if entity == SOFTBANK:
            assert (investment["firm"], investment["upper"]) == (firm, upper)
        else:  # OpenAI also gets up to $100B from Nvidia and an unstated amount from Microsoft
            assert (investment["firm"], investment["upper"], investment["unstated"]) == (firm, upper + 100 * B, 1)


def test_what_if_reaches_every_total():
    met = run_json("flows", "--assume", "restructuring=met")
    failed = run_json("flows", "--assume", "restructuring=failed")
    assert _party(met, OPENAI)["net_firm"] - _party(failed, OPENAI)["net_firm"] == 10 * B  # line 6: 减少100亿美元
    result = run("flows", "SoftBank", "--assume", "restructuring=failed")
    assert "Assuming: restructuring failed" in result.stdout and "$20B" in result.stdout


def test_openai_totals(rdf):
    data = run_json("flows", "OpenAI")
    openai = data["parties"][0]
    out = openai["out"]
    assert (out["purchase"]["firm"], out["purchase"]["upper"], out["purchase"]["unstated"]) == (0, 350 * B, 2)
    assert (out["contract"]["firm"], out["contract"]["upper"]) == (322 * B, 322 * B)   # ~$300B Oracle + $22B CoreWeave
    assert out["contract"]["approximate"] and out["contract"]["unstated"] == 1           # Google: no amount
    assert (openai["in"]["equity"]["firm"], openai["in"]["equity"]["unstated"]) == (350e6, 1)   # CoreWeave; AMD option
    assert openai["profile"]["from_partners"]["deals"] == 0
    assert openai["profile"]["compute_bought"]["deals"] == 6


def test_anthropic_vs_openai_profile():
    anthropic = run_json("flows", "Anthropic")["parties"][0]
    funding = anthropic["profile"]["funding"]
    assert (funding["firm"], funding["upper"], funding["deals"]) == (1 * B, 10 * B, 1)   # Google + Amazon, 数十亿, once
    bought = anthropic["profile"]["compute_bought"]
    assert (bought["firm"], bought["upper"]) == (10 * B, 100 * B)                         # Google Cloud, 数百亿
    assert anthropic["profile"]["from_partners"]["deals"] == 1                            # Amazon's Indiana cluster
    table = run("flows", "Anthropic").stdout
    assert "provided by partners (in-kind in):" in table and "Indiana" in table
    assert "$1B–10B jointly with Google" in table


def test_totals_table_has_every_party_and_nets():
    result = run("flows")
    assert result.exit_code == 0, result.output
    for label in ("OpenAI", "Nvidia", "SoftBank Group", "Anthropic", "CoreWeave", "Oracle Corporation"):
        assert label in result.stdout
    data = run_json("flows")
    nvidia = _party(data, NVIDIA)
    assert (nvidia["net_firm"], nvidia["net_upper"]) == (0, 250 * B)
    # Every amount is in one party's in and another's out, except the joint 数十亿 of line 50: in full in
    # Anthropic's in, apart (not added) in Google's and Amazon's out.
    assert abs(sum(p["net_firm"] for p in data["parties"]) - 1 * B) < 1e-3
    assert abs(sum(p["net_upper"] for p in data["parties"]) - 10 * B) < 1e-3


def test_conditions_listing():
    result = run("flows", "--conditions")
    assert result.exit_code == 0
    assert "restructuring: OpenAI completes its restructuring by year end" in result.stdout
    assert "requires: microsoft-consent, regulatory-approval" in result.stdout
    assert "$22.5B if met, $12.5B if failed" in result.stdout
    names = [c["name"] for c in run_json("flows", "--conditions")]
    assert names == ["microsoft-consent", "regulatory-approval", "restructuring"]


# --------------------------------------------------------------------------------------------------
# --data files
# --------------------------------------------------------------------------------------------------

def test_data_file_with_a_new_loop():
    found = run_json("cycles", "--data", str(FIXTURE))["cycles"]
    neo = "https://example.org/flows-test/NeoCloud"
    two = _loop(found, NVIDIA, neo)
    assert _hop(two, neo, NVIDIA)["edges"][0]["amount_text"] == "> $5B"
    assert _hop(two, neo, NVIDIA)["high"] is None                       # more than $5B: no upper limit
    three = _loop(found, ANTHROPIC, neo, str(KGD.Amazon))
    assert [h["from"] for h in three["hops"]] == [str(KGD.Amazon), ANTHROPIC, neo]
    text = run("cycles", "--data", str(FIXTURE)).stdout
    assert "Amazon → Anthropic → NeoCloud → Amazon" in text and "~ $4B" in text
    # without the file, no such loop
    assert not any(neo in c["nodes"] for c in run_json("cycles")["cycles"])


def test_data_file_conditions_and_joint_payers():
    names = [c["name"] for c in run_json("flows", "--conditions", "--data", str(FIXTURE))]
    assert "neocloud-listing" in names
    # a deal that happens only if its condition is met disappears when it fails: the 3-party loop is gone
    failed = run_json("cycles", "--data", str(FIXTURE), "--assume", "neocloud-listing=failed")["cycles"]
    assert not any(len(c["nodes"]) == 4 and str(KGD.Amazon) in c["nodes"] and
                   "https://example.org/flows-test/NeoCloud" in c["nodes"] for c in failed)
    neo = run_json("flows", "新云", "--data", str(FIXTURE))["parties"][0]
    rent = next(e for e in neo["edges_out"] if e["to"] == str(KGD.Amazon))
    assert (rent["low"], rent["high"], rent["amount_text"]) == (0.0, 1 * B, "$0 or $1B")  # open, no fallback
    assert neo["in"]["investment"]["upper"] == 2 * B + 3 * B   # Nvidia's $2B + the joint "up to $3B" once
    assert neo["out"]["purchase"]["unbounded"] == 1


# --------------------------------------------------------------------------------------------------
# Export
# --------------------------------------------------------------------------------------------------

def test_export_graphml_gexf_csv(rdf):
    from kg.flow_export import export_flows
    from kg.flows import flow_graph
    G = flow_graph(rdf, include_relations=True)
    graphml = export_flows(G, "graphml")
    assert graphml.startswith("<?xml")
    back = nx.parse_graphml(graphml, force_multigraph=True)
    assert back.number_of_nodes() == G.number_of_nodes() and back.number_of_edges() == G.number_of_edges()
    nvidia_edges = back.get_edge_data(NVIDIA, OPENAI)
    assert [e["kind"] for e in nvidia_edges.values()] == ["investment"]
    assert [e["high"] for e in nvidia_edges.values()] == [100 * B]
    assert back.nodes[NVIDIA]["label_zh"] == "英伟达"
    gexf_text = export_flows(G, "gexf")
    assert gexf_text.startswith("<?xml") and "英伟达" in gexf_text
    gexf = nx.read_gexf(io.BytesIO(gexf_text.encode("utf-8")))
    assert gexf.number_of_edges() == G.number_of_edges()
    rows = list(csv.DictReader(io.StringIO(export_flows(flow_graph(rdf), "csv"))))
    gpus = [r for r in rows if r["deal"].endswith("deal-openai-nvidia-gpus")]
    assert len(gpus) == 1 and gpus[0]["amount_text"] == "≤ $350B" and gpus[0]["source_line"] == "41"
    tranche = next(r for r in rows if r["deal"].endswith("tranche-2"))
    assert tranche["conditions"] == "restructuring" and tranche["low"] == str(12.5 * B)


def test_export_unknown_format(flows):
    from kg.errors import UsageError
    from kg.flow_export import export_flows
    with pytest.raises(UsageError, match="graphml, gexf, csv"):
        export_flows(flows, "pdf")


# --------------------------------------------------------------------------------------------------
# Errors: one line, the right exit code
# --------------------------------------------------------------------------------------------------

@pytest.mark.parametrize("args, code, words", [
    (("trace", "Nvdia"), 2, "did you mean: Nvidia"),
    (("trace", "SoftBank", "Nowhere Inc"), 2, "no entity named 'Nowhere Inc'"),
    (("flows", "Meta"), 1, "Meta has no money flows"),
    (("trace", "Broadcom"), 1, "no money path from Broadcom"),
    (("trace", "SoftBank", "--max-hops", "0"), 2, "--max-hops must be between 1 and 8"),
    (("trace", "SoftBank", "--max-hops", "99"), 2, "--max-hops must be between 1 and 8"),
    (("trace", "SoftBank", "SoftBank"), 2, "same entity"),
    (("cycles", "--max-length", "0"), 2, "--max-length"),
    (("cycles", "--max-length", "1"), 1, "no circular deal"),
    (("cycles", "--kind", "cash"), 2, "unknown flow kind 'cash'"),
    (("cycles", "--limit", "0"), 2, "--limit"),
    (("flows", "--assume", "mars-landing=met"), 2, "known conditions: microsoft-consent, regulatory-approval, restructuring"),
    (("flows", "--assume", "restructuring"), 2, "CONDITION=met or CONDITION=failed"),
    (("flows", "--assume", "restructuring=maybe"), 2, "CONDITION=met or CONDITION=failed"),
    (("flows", "--assume", "restructuring=met", "--assume", "microsoft-consent=failed"), 2, "contradictory"),
    (("cycles", "--data", "no/such/file.ttl"), 2, "no such file"),
    (("flows", "OpenAI", "--conditions"), 2, "--conditions lists every condition"),
    (("trace", ""), 2, "no entity named ''"),
    (("trace", "<script>alert(1)</script>"), 2, "no entity named"),
])
def test_errors_are_one_line(args, code, words):
    line = one_error_line(run(*args), code)
    assert words in line


def test_cli_module_does_not_import_networkx_at_import():
    import subprocess
    import sys
    code = "import sys, kg.cli.flow_commands; print('networkx' in sys.modules)"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "False"


def test_cli_kind_list_matches_library():
    from kg.cli.flow_commands import FLOW_KINDS as cli_kinds
    from kg.flows import FLOW_KINDS
    assert cli_kinds == FLOW_KINDS
