"""One meaning for every amount: every command reports the same bounds, status and sharing for every
deal, totals add each deal once, every stored-query figure has its line, and no text shows an internal ID.

The expected values are written from the article (sources/article.zh.txt), with the line they come
from, not copied from the program's output. docs/semantics.md is the rule they follow.
"""

from __future__ import annotations

import csv
import io
import json
import re
from decimal import Decimal

import pytest
from click.testing import CliRunner
from rdflib import Literal, URIRef
from rdflib.query import Result

from kg.amounts import KIND_FACTORS
from kg.cli import main
from kg.graph import KG, KGD, load_graph
from kg.semantics import MODALITY_STATUS

B = 1e9
ID = str(KGD)

#: deal -> (low, high, status, payers sharing one figure, amount as text), from the article.
DEALS = {
    "deal-nvidia-openai-investment": (0.0, 100 * B, "planned", (), "≤ $100B"),       # 41: 未来 ... 最高1000亿
    "deal-openai-nvidia-gpus": (0.0, 350 * B, "firm", (), "≤ $350B"),                  # 41: 最多3500亿
    "deal-openai-coreweave-compute": (22 * B, 22 * B, "firm", (), "$22B"),             # 39: 后合同扩至220亿
    "deal-coreweave-openai-shares": (0.35 * B, 0.35 * B, "firm", (), "$350M"),         # 39: 换3.5亿美元股份
    "deal-openai-oracle-cloud": (300 * B, 300 * B, "firm", (), "~ $300B"),             # 45: 约3000亿
    "deal-google-amazon-anthropic-investment": (1 * B, 10 * B, "firm", ("Amazon", "Google"), "$1B–10B"),  # 50: 数十亿
    "deal-anthropic-google-cloud": (10 * B, 100 * B, "firm", (), "$10B–100B"),         # 51: 数百亿
    "deal-softbank-openai-tranche-1": (7.5 * B, 7.5 * B, "derived", (), "$7.5B"),      # 29: 300亿 − 225亿
    "deal-softbank-openai-tranche-2": (12.5 * B, 22.5 * B, "conditional", (), "$12.5B–22.5B"),  # 1, 6: 225亿, else 125亿
    # no amount stated: 43 (AMD), 35 (Broadcom, Google), 52 (Indiana), 25 (Copilot), 28 (Microsoft)
    "deal-openai-amd-chips": (None, None, "unstated", (), None),
    "deal-amd-openai-warrant": (None, None, "unstated", (), None),
    "deal-openai-broadcom-chips": (None, None, "unstated", (), None),
    "deal-openai-google-cloud": (None, None, "unstated", (), None),
    "deal-amazon-anthropic-indiana": (None, None, "unstated", (), None),
    "deal-microsoft-anthropic-copilot": (None, None, "unstated", (), None),
    "deal-microsoft-openai": (None, None, "unstated", (), None),
}
#: deal -> (payers, payees), from the article (grantor/grantee for shares, options and in-kind value).
PARTIES = {
    "deal-nvidia-openai-investment": (["Nvidia"], ["OpenAI"]),
    "deal-openai-nvidia-gpus": (["OpenAI"], ["Nvidia"]),
    "deal-openai-coreweave-compute": (["OpenAI"], ["CoreWeave"]),
    "deal-coreweave-openai-shares": (["CoreWeave"], ["OpenAI"]),
    "deal-openai-oracle-cloud": (["OpenAI"], ["Oracle Corporation"]),
    "deal-google-amazon-anthropic-investment": (["Amazon", "Google"], ["Anthropic"]),
    "deal-anthropic-google-cloud": (["Anthropic"], ["Google"]),
    "deal-softbank-openai-tranche-1": (["SoftBank Group"], ["OpenAI"]),
    "deal-softbank-openai-tranche-2": (["SoftBank Group"], ["OpenAI"]),
    "deal-openai-amd-chips": (["OpenAI"], ["Advanced Micro Devices"]),
    "deal-amd-openai-warrant": (["Advanced Micro Devices"], ["OpenAI"]),
    "deal-openai-broadcom-chips": (["OpenAI"], ["Broadcom"]),
    "deal-openai-google-cloud": (["OpenAI"], ["Google"]),
    "deal-amazon-anthropic-indiana": (["Amazon"], ["Anthropic"]),
    "deal-microsoft-anthropic-copilot": (["Anthropic"], ["Microsoft"]),
    "deal-microsoft-openai": (["Microsoft"], ["OpenAI"]),
}
COUNTS_AT_LEAST = ("firm", "derived", "conditional")


