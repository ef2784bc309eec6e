"""`kg query`, `kg queries`, `kg show`, `kg export`, `kg stats` through the real CLI on the bundled data.

Expected answers are written from the article (sources/article.zh.txt), with the line they come from.
"""

from __future__ import annotations

import csv
import io
import json
import subprocess
import sys
from decimal import Decimal
from pathlib import Path

import pytest
from click.testing import CliRunner
from rdflib import Graph
from rdflib.compare import isomorphic
from rdflib.query import Result

from kg.cli import main
from kg.graph import KG, KGD, PROJECT_ROOT, load_graph

B = Decimal(10) ** 9
ARTICLE = (PROJECT_ROOT / "sources" / "article.zh.txt").read_text(encoding="utf-8").splitlines()


def run(*args, input=None):
    return CliRunner().invoke(main, list(args), input=input)


def select(*args) -> list[dict]:
    """Rows of a SELECT as dicts of Python values, parsed back with rdflib's SPARQL JSON results parser."""
    result = run("query", *args, "--format", "json")
    assert result.exit_code == 0, result.output
    parsed = Result.parse(io.StringIO(result.stdout), format="json")
    return [{str(k): v.toPython() for k, v in row.asdict().items()} for row in parsed]


def local(value) -> str:
    return str(value).rsplit("#", 1)[-1].rsplit("/", 1)[-1]


# --- stored queries: each with its answer -----------------------------------------------------------


def test_every_stored_query_has_a_test_here():
    names = {path.stem for path in (PROJECT_ROOT / "queries").glob("*.rq")}
    tested = {name.removeprefix("test_stored_").replace("_", "-") for name in globals() if name.startswith("test_stored_")}
    assert len(names) >= 12
    assert names <= tested, f"stored queries without a test: {sorted(names - tested)}"


def test_stored_circular_deals():
    rows = select("circular-deals")
    pairs = {(r["from"], r["to"]) for r in rows}
    # Lines 41, 43, 39: the article's three loops; lines 50-51: Google invests in Anthropic, which buys TPUs.
    assert pairs == {("Nvidia", "OpenAI"), ("OpenAI", "Nvidia"),
                     ("Advanced Micro Devices", "OpenAI"), ("OpenAI", "Advanced Micro Devices"),
                     ("CoreWeave", "OpenAI"), ("OpenAI", "CoreWeave"),
                     ("Google", "Anthropic"), ("Anthropic", "Google")}
    by_pair = {(r["from"], r["to"]): r for r in rows}
    # line 41: 未来 ... 投资最高1000亿美元 (planned, up to), 采购最多3500亿美元 (up to)
    assert (by_pair[("Nvidia", "OpenAI")]["low"], by_pair[("Nvidia", "OpenAI")]["high"]) == (0, 100 * B)
    assert (by_pair[("Nvidia", "OpenAI")]["kind"], by_pair[("Nvidia", "OpenAI")]["status"]) == ("up to", "planned")
    assert (by_pair[("OpenAI", "Nvidia")]["high"], by_pair[("OpenAI", "Nvidia")]["line"]) == (350 * B, 41)
    # line 50: 谷歌和亚马逊数十亿美元投资 -- one figure for both; line 51: 数百亿
    google = by_pair[("Google", "Anthropic")]
    assert (google["low"], google["high"], google["jointly_with"], google["line"]) == (B, 10 * B, "Amazon", 50)
    assert (by_pair[("Anthropic", "Google")]["low"], by_pair[("Anthropic", "Google")]["high"]) == (10 * B, 100 * B)
    assert by_pair[("OpenAI", "Advanced Micro Devices")]["quantity"] == 6
    assert local(by_pair[("OpenAI", "Advanced Micro Devices")]["unit"]) == "GigaW"
    assert by_pair[("Advanced Micro Devices", "OpenAI")]["share_of_equity_pct"] == 10
    assert by_pair[("Advanced Micro Devices", "OpenAI")]["price_per_share"] == Decimal("0.01")
    assert by_pair[("CoreWeave", "OpenAI")]["low"] == Decimal("0.35") * B
    assert by_pair[("OpenAI", "CoreWeave")]["high"] == 22 * B
    assert all(r["line"] and r["quote"] in ARTICLE[r["line"] - 1] for r in rows)


