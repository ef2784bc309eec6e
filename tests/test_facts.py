"""The data itself: every figure of the article is in the graph with its value, kind and line; every fact
has provenance whose quote occurs verbatim in its line; Wikidata links come only from the checked list;
the data round-trips through JSON-LD.

The FIGURES table below was written by reading sources/article.zh.txt line by line, not from the
program's output: (line, value, currency or unit, kind, what it is).
"""

from __future__ import annotations

import csv
from decimal import Decimal
from pathlib import Path

import pytest
from rdflib import Graph, URIRef
from rdflib.compare import isomorphic
from rdflib.namespace import OWL, RDF, RDFS

from kg.graph import KG, KGD, PROJECT_ROOT, SCHEMA, load_graph, subclasses

ARTICLE = (PROJECT_ROOT / "sources" / "article.zh.txt").read_text(encoding="utf-8").split("\n")

B = Decimal(10) ** 9
M = Decimal(10) ** 6

FIGURES = [
    # line, value, currency or unit, kind, what
    (1, Decimal(2), "YR", "LowerBound", "两年多: a little over two years since ChatGPT's launch"),
    (1, 800 * M, "NUM", "Exact", "ChatGPT weekly active users 8亿"),
    (1, 13 * B, "USD", "Approximate", "OpenAI ARR 约130亿美元 (projected)"),
    (1, Decimal(30), "PERCENT", "Approximate", "约30% of OpenAI revenue from businesses"),
    (1, Decimal(20), "USD", "Exact", "ChatGPT Plus 每月20美元"),
    (1, Decimal(200), "USD", "Exact", "ChatGPT Pro 200美元"),
    (1, Decimal("22.5") * B, "USD", "Exact", "SoftBank approves 225亿美元"),
    (1, Decimal("12.5") * B, "USD", "Exact", "falls to 125亿美元 if no restructuring"),
    (1, 1000 * B, "USD", "OrderOfMagnitude", "万亿美元 chip purchase agreements"),
    (3, 800 * M, "NUM", "Exact", "周活用户达到8亿"),
    (3, 13 * B, "USD", "Approximate", "ARR 预计约130亿美元"),
    (3, Decimal(30), "PERCENT", "Approximate", "企业客户贡献约30%"),
    (3, Decimal(2), "YR", "LowerBound", "在短短两年多里"),
    (6, Decimal("22.5") * B, "USD", "Exact", "225亿美元投资"),
    (6, 10 * B, "USD", "Exact", "减少100亿美元"),
    (6, Decimal("12.5") * B, "USD", "Exact", "至125亿美元"),
    (7, 1000 * B, "USD", "OrderOfMagnitude", "万亿美元芯片采购协议"),
    (12, Decimal(80), "PERCENT", "Approximate", "Anthropic 约80% revenue from businesses"),
    (12, Decimal(300000), "NUM", "Exact", "Anthropic 30万 business customers"),
    (13, 7 * B, "USD", "Approximate", "Anthropic ARR 约70亿美元"),
    (13, 9 * B, "USD", "Exact", "Anthropic ARR 预计年底达90亿美元"),
    (13, Decimal(50), "PERCENT", "Approximate", "接近OpenAI的一半"),
    (15, Decimal(42), "PERCENT", "Exact", "Claude 42% of code generation"),
    (15, Decimal(21), "PERCENT", "Exact", "OpenAI 21% of code generation"),
    (16, Decimal(32), "PERCENT", "Exact", "Anthropic 32% of B2B AI users"),
    (16, Decimal(25), "PERCENT", "Exact", "OpenAI 25% of B2B AI users"),
    (19, Decimal(3), "PERCENT", "Approximate", "约3% of individual users pay (Menlo Ventures)"),
    (29, 30 * B, "USD", "Exact", "SoftBank 300亿美元 in two stages"),
    (29, Decimal("22.5") * B, "USD", "Exact", "225亿美元 released after restructuring"),
    (29, Decimal("7.5") * B, "USD", "Exact", "first tranche, derived: 300亿 − 225亿"),
    (30, 41 * B, "USD", "Exact", "round totals 410亿美元"),
    (30, 260 * B, "USD", "Exact", "pre-money valuation 2600亿美元"),
    (31, 16 * B, "USD", "Exact", "compute spending this year 160亿美元"),
    (31, 40 * B, "USD", "Exact", "compute spending next year 400亿美元"),
    (31, Decimal("7.6") * B, "USD", "Exact", "cash at end of last year 76亿美元"),
    (31, 8 * B, "USD", "LowerBound", "burn this year 超80亿美元"),
    (31, 17 * B, "USD", "Exact", "burn next year 170亿美元"),
    (32, 500 * B, "USD", "Exact", "secondary-sale valuation 5000亿美元"),
    (34, 100 * B, "USD", "LowerBound", "nonprofit holds 至少1000亿美元 of equity"),
    (35, 1000 * B, "USD", "OrderOfMagnitude", "价值万亿美元 long-term agreements"),
    (39, Decimal("11.9") * B, "USD", "Exact", "CoreWeave 119亿美元 compute contract"),
    (39, 350 * M, "USD", "Exact", "3.5亿美元 of CoreWeave shares"),
    (39, 22 * B, "USD", "Exact", "contract expanded to 220亿美元"),
    (41, 100 * B, "USD", "UpperBound", "Nvidia invests 最高1000亿美元"),
    (41, 350 * B, "USD", "UpperBound", "OpenAI buys 最多3500亿美元 of GPUs"),
    (43, Decimal(6), "GigaW", "Exact", "6GW of AMD chips"),
    (43, Decimal("0.01"), "USD", "Exact", "每股1美分"),
    (43, Decimal(10), "PERCENT", "UpperBound", "最多10% of AMD's shares"),
    (45, 300 * B, "USD", "Approximate", "Oracle 约3000亿美元"),
    (45, Decimal(5), "YR", "Exact", "为期五年"),
    (46, Decimal(1), "GigaW", "Exact", "每周新增1吉瓦 (per week)"),
    (48, 10 * B, "USD", "OrderOfMagnitude", "数百亿美元 a year on cloud infrastructure"),
    (50, 1 * B, "USD", "OrderOfMagnitude", "数十亿美元 from Google and Amazon"),
    (51, Decimal(1000000), "NUM", "LowerBound", "上百万 TPUs"),
    (51, 10 * B, "USD", "OrderOfMagnitude", "合同价值数百亿美元"),
    (56, Decimal(3), "NUM", "Approximate", "收入翻三番 (about threefold)"),
    (56, 13 * B, "USD", "Approximate", "约130亿美元 revenue this year"),
    (56, 100 * B, "USD", "Exact", "2028年 1000亿美元 target"),
    (57, Decimal(10), "YR", "Approximate", "Google, Meta took 近十年"),
    (58, 100 * B, "USD", "LowerBound", "累计烧钱超1000亿美元"),
    (58, Decimal(2029), "CalendarYear", "Exact", "profit possibly only in 2029"),
]


