"""kg.bulk: reading properties of a whole graph at once, the same on rdflib's store and on Oxigraph;
and the bulk readers of kg.figures and kg.entities, which must agree with the one-by-one readers.

Expected values come from the article (sources/article.zh.txt) as facts.ttl records it: line 41,
Nvidia (英伟达) invests up to $100B in OpenAI (投资最高1000亿美元); line 43, OpenAI buys 6 GW of AMD
chips (相当于6GW算力的AMD芯片).
"""

from __future__ import annotations

import dataclasses
from decimal import Decimal

import pytest
from rdflib import BNode, Graph, Literal, URIRef
from rdflib.namespace import RDF, RDFS, XSD

from kg.bulk import Lit, PropertyTable, plain, text
from kg.entities import display_name, display_name_in
from kg.figures import FIGURE_PROPERTIES, figure_reader, read_figure, read_sources, sources_reader
from kg.graph import KG, KGD, SCHEMA, load_graph

NVIDIA_DEAL = str(KGD["deal-nvidia-openai-investment"])
AMD_DEAL = str(KGD["deal-openai-amd-chips"])


@pytest.fixture(scope="module", params=["default", "oxigraph"])
def graph(request):
    return load_graph(store=request.param)


@pytest.mark.parametrize("rows", [False, True])
def test_a_deal_and_its_figure(graph, rows):
    table = (PropertyTable(graph, rows=True) if rows else
             PropertyTable(graph, [RDFS.label, KG.payer, KG.payee, KG.amount, KG.quantity, *FIGURE_PROPERTIES]))
    assert sorted(table.objects(str(KGD.Nvidia), RDFS.label)) == [Lit("Nvidia", "en"), Lit("英伟达", "zh")]
    assert (table.value(NVIDIA_DEAL, KG.payer), table.value(NVIDIA_DEAL, KG.payee)) == (str(KGD.Nvidia),
                                                                                       str(KGD.OpenAI))
    figure = table.value(NVIDIA_DEAL, KG.amount)
    assert figure.startswith("_:")  # a blank node
    assert Decimal(table.value(figure, SCHEMA.value).text) == Decimal(100_000_000_000)
    assert table.value(figure, KG.figureKind) == str(KG.UpperBound)
    assert [(s.line, s.quote) for s in sources_reader(table)(figure)] == [(41, "投资最高1000亿美元")]
    six_gw = figure_reader(table)(table.value(AMD_DEAL, KG.quantity))
    assert (six_gw.text, six_gw.unit, [s.line for s in six_gw.sources]) == ("6 GW", "GigaW", [43])
    assert table.objects(str(KGD.Nvidia), KG.payer) == [] and table.value(str(KGD.Nvidia), KG.payer) is None


def test_figures_sources_and_names_agree_with_the_one_by_one_readers(graph):
    table = PropertyTable(graph, [RDFS.label, *FIGURE_PROPERTIES])
    read, spans = figure_reader(table), sources_reader(table, keep_unquoted=True)
    figures = set(graph.subjects(SCHEMA.value, None))  # deals' amounts and terms, claims' figures
    assert len(figures) > 20
    for node in figures:
        expected = read_figure(graph, node)
        assert dataclasses.replace(read(plain(node)), node=node) == expected
        assert spans(plain(node)) == read_sources(graph, node, keep_unquoted=True)
    named = set(graph.subjects(RDFS.label, None))
    assert len(named) > 50
    for node in named:
        for lang, fallback in (("en", True), ("zh", False), ("fr", True)):
            assert display_name_in(table, plain(node), lang, fallback=fallback) == display_name(graph, node, lang,
                                                                                                fallback=fallback)


@pytest.mark.parametrize("store", ["default", "oxigraph"])
def test_values_are_what_rdflib_reads_on_the_same_store(store):
    """Oxigraph is read without rdflib; its values must still be what rdflib's API gives there."""
    from kg.graph import new_graph
    from kg.store import new_oxigraph_graph

    graph = new_oxigraph_graph() if store == "oxigraph" else new_graph()
    p, s, blank = URIRef("http://example.org/p"), URIRef("http://example.org/s"), BNode()
    for subject, value in ((s, Literal("1e1", datatype=XSD.double)), (s, Literal("0122", datatype=XSD.integer)),
                           (s, Literal("12.50", datatype=XSD.decimal)), (s, Literal("x", lang="en")),
                           (s, Literal("plain")), (s, blank), (blank, URIRef("http://example.org/o")),
                           (s, Literal("2025-01-01T00:00:00Z", datatype=XSD.dateTime))):
        graph.add((subject, p, value))
    for table in (PropertyTable(graph, [p]), PropertyTable(graph, rows=True)):
        for subject in (s, blank):
            assert table.objects(plain(subject), p) == [plain(o) for o in graph.objects(subject, p)]
    assert Lit("10.0") in PropertyTable(graph, [p]).objects(plain(s), p)  # the double 1e1, as rdflib writes it
    assert text(plain(blank)) == str(blank) and plain(Literal("10.0", datatype=XSD.double)) == Lit("10.0")


def test_column_where_reads_only_the_values_kept(graph):
    table = PropertyTable(graph)
    deals = table.column_where(RDF.type, lambda cls: cls == str(KG.ChipPurchase))
    assert deals[AMD_DEAL] == [str(KG.ChipPurchase)] and str(KGD.Nvidia) not in deals
    assert all(classes == [str(KG.ChipPurchase)] for classes in deals.values())
    full = PropertyTable(graph, [RDF.type]).column_where(RDF.type, lambda cls: cls == str(KG.ChipPurchase))
    assert full == deals


def test_a_graph_is_not_changed():
    graph = load_graph(store="oxigraph")
    before = len(graph)
    PropertyTable(graph, [RDF.type, RDFS.label], rows=True).objects(NVIDIA_DEAL, KG.amount)
    assert len(graph) == before and isinstance(graph, Graph)