def test_stored_money_into():
    rows = select("money-into")
    into_openai = {(r["from"], r.get("low"), r.get("high"), r["status"]) for r in rows}
    assert into_openai == {("Nvidia", 0, 100 * B, "planned"),  # line 41
                           ("SoftBank Group", Decimal("12.5") * B, Decimal("22.5") * B, "conditional"),  # lines 1, 6
                           ("SoftBank Group", Decimal("7.5") * B, Decimal("7.5") * B, "derived"),  # line 29
                           ("CoreWeave", Decimal("0.35") * B, Decimal("0.35") * B, "firm"),  # line 39
                           ("Advanced Micro Devices", None, None, "unstated"), ("Microsoft", None, None, "unstated")}
    tranche = next(r for r in rows if r["status"] == "conditional")
    assert "restructuring" in tranche["condition"] and tranche["line"] == 1
    # line 50: one figure for Google and Amazon together: one row, both payers, counted once
    into_anthropic = {(r["from"], r["deal_kind"], r.get("low")) for r in select("money-into", "--param", "company=Anthropic")}
    assert into_anthropic == {("Amazon, Google", "investment", B), ("Amazon", "data-center build", None)}


def test_stored_suppliers():
    openai = {r["supplier"] for r in select("suppliers")}
    assert openai == {"Nvidia", "Advanced Micro Devices", "Broadcom", "Oracle Corporation", "Google", "CoreWeave"}  # line 35, 39
    anthropic = {(r["supplier"], r["deal_kind"], r.get("low"), r["line"])
                 for r in select("suppliers", "--param", "company=Anthropic")}
    assert anthropic == {("Google", "cloud contract", 10 * B, 51), ("Amazon", "data-center build", None, 52)}


def test_stored_openai_vs_anthropic():
    rows = select("openai-vs-anthropic")
    shares = {(r.get("segment"), r.get("openai"), r.get("anthropic")) for r in rows if r["measure"] == "market share"}
    assert shares == {("code generation", 21, 42), ("enterprise (B2B) AI users", 25, 32)}  # lines 15, 16
    enterprise = next(r for r in rows if r["measure"] == "enterprise share of revenue")
    assert (enterprise["openai"], enterprise["anthropic"]) == (30, 80)  # lines 1, 12
    arr = {r["modality"]: (r.get("openai"), r.get("anthropic")) for r in rows if r["measure"] == "annual recurring revenue"}
    assert arr == {"projected or target": (13 * B, 9 * B), "reported": (None, 7 * B)}  # lines 1, 13
    users = next(r for r in rows if r["measure"] == "weekly active users")
    assert users["openai"] == 800_000_000 and "anthropic" not in users
    assert users["openai_line"] == 1  # 8亿 is stated in lines 1 and 3, not 68
    backers = {(r.get("openai"), r.get("anthropic")) for r in rows if r["measure"] == "backer"}
    assert {b for b, _ in backers if b} == {"Microsoft", "SoftBank Group", "Nvidia"}  # lines 28, 41
    assert {b for _, b in backers if b} == {"Google", "Amazon"}  # line 50


def test_stored_conditions():
    rows = select("conditions")
    assert {r["requires"] for r in rows} == {"Microsoft consents to OpenAI's restructuring",
                                             "regulators approve OpenAI's restructuring"}  # line 33
    for row in rows:
        assert row["payer"] == "SoftBank Group"
        assert (row["amount_if_met"], row["amount_if_failed"]) == (Decimal("22.5") * B, Decimal("12.5") * B)  # line 6
        assert str(row["deadline"]) == "2025-12-31"


def test_stored_projections_vs_reported():
    rows = select("projections-vs-reported", "--param", "company=OpenAI")
    assert {r["company_name"] for r in rows} == {"OpenAI"}
    by = {(r["measure"], r["value"]): r["modality"] for r in rows}
    assert by[("compute spending", 16 * B)] == "projected or target"  # line 31, 今年将达
    assert by[("compute spending", 40 * B)] == "projected or target"
    assert by[("cash", Decimal("7.6") * B)] == "reported"  # 去年底现金
    assert by[("revenue target", 100 * B)] == "projected or target"  # line 56, 2028
    assert by[("pre-money valuation", 260 * B)] == "reported"
    assert {r["value"] for r in rows if r["measure"] == "cash burn"} == {8 * B, 17 * B, 100 * B}