def run(*args) -> str:
    result = CliRunner().invoke(main, list(args))
    assert result.exit_code == 0, result.output
    return result.stdout


def select(*args) -> list[dict]:
    parsed = Result.parse(io.StringIO(run("query", *args, "--format", "json")), format="json")
    return [{str(k): v.toPython() for k, v in row.asdict().items()} for row in parsed]


def num(value):
    return None if value is None else float(value)


@pytest.fixture(scope="module")
def labels():
    graph = load_graph()
    return {local: str(graph.value(KGD[local], URIRef("http://www.w3.org/2000/01/rdf-schema#label")))
            for local in DEALS}, graph


@pytest.fixture(scope="module")
def reports(labels):
    """For every deal, what each command says about it: {command: {deal: (low, high, status, shared)}}."""
    label_of, _graph = labels
    deal_of = {v: k for k, v in label_of.items()}
    found: dict[str, dict] = {}

    def put(command, deal, low, high, status, shared):
        found.setdefault(command, {})[deal] = (num(low), num(high), status, tuple(sorted(shared)))

    payees = {p for _, (_, takers) in PARTIES.items() for p in takers}
    for payee in sorted(payees):
        for row in select("money-into", "--param", f"company={payee}"):
            payers = row["from"].split(", ")
            put("money-into", deal_of[row["deal"]], row.get("low"), row.get("high"), row["status"],
                payers if len(payers) > 1 else ())
    for row in select("largest-deals"):
        payers = row["payer"].split(", ")
        put("largest-deals", deal_of[row["deal"]], row.get("low"), row.get("high"), row["status"],
            payers if len(payers) > 1 else ())
    for row in select("investments"):
        if row["deal"] in deal_of:
            payers = row["investor"].split(", ")
            put("investments", deal_of[row["deal"]], row.get("low"), row.get("high"), row["status"],
                payers if len(payers) > 1 else ())
    for buyer in ("OpenAI", "Anthropic"):
        for row in select("suppliers", "--param", f"company={buyer}"):
            put("suppliers", deal_of[row["deal"]], row.get("low"), row.get("high"), row["status"],
                ())  # one buyer per row by the query's question
    for row in select("circular-deals"):
        shared = [row["from"], *row["jointly_with"].split(", ")] if row.get("jointly_with") else ()
        put("circular-deals", deal_of[row["deal"]], row.get("low"), row.get("high"), row["status"], shared)

    flows = json.loads(run("flows", "--format", "json"))["parties"]
    for party in json.loads(run("flows", "--format", "json"))["parties"]:
        detail = json.loads(run("flows", party["label"], "--format", "json"))["parties"][0]
        for edge in detail["edges_in"] + detail["edges_out"]:
            shared = [edge["from_label"], *(_label(flows, o) for o in edge["shared_with"])] if edge["shared"] else ()
            put("flows", edge["deal"][len(ID):], edge["low"], edge["high"], edge["status"], shared)
    for cycle in json.loads(run("cycles", "--format", "json"))["cycles"]:
        for hop in cycle["hops"]:
            for edge in hop["edges"]:
                shared = [edge["from_label"], *(_label(flows, o) for o in edge["shared_with"])] if edge["shared"] else ()
                put("cycles", edge["deal"][len(ID):], edge["low"], edge["high"], edge["status"], shared)
    for row in csv.DictReader(io.StringIO(run("export", "--flows", "--format", "csv"))):
        shared = [row["source_label"], *(_label(flows, o) for o in row["shared_with"].split(";"))] \
            if row["shared"] == "True" else ()
        put("export --flows", row["deal"][len(ID):], row["low"] or None, row["high"] or None, row["status"], shared)
    for deal, (payers, _takers) in PARTIES.items():
        for payer in payers:
            shown = json.loads(run("show", payer, "--format", "json"))
            for d in shown["deals"]:
                if d["iri"] == ID + deal:
                    shared = [payer, *d["shared_with"]] if d["shared_with"] else ()
                    put("show", deal, d["low"], d["high"], d["status"], shared)
    return found