@pytest.fixture(scope="module")
def graph() -> Graph:
    return load_graph()


def _figure_nodes(graph):
    """Every figure node with its (value, currency-or-unit, kind, lines)."""
    for node in set(graph.subjects(SCHEMA.value, None)):
        value = graph.value(node, SCHEMA.value).toPython()
        currency = graph.value(node, SCHEMA.currency)
        unit = graph.value(node, SCHEMA.unitCode)
        measure = str(currency) if currency is not None else str(unit).rsplit("/", 1)[-1].rsplit("#", 1)[-1]
        kind = str(graph.value(node, KG.figureKind)).rsplit("#", 1)[-1]
        lines = {int(graph.value(span, KG.line)) for span in graph.objects(node, KG.source)}
        yield node, Decimal(str(value)), measure, kind, lines


@pytest.mark.parametrize("line, value, measure, kind, what", FIGURES, ids=[f[4] for f in FIGURES])
def test_every_figure_of_the_article_is_in_the_graph(graph, line, value, measure, kind, what):
    matches = [node for node, v, m, k, lines in _figure_nodes(graph)
               if v == value and m == measure and line in lines]
    assert matches, f"no figure {value} {measure} stated on line {line} ({what})"
    kinds = {str(graph.value(n, KG.figureKind)).rsplit("#", 1)[-1] for n in matches}
    assert kinds == {kind}, f"{what}: kind {kinds}, expected {kind}"