def test_stored_largest_deals():
    rows = select("largest-deals")
    assert rows[0]["deal"].startswith("OpenAI's purchase of up to $350B")
    assert (rows[0]["low"], rows[0]["high"], rows[0]["kind"]) == (0, 350 * B, "up to")  # line 41
    oracle = next(r for r in rows if r["payee"] == "Oracle Corporation")
    assert (oracle["low"], oracle["high"], oracle["kind"]) == (300 * B, 300 * B, "approximate")  # line 45: 约3000亿
    softbank = next(r for r in rows if r["status"] == "conditional")  # lines 1, 6: $22.5B, or $12.5B if it fails
    assert (softbank["low"], softbank["high"]) == (Decimal("12.5") * B, Decimal("22.5") * B)
    joint = [r for r in rows if r["payee"] == "Anthropic" and r["low"] == B]  # line 50: listed once
    assert [r["payer"] for r in joint] == ["Amazon, Google"]
    highs = [r["high"] for r in rows]
    assert highs == sorted(highs, reverse=True)


def test_stored_people():
    rows = select("people")
    roles = {(r["person"], r["role"], r["organization"], bool(r.get("former"))) for r in rows}
    assert roles == {
        ("Jensen Huang", "chief executive", "Nvidia", False),  # line 41
        ("Lisa Su", "chief executive", "Advanced Micro Devices", False),  # line 43
        ("Mike Liberatore", "chief financial officer", "xAI", True),  # line 47
        ("Mike Liberatore", "head of business finance", "OpenAI", False),
        ("Elon Musk", "early participant", "OpenAI", True),  # line 34
        ("Sam Altman", "leader of the executive team", "OpenAI", False),  # line 1
    }
    assert {r["person_zh"] for r in rows} >= {"黄仁勋", "苏姿丰", "马斯克", "奥特曼"}


def test_stored_entity_facts():
    rows = select("entity-facts", "--param", "entity=黄仁勋")
    # Huang is CEO (41), decided the deal (41), without outside advisors (42); the GPU purchase he
    # negotiated is also one of the long-term agreements of line 35.
    assert {r["line"] for r in rows} == {35, 41, 42}
    assert any("私交好" in r["quote"] for r in rows)
    nvidia_lines = {r["line"] for r in select("entity-facts")}
    assert {1, 7, 35, 41} <= nvidia_lines


def test_stored_citations():
    rows = select("citations")
    credited = {(r["credited_to"], r["line"]) for r in rows}
    assert {("Financial Times", 39), ("Menlo Ventures", 19), ("people familiar with the matter", 31),
            ("Anthropic", 12), ("The Wall Street Journal", 73), ("Epoch AI", 74)} <= credited
    assert {c for c, _ in credited} == {"Financial Times", "Menlo Ventures", "people familiar with the matter",
                                        "Anthropic", "OpenAI", "The Wall Street Journal", "Epoch AI"}


def test_stored_investments():
    rows = select("investments")
    found = {(r["investor"], r["company"], r.get("high")) for r in rows}
    assert ("SoftBank Group", "OpenAI", 30 * B) in found  # line 29
    assert ("Nvidia", "OpenAI", 100 * B) in found  # line 41
    assert ("Microsoft", "OpenAI", None) in found  # line 28
    assert ("Amazon, Google", "Anthropic", 10 * B) in found  # line 50: one figure for both, one row
    tranche = next(r for r in rows if r.get("high") == Decimal("7.5") * B)
    assert tranche["part_of"] == "SoftBank's $30B investment in OpenAI"
    assert (tranche["status"], tranche["derived"]) == ("derived", "the $30B total less the $22.5B second tranche")


def test_stored_figures():
    rows = select("figures")
    on_43 = {(r["value"], r.get("currency") or local(r["unit"])) for r in rows if r["line"] == 43}
    assert on_43 == {(6, "GigaW"), (Decimal("0.01"), "USD"), (10, "PERCENT")}
    derived = [r for r in rows if r.get("derived")]
    assert {r["value"] for r in derived} == {Decimal("7.5") * B}


def test_stored_time_assumptions():
    rows = select("time-assumptions")
    words = {(r["fact"], r["words"]): r for r in rows}
    assert str(words[("OpenAI: cash", "去年底")]["as_of"]) == "2024-12-31"  # line 31
    assert {r["year"] for r in rows if r["words"] == "明年"} == {2026} or \
        {str(r["year"]) for r in rows if r["words"] == "明年"} == {"2026"}