def _label(parties, iri):
    return next(p["label"] for p in parties if p["node"] == iri)


@pytest.mark.parametrize("deal", sorted(DEALS))
def test_every_command_reports_the_same_meaning_for_each_deal(reports, deal):
    low, high, status, shared, _text = DEALS[deal]
    expected = (low, high, status, shared)
    seen = {command: by_deal[deal] for command, by_deal in reports.items() if deal in by_deal}
    assert {"money-into", "flows", "export --flows", "show"} <= set(seen), seen
    if low is not None:
        assert "largest-deals" in seen
    for command, (got_low, got_high, got_status, got_shared) in seen.items():
        assert (got_status, got_shared) == (status, shared), command
        assert (got_low, got_high) == ((pytest.approx(low), pytest.approx(high)) if low is not None else (None, None)), command


def test_viz_and_show_write_each_amount_alike(labels, tmp_path):
    label_of, _graph = labels
    run("viz", "-o", str(tmp_path / "deals.html"))
    page = (tmp_path / "deals.html").read_text(encoding="utf-8")
    data = json.loads(re.search(r'<script type="application/json" id="kg-data">(.*?)</script>', page, re.S).group(1))
    for deal, (_low, _high, status, shared, text) in DEALS.items():
        for edge in (e for e in data["edges"] if e["deal"] == ID + deal):
            rows = dict(edge["tip"]["rows"])
            if text is None:
                assert "Amount" not in rows or rows["Amount"] == "amount not stated"
                continue
            assert rows["Amount"].split(" jointly with ")[0] == text
            assert rows["Status"].split(":")[0] == status
            assert ("Shared" in rows) == bool(shared)
        payer = PARTIES[deal][0][0]
        shown = run("show", payer)
        if text is not None:
            assert f"{text}" in shown and f"[{status}" in shown


@pytest.mark.parametrize("party", ["OpenAI", "Anthropic", "Google", "Amazon", "SoftBank Group", "Nvidia",
                                   "CoreWeave", "Oracle Corporation", "Microsoft"])
def test_party_totals_add_each_deal_once(party):
    """A party's totals are the sum over its deals (docs/semantics.md): the lows of firm, derived and
    conditional amounts and every high; a figure it gives jointly with others is listed apart, not
    added; a figure it receives from several payers together is added once."""
    want = {"in": [0.0, 0.0, []], "out": [0.0, 0.0, []]}
    for deal, (payers, payees) in PARTIES.items():
        low, high, status, shared, _text = DEALS[deal]
        for side, parties in (("out", payers), ("in", payees)):
            if party not in parties or low is None:
                continue
            if side == "out" and shared:
                want[side][2].append((sorted(set(shared) - {party}), low, high))
                continue
            want[side][0] += low if status in COUNTS_AT_LEAST else 0.0
            want[side][1] += high
    got = json.loads(run("flows", party, "--format", "json"))["parties"][0]
    for side in ("in", "out"):
        total = got[side]["all"]
        assert (total["firm"], total["upper"]) == pytest.approx(tuple(want[side][:2])), side
        assert [(sorted(j["with"]), j["low"], j["high"]) for j in total["joint"]] == want[side][2]


