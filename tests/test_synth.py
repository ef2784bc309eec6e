"""kg synth: deterministic synthetic deal networks that validate and have a known number of loops."""

from __future__ import annotations

import pytest
from click.testing import CliRunner
from rdflib import Graph

from kg.cli import main
from kg.graph import KG, RDF, load_graph, sparql_prologue

CIRCULAR = sparql_prologue() + """
SELECT DISTINCT ?d1 ?d2 WHERE {
  ?d1 kg:payer ?a ; kg:payee ?b .
  ?d2 kg:payer|kg:grantor ?b ; kg:payee|kg:grantee ?a .
  FILTER(STRSTARTS(STR(?d1), STR(kgd:synth-)))
}"""


@pytest.fixture(scope="module")
def synthetic(tmp_path_factory):
    path = tmp_path_factory.mktemp("synth") / "s.ttl"
    result = CliRunner().invoke(main, ["synth", "--deals", "400", "--seed", "5", "-o", str(path)])
    assert result.exit_code == 0, result.output
    return path


def test_same_seed_same_file_other_seed_other_file(tmp_path, synthetic):
    again, other = tmp_path / "again.ttl", tmp_path / "other.ttl"
    assert CliRunner().invoke(main, ["synth", "--deals", "400", "--seed", "5", "-o", str(again)]).exit_code == 0
    assert CliRunner().invoke(main, ["synth", "--deals", "400", "--seed", "6", "-o", str(other)]).exit_code == 0
    assert again.read_bytes() == synthetic.read_bytes()
    assert other.read_bytes() != synthetic.read_bytes()


def test_synthetic_network_validates_under_our_shapes(synthetic):
    result = CliRunner().invoke(main, ["validate", "--data", str(synthetic)])
    assert result.exit_code == 0, result.output


def test_synthetic_network_has_the_promised_counts_and_kinds(synthetic):
    graph = Graph().parse(synthetic)  # rdflib's own Turtle parser reads it too
    deals = set(graph.query(sparql_prologue() + "SELECT ?d WHERE { ?d a ?k . FILTER(STRSTARTS(STR(?d), STR(kgd:synth-deal-))) }"))
    assert len(deals) == 400
    assert len(list(graph.subjects(RDF.type, KG.CircularArrangement))) == 400 // 20
    kinds = set(graph.objects(None, RDF.type))
    for kind in (KG.Investment, KG.InvestmentTranche, KG.FundingRound, KG.ChipPurchase, KG.CloudContract,
                 KG.EquityOption, KG.ShareGrant, KG.Partnership):
        assert kind in kinds, kind
    figure_kinds = set(graph.objects(None, KG.figureKind))
    assert {KG.Exact, KG.UpperBound, KG.Approximate, KG.OrderOfMagnitude} <= figure_kinds
    assert any(graph.triples((None, KG.amountIfConditionFails, None)))
    assert any(graph.triples((None, KG.modality, KG.Conditional)))
    # every deal has a source span
    for (deal,) in deals:
        assert graph.value(deal, KG.source) is not None, deal


def test_only_the_designed_pairs_are_circular(synthetic):
    # 400 deals → 20 designed pairs; ordinary deals never reverse another deal, so the two-deal
    # join finds exactly those pairs (one or both directions each), on the Oxigraph path.
    graph = load_graph([synthetic], store="oxigraph")
    pairs = {frozenset(row) for row in graph.query(CIRCULAR)}
    designed = {frozenset(graph.objects(loop, graph.namespace_manager.expand_curie("schema:hasPart")))
                for loop in graph.subjects(RDF.type, KG.CircularArrangement)
                if "synth-loop" in str(loop)}
    assert len(designed) == 20
    assert pairs == designed


def test_too_few_organizations_is_one_line(tmp_path):
    result = CliRunner().invoke(main, ["synth", "--deals", "10000", "--orgs", "20", "-o", str(tmp_path / "x.ttl")])
    assert result.exit_code == 2 and "too few" in result.output and "Traceback" not in result.output