def test_the_table_covers_every_figure_in_the_graph(graph):
    expected = {(line, value, measure) for line, value, measure, _kind, _what in FIGURES}
    for node, value, measure, _kind, lines in _figure_nodes(graph):
        assert any((line, value, measure) in expected for line in lines), \
            f"figure {value} {measure} on lines {sorted(lines)} is not in the article table"


def test_a_figure_stated_several_times_is_one_fact_with_several_sources(graph):
    arr = KGD["claim-openai-arr-2025"]
    assert {int(graph.value(s, KG.line)) for s in graph.objects(arr, KG.source)} == {1, 3, 56}
    arr_claims = [c for c in graph.subjects(KG.metric, KG.AnnualRecurringRevenue) if (c, KG.about, KGD.OpenAI) in graph]
    assert arr_claims == [arr]


def test_the_derived_tranche_says_how_and_from_what(graph):
    tranche = graph.value(KGD["deal-softbank-openai-tranche-1"], KG.amount)
    assert graph.value(tranche, KG.derivedBy) is not None
    parents = set(graph.objects(tranche, URIRef("http://www.w3.org/ns/prov#wasDerivedFrom")))
    values = {graph.value(p, SCHEMA.value).toPython() for p in parents}
    assert values == {Decimal("30000000000"), Decimal("22500000000")}


def test_every_fact_bearing_node_has_a_source_line_and_quote(graph):
    fact_nodes = {n for cls in subclasses(graph, KG.Fact) for n in graph.subjects(RDF.type, cls)}
    fact_nodes |= {n for prop in (KG.amount, KG.figure, KG.quantity, KG.shareOfEquity, KG.pricePerShare,
                                  KG.duration, KG.originalAmount, KG.amountIfConditionFails, KG.reduction)
                   for n in graph.objects(None, prop)}
    assert len(fact_nodes) > 100
    for node in fact_nodes:
        spans = list(graph.objects(node, KG.source))
        assert spans, f"{node} has no kg:source"
        for span in spans:
            assert graph.value(span, KG.document) == KGD.article
            assert isinstance(graph.value(span, KG.line).toPython(), int)
            assert str(graph.value(span, KG.quote)).strip()


def test_every_quote_occurs_verbatim_in_its_line(graph):
    spans = list(graph.subjects(KG.quote, None))
    assert len(spans) > 150
    for span in spans:
        line = int(graph.value(span, KG.line))
        quote = str(graph.value(span, KG.quote))
        assert quote in ARTICLE[line - 1], f"line {line} does not contain {quote!r}"


def test_credits_follow_the_article(graph):
    def credited(line_number, fragment):
        for span in graph.subjects(KG.line, None):
            if int(graph.value(span, KG.line)) == line_number and fragment in str(graph.value(span, KG.quote)):
                agent = graph.value(span, KG.creditedTo)
                if agent is not None:
                    return agent
        return None

    assert credited(39, "119亿美元") == KGD.FinancialTimes
    assert credited(19, "3%") == KGD.MenloVentures
    assert credited(31, "160亿美元") == KGD.PeopleFamiliar
    assert credited(31, "76亿美元") == KGD.PeopleFamiliar
    assert credited(12, "80%") == KGD.Anthropic