def test_google_shows_the_joint_figure_apart():
    text = run("flows", "Google")
    assert "jointly with Amazon: $1B–10B" in text  # line 50
    assert "$1B–10B jointly with Amazon" in run("show", "Google")


FIGURE_COLUMNS = ("low", "high", "value", "amount_if_met", "amount_if_failed")


def test_every_stored_query_row_with_a_figure_has_its_line():
    names = [q["name"] for q in json.loads(run("queries", "--format", "json"))]
    article = load_graph()
    checked = 0
    for name in names:
        for row in select(name):
            if any(row.get(c) is not None for c in FIGURE_COLUMNS):
                assert isinstance(row.get("line"), int), (name, row)
                checked += 1
            for side in ("openai", "anthropic"):
                if isinstance(row.get(side), (int, float, Decimal)):
                    assert isinstance(row.get(f"{side}_line"), int), (name, row)
                    checked += 1
    assert checked > 100
    assert article is not None


def _internal_ids(graph) -> set[str]:
    """Local names of the data's IRIs that no literal of the graph contains: names only a program uses
    ("FinancialTimes", "role-huang-nvidia", "claim-openai-arr-2025")."""
    literals = " ".join(str(o) for o in graph.objects() if isinstance(o, Literal))
    ids = {str(s)[len(ID):] for s in graph.subjects() if str(s).startswith(ID)}
    return {i for i in ids if i not in literals}


def test_no_text_output_contains_an_internal_id(tmp_path):
    graph = load_graph()
    ids = _internal_ids(graph)
    assert {"FinancialTimes", "PeopleFamiliar", "role-huang-nvidia", "claim-openai-arr-2025"} <= ids
    outputs = {f"query {q['name']}": run("query", q["name"]) for q in json.loads(run("queries", "--format", "json"))}
    outputs.update({"flows": run("flows"), "cycles": run("cycles"), "trace": run("trace", "SoftBank"),
                    "flows --conditions": run("flows", "--conditions"), "stats": run("stats")})
    entities = {s for p in (KG.payer, KG.payee, KG.grantor, KG.grantee, KG.creditedTo, KG.about)
                for s in graph.objects(None, p) if isinstance(s, URIRef)}
    entities |= set(graph.subjects(None, KG.Condition))
    for entity in sorted(entities):
        outputs[f"show {entity[len(ID):]}"] = run("show", str(entity))
        if entity in set(graph.objects(None, KG.payer)) | set(graph.objects(None, KG.payee)):
            outputs[f"flows {entity[len(ID):]}"] = run("flows", str(entity))
    run("viz", "-o", str(tmp_path / "deals.html"))  # what the page shows: labels and tooltips
    page = (tmp_path / "deals.html").read_text(encoding="utf-8")
    data = json.loads(re.search(r'<script type="application/json" id="kg-data">(.*?)</script>', page, re.S).group(1))
    shown = [[item.get("label"), item.get("tip")] for item in data["edges"] + data["nodes"]]
    outputs["viz"] = re.sub(r'"iri": "[^"]*"', "", json.dumps(shown, ensure_ascii=False))
    for what, text in outputs.items():
        text = re.sub(r"https?://\S+", "", text)  # a full IRI is shown on purpose (`id:`, `same as:`)
        leaked = {i for i in ids if re.search(rf"(?<![\w-]){re.escape(i)}(?![\w-])", text)}
        assert not leaked, f"kg {what} shows internal IDs: {sorted(leaked)}"


def test_ontology_states_the_same_bounds_and_statuses_as_kg_semantics():
    graph = load_graph()
    for kind, (low, high) in KIND_FACTORS.items():
        assert graph.value(KG[kind], KG.lowFactor).toPython() == low
        stated_high = graph.value(KG[kind], KG.highFactor)
        assert (stated_high.toPython() if stated_high is not None else None) == high
    statuses = {str(m)[len(str(KG)):]: str(s) for m, s in graph.subject_objects(KG.amountStatus)}
    assert statuses == MODALITY_STATUS