# --- formats ------------------------------------------------------------------------------------------


def test_table_is_the_default_and_counts_rows():
    result = run("query", "people")
    assert result.exit_code == 0
    lines = result.stdout.splitlines()
    assert lines[0].split()[:2] == ["person", "person_zh"]
    assert lines[-1] == "(6 rows)"


def test_csv_and_tsv_follow_the_sparql_results_formats():
    raw = run("query", "people", "--format", "csv").stdout_bytes.decode("utf-8")
    rows = list(csv.DictReader(io.StringIO(raw, newline="")))
    assert len(rows) == 6 and {"Jensen Huang", "Lisa Su"} <= {r["person"] for r in rows}
    assert raw.count("\r\n") == 7  # CRLF line ends, as the SPARQL 1.1 CSV format says
    tsv = run("query", "people", "--format", "tsv").stdout.splitlines()
    assert tsv[0].split("\t")[:2] == ["?person", "?person_zh"]
    assert '"黄仁勋"@zh' in "\n".join(tsv)


def test_markdown_table():
    out = run("query", "conditions", "--format", "md").stdout.splitlines()
    assert out[0].startswith("| deal | payer |") and out[1].startswith("|---|")
    assert len(out) == 4


def test_construct_gives_turtle_and_ask_gives_exit_codes():
    result = run("query", "CONSTRUCT { ?d kg:payer ?p } WHERE { ?d kg:payer ?p ; kg:payee kgd:Anthropic }")
    assert result.exit_code == 0
    parsed = Graph().parse(data=result.stdout, format="turtle")
    assert set(parsed.objects(None, KG.payer)) == {KGD.Google, KGD.Amazon}
    yes = run("query", "ASK { kgd:Nvidia kg:alias \"NVIDIA\" }")
    no = run("query", "ASK { kgd:Nvidia kg:payee kgd:SoftBank }")
    assert (yes.stdout.strip(), yes.exit_code) == ("true", 0)
    assert (no.stdout.strip(), no.exit_code) == ("false", 1)


def test_query_from_file_and_stdin(tmp_path):
    path = tmp_path / "mine.rq"
    path.write_text("SELECT ?l WHERE { kgd:SoftBank rdfs:label ?l FILTER(lang(?l) = 'zh') }", encoding="utf-8")
    assert "软银" in run("query", str(path)).stdout
    assert "软银" in run("query", "-", input=path.read_text(encoding="utf-8")).stdout


def test_param_accepts_names_aliases_prefixed_names_and_iris():
    expected = {r["supplier"] for r in select("suppliers", "--param", "company=Anthropic")}
    for value in ("anthropic", "kgd:Anthropic", "<https://w3id.org/aimoney/id/Anthropic>", "Anthropic PBC"):
        assert {r["supplier"] for r in select("suppliers", "--param", f"company={value}")} == expected


def test_limit():
    assert len(select("figures", "--limit", "3")) == 3


# --- show ---------------------------------------------------------------------------------------------


def test_show_in_english_and_chinese_is_the_same_entity():
    chinese, english = run("show", "英伟达"), run("show", "nvidia")
    assert chinese.exit_code == english.exit_code == 0
    assert chinese.stdout == english.stdout
    assert english.stdout.startswith("Nvidia / 英伟达")
    assert "≤ $100B" in english.stdout and "≤ $350B" in english.stdout  # line 41
    assert "line 41: 「英伟达CEO黄仁勋」" in english.stdout


def test_show_gives_conditions_and_derivations():
    out = run("show", "软银").stdout
    assert "if OpenAI completes its restructuring by year end; otherwise $12.5B" in out
    assert "derived: the $30B total less the $22.5B second tranche" in out


def test_show_json():
    data = json.loads(run("show", "Anthropic", "--format", "json").stdout)
    assert data["label_zh"] == "Anthropic"
    shares = {(c["segment"], c["figure"]["text"]) for c in data["claims"] if c["metric"] == "market share"}
    assert shares == {("code generation", "42%"), ("enterprise (B2B) AI users", "32%")}


def test_show_suggests_close_names():
    result = run("show", "Nvidea")
    assert result.exit_code == 2
    assert result.stderr.strip() == "kg: error: no entity named 'Nvidea'; did you mean: Nvidia?"