def test_wikidata_links_are_exactly_the_checked_ones(graph):
    with open(PROJECT_ROOT / "sources" / "wikidata-ids.tsv", encoding="utf-8") as stream:
        rows = list(csv.DictReader(stream, delimiter="\t"))
    checked = {row["wikidata"] for row in rows}
    linked = {str(o).rsplit("/", 1)[-1] for o in graph.objects(None, OWL.sameAs)}
    assert linked == checked
    for row in rows:
        entity = next(graph.subjects(OWL.sameAs, URIRef(f"http://www.wikidata.org/entity/{row['wikidata']}")))
        labels = {(str(l), l.language) for l in graph.objects(entity, RDFS.label)}
        assert (row["label_en"], "en") in labels and (row["label_zh"], "zh") in labels


def test_entities_have_english_and_chinese_labels(graph):
    for cls in (KG.Organization, KG.Person):
        for sub in [cls] + list(graph.transitive_subjects(RDFS.subClassOf, cls)):
            for entity in graph.subjects(RDF.type, sub):
                langs = {l.language for l in graph.objects(entity, RDFS.label)}
                assert {"en", "zh"} <= langs, entity


def test_own_terms_have_english_and_chinese_labels_and_a_comment():
    ontology = Graph().parse(PROJECT_ROOT / "ontology" / "kg.ttl")
    terms = {s for s in ontology.subjects() if isinstance(s, URIRef) and str(s).startswith(str(KG))}
    assert len(terms) > 100
    for term in terms:
        langs = {l.language for l in ontology.objects(term, RDFS.label)}
        assert {"en", "zh"} <= langs, f"{term} lacks an English or Chinese label"
        assert ontology.value(term, RDFS.comment) is not None, f"{term} has no rdfs:comment"


def test_relative_times_are_resolved_under_the_recorded_assumption(graph):
    relative = {"今年": "2025", "明年": "2026"}
    for node, words in graph.subject_objects(KG.timeExpression):
        if str(words) in relative:
            assert str(graph.value(node, KG.year)) == relative[str(words)], node
        if not str(words).startswith("2024"):  # absolute years need no assumption
            assert graph.value(node, KG.timeAssumption) == KGD["assumption-reporting-year-2025"], node
    cash = KGD["claim-openai-cash-end-2024"]
    assert str(graph.value(cash, KG.asOf)) == "2024-12-31"  # 去年底: end of 2024
    assert str(graph.value(KGD["cond-restructuring"], KG.byDate)) == "2025-12-31"  # 年底


def test_source_document_is_described(graph):
    article = KGD.article
    assert str(graph.value(article, SCHEMA.url)) == "https://www.vpshk.cn/20260117659.html"
    assert str(graph.value(article, SCHEMA.datePublished)) == "2026-01-14"
    assert (PROJECT_ROOT / str(graph.value(article, KG.localCopy))).is_file()
    cited = {str(graph.value(ref, SCHEMA.url)) for ref in graph.objects(article, SCHEMA.citation)}
    assert cited == {"https://www.wsj.com/tech/ai/anthropic-business-model-ai-9e26b4ef",
                     "https://epochai.substack.com/p/openai-is-projecting-unprecedented"}


def test_money_direction_of_the_circular_deals(graph):
    nvidia_invests = KGD["deal-nvidia-openai-investment"]
    assert (nvidia_invests, KG.payer, KGD.Nvidia) in graph and (nvidia_invests, KG.payee, KGD.OpenAI) in graph
    gpus = KGD["deal-openai-nvidia-gpus"]
    assert (gpus, KG.payer, KGD.OpenAI) in graph and (gpus, KG.payee, KGD.Nvidia) in graph
    warrant = KGD["deal-amd-openai-warrant"]
    assert (warrant, KG.grantor, KGD.AMD) in graph and (warrant, KG.grantee, KGD.OpenAI) in graph
    assert (warrant, KG.exchangedFor, KGD["deal-openai-amd-chips"]) in graph


def test_data_round_trips_through_json_ld(graph, tmp_path):
    facts = Graph().parse(PROJECT_ROOT / "facts.ttl")
    jsonld = facts.serialize(format="json-ld")
    back = Graph().parse(data=jsonld, format="json-ld")
    turtle = back.serialize(format="turtle")
    again = Graph().parse(data=turtle, format="turtle")
    assert len(again) == len(facts) > 1500
    assert isomorphic(again, facts)