# --- errors -------------------------------------------------------------------------------------------


def test_sparql_syntax_error_is_one_line_with_position():
    result = run("query", "SELECT ?x WHERE {\n  ?x kg:payer ?y\n  FILTER(?y = ) }")
    assert result.exit_code == 2
    message = result.stderr.strip()
    assert message.startswith("kg: error: SPARQL syntax error at line 3, column ")
    assert "FILTER(?y = )" in message and "\n" not in message


def test_unknown_prefix_is_named():
    result = run("query", "SELECT ?x WHERE { ?x foo:bar ?y }")
    assert result.exit_code == 2 and "unknown prefix foo:" in result.stderr


def test_unknown_stored_query_lists_the_names():
    result = run("query", "circular")
    assert result.exit_code == 2
    assert "no stored query named 'circular'" in result.stderr and "circular-deals" in result.stderr


def test_missing_query_file_and_data_file():
    assert run("query", "nope/missing.rq").stderr.strip() == "kg: error: nope/missing.rq: no such query file"
    result = run("query", "people", "--data", "missing.ttl")
    assert result.exit_code == 2 and "missing.ttl" in result.stderr


def test_bad_param_and_format_are_usage_errors():
    assert run("query", "people", "--param", "oops").exit_code == 2
    assert "no variable ?nothing" in run("query", "people", "--param", "nothing=1").stderr
    assert run("query", "people", "--format", "xml").exit_code == 2
    assert "no entity named 'Antropic'" in run("query", "suppliers", "--param", "company=Antropic").stderr


def test_timeout_stops_the_query_with_its_own_exit_code():
    heavy = "SELECT (COUNT(*) AS ?n) WHERE { ?a ?b ?c . ?d ?e ?f . ?g ?h ?i }"
    process = subprocess.run([sys.executable, "-m", "kg", "query", "--timeout", "0.5", heavy],
                             capture_output=True, text=True, timeout=120)
    assert process.returncode == 3
    assert process.stderr.strip() == "kg: error: query stopped: it ran over the 0.5 s time limit"
    assert "Traceback" not in process.stderr


# --- export, stats, --data ----------------------------------------------------------------------------


@pytest.mark.parametrize("fmt, parser", [("turtle", "turtle"), ("nt", "nt"), ("jsonld", "json-ld")])
def test_export_round_trips(tmp_path, fmt, parser):
    target = tmp_path / f"out.{fmt}"
    result = run("export", "--format", fmt, "-o", str(target))
    assert result.exit_code == 0, result.output
    exported = Graph().parse(target, format=parser)
    assert isomorphic(exported, load_graph())


def test_export_to_a_missing_folder_writes_nothing(tmp_path):
    result = run("export", "-o", str(tmp_path / "no" / "out.ttl"))
    assert result.exit_code == 2 and "no such folder" in result.stderr
    assert not (tmp_path / "no").exists()


def test_stats_counts_what_the_article_has():
    data = json.loads(run("stats", "--format", "json").stdout)
    assert data["facts"]["role assignment"] == 6  # Altman, Huang, Su, Liberatore ×2, Musk
    assert data["deals"]["funding round"] == 1 and data["deals"]["equity option or warrant"] == 1
    assert data["sources"]["documents"] == 1
    assert data["triples"] == len(load_graph())


def test_data_files_join_the_bundled_graph(tmp_path):
    extra = tmp_path / "more.ttl"
    extra.write_text("""
@prefix kg: <https://w3id.org/aimoney/ontology#> .
@prefix kgd: <https://w3id.org/aimoney/id/> .
@prefix ex: <https://example.org/> .
ex:Mistral a kg:AILab ; rdfs:label "Mistral AI"@en , "米斯特拉尔"@zh .
""".replace("rdfs:label", "<http://www.w3.org/2000/01/rdf-schema#label>"), encoding="utf-8")
    result = run("show", "米斯特拉尔", "--data", str(extra))
    assert result.exit_code == 0 and result.stdout.startswith("Mistral AI / 米斯特拉尔")
    group_level = run("--data", str(extra), "show", "mistral ai")
    assert group_level.exit_code == 0


def test_queries_lists_every_stored_query():
    out = run("queries").stdout
    for path in (PROJECT_ROOT / "queries").glob("*.rq"):
        assert f"{path.stem}: " in out
    assert "--param company=…  default kgd:OpenAI" in out
