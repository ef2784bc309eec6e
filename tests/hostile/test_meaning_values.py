"""Values that would turn totals into nonsense: `kg validate` refuses them, and flows never print them.

The rules (ontology/shapes.ttl): no negative amount; no amount in US dollars above 10^15 (a thousand
trillion: the world's yearly output is about 10^14); no figure beyond ±10^24; a value typed as a number is
a number (not NaN, INF or text); no deal with the same party on both sides, however the data names it.
On data that was not validated, `kg flows`, `cycles`, `trace` and `viz` refuse a figure that is not a
finite number with one line (exit 2) rather than print "Infinity" or "NaN"; a payment to oneself moves
no money and is left out of the flows.

One hostile file holds one deal per case; `kg validate` runs on it once, and each case checks the
violations of its own deal.
"""

from __future__ import annotations

import re

import pytest
from click.testing import CliRunner

from kg.cli import main

HEADER = """
@prefix kg: <https://w3id.org/aimoney/ontology#> .
@prefix kgd: <https://w3id.org/aimoney/id/> .
@prefix schema: <https://schema.org/> .
@prefix rdfs: <http://www.w3.org/2000/01/rdf-schema#> .
@prefix owl: <http://www.w3.org/2002/07/owl#> .
@prefix xsd: <http://www.w3.org/2001/XMLSchema#> .
@prefix unit: <http://qudt.org/vocab/unit/> .
@prefix wd: <http://www.wikidata.org/entity/> .
"""

SOURCE = 'kg:source [ kg:document kgd:hostile-note ; kg:line 1 ; kg:quote "test" ]'


def deal(name: str, value: str, *, payer="kgd:Microsoft", payee="kgd:Anthropic", currency="USD",
         parties=None, extra="") -> str:
    """A complete, otherwise valid investment whose amount is ``value`` (as written in Turtle)."""
    sides = parties or f"kg:payer {payer} ; kg:payee {payee}"
    return (f'kgd:{name} a kg:Investment ; rdfs:label "{name}"@en ; {sides} ; kg:modality kg:Reported ; {SOURCE} ;\n'
            f'    kg:amount [ a kg:MonetaryAmount ; schema:value {value} ; schema:currency "{currency}" ; '
            f'kg:figureKind kg:Exact ; {SOURCE} ] {extra}.\n')


DIGITS_401 = "9" * 401 + ".0"
CASES = {
    # name: (Turtle, the words of the violation expected on that deal, or None when it must be clean)
    "negative-amount": (deal("negative-amount", "-5000000000.0"), "amount is negative"),
    "negative-amount-if-condition-fails": (
        deal("negative-amount-if-condition-fails", "1000000000.0",
             extra='; kg:amountIfConditionFails [ a kg:MonetaryAmount ; schema:value -1.0 ; schema:currency "USD" ; '
                   f'kg:figureKind kg:Exact ; {SOURCE} ] '), "amount is negative"),
    "above-1e15-usd": (deal("above-1e15-usd", "1000000000000001.0"), "above 10^15"),
    "401-digit-amount": (deal("401-digit-amount", DIGITS_401), "beyond 10^24"),
    "nan-typed-decimal": (deal("nan-typed-decimal", '"NaN"^^xsd:decimal'), "not a number"),
    "inf-typed-decimal": (deal("inf-typed-decimal", '"INF"^^xsd:decimal'), "not a number"),
    "text-typed-decimal": (deal("text-typed-decimal", '"twelve billion"^^xsd:decimal'), "exactly one xsd:decimal"),
    "nan-double": (deal("nan-double", '"NaN"^^xsd:double'), "exactly one xsd:decimal"),
    "inf-double": (deal("inf-double", '"INF"^^xsd:double'), "exactly one xsd:decimal"),
    "amount-as-plain-text": (deal("amount-as-plain-text", '"12 billion"'), "exactly one xsd:decimal"),
    "payer-is-payee": (deal("payer-is-payee", "5000000000.0", payer="kgd:Nvidia", payee="kgd:Nvidia"),
                       "payer is also its payee"),
    "payee-is-payer-wikidata-alias": (deal("payee-is-payer-wikidata-alias", "5000000000.0", payer="kgd:Nvidia",
                                           payee="wd:Q182477"), "payer is also its payee"),
    "payer-alias-through-a-chain": (
        deal("payer-alias-through-a-chain", "5000000000.0", payer="kgd:NvidiaCorp", payee="kgd:Nvidia",
             extra=". kgd:NvidiaCorp owl:sameAs wd:Q182477 "), "payer is also its payee"),
    "grantor-is-grantee": (deal("grantor-is-grantee", "5000000000.0", parties="kg:grantor kgd:AMD ; kg:grantee kgd:AMD"),
                           "payer is also its payee"),
    "one-of-two-payers-is-the-payee": (
        deal("one-of-two-payers-is-the-payee", "5000000000.0", parties="kg:payer kgd:Google , kgd:Amazon ; kg:payee kgd:Amazon"),
        "payer is also its payee"),
    "negative-deal-quantity": (
        deal("negative-deal-quantity", "5000000000.0",
             extra=f"; kg:quantity [ a kg:Quantity ; schema:value -6.0 ; schema:unitCode unit:GigaW ; kg:figureKind kg:Exact ; {SOURCE} ] "),
        "quantity, share or duration is negative"),
    "nan-source-line": (deal("nan-source-line", "5000000000.0").replace(
        SOURCE, 'kg:source [ kg:document kgd:hostile-note ; kg:line "NaN"^^xsd:decimal ; kg:quote "test" ]', 1),
        "not a number"),
    # Controls: what a user may write, which must stay clean.
    "exactly-1e15-usd": (deal("exactly-1e15-usd", "1000000000000000.0"), None),
    "zero-amount": (deal("zero-amount", "0.0"), None),
    "1e16-in-another-currency-is-not-judged-in-dollars": (deal("1e16-in-another-currency-is-not-judged-in-dollars",
                                                                "10000000000000000.0", currency="IDR"), None),
    "two-payers-one-payee": (deal("two-payers-one-payee", "5000000000.0",
                                  parties="kg:payer kgd:Google , kgd:Amazon ; kg:payee kgd:Anthropic"), None),
}
NEGATIVE_CLAIM = f"""
kgd:claim-negative-margin a kg:Claim ; kg:about kgd:OpenAI ; kg:metric kg:RevenueGrowthFactor ; kg:modality kg:Reported ; {SOURCE} ;
    kg:figure [ a kg:Quantity ; schema:value -0.5 ; schema:unitCode unit:NUM ; kg:figureKind kg:Exact ; {SOURCE} ] .
"""


def run(*args):
    return CliRunner().invoke(main, list(args))


@pytest.fixture(scope="module")
def hostile_file(tmp_path_factory):
    path = tmp_path_factory.mktemp("meaning") / "hostile.ttl"
    path.write_text(HEADER + "".join(turtle for turtle, _ in CASES.values()) + NEGATIVE_CLAIM, encoding="utf-8")
    return path


@pytest.fixture(scope="module")
def violations(hostile_file) -> dict[str, list[str]]:
    """The violations `kg validate` prints, grouped by the deal (or claim) they are about."""
    result = run("--data", str(hostile_file), "validate")
    assert result.exit_code == 1, result.output
    assert "Traceback" not in result.output
    found: dict[str, list[str]] = {}
    for line in result.stdout.splitlines():
        node = line.split()[0]
        match = re.match(r"kgd:([^/]+)", node)
        found.setdefault(match.group(1) if match else node, []).append(line)
    return found


@pytest.mark.parametrize("name", [n for n, (_, words) in CASES.items() if words is not None])
def test_validate_refuses(name, violations):
    expected = CASES[name][1]
    assert any(expected in line for line in violations.get(name, [])), violations.get(name)


@pytest.mark.parametrize("name", [n for n, (_, words) in CASES.items() if words is None])
def test_validate_accepts(name, violations):
    assert violations.get(name, []) == []


def test_validate_accepts_a_claims_negative_figure(violations):
    assert violations.get("claim-negative-margin", []) == []


def test_the_only_violations_are_the_cases(violations):
    """Nothing else in the bundled data is caught by the new rules (the bundled data stays valid)."""
    assert set(violations) <= set(CASES) | {"claim-negative-margin"}, sorted(set(violations) - set(CASES))


# ------------------------------------------------------------------ flows on data that was not validated

UNUSABLE = {"401-digit": DIGITS_401, "inf-double": '"INF"^^xsd:double', "nan-decimal": '"NaN"^^xsd:decimal'}


@pytest.fixture(scope="module")
def unusable_files(tmp_path_factory):
    folder = tmp_path_factory.mktemp("unusable")
    files = {}
    for name, value in UNUSABLE.items():
        files[name] = folder / f"{name}.ttl"
        files[name].write_text(HEADER + deal("unusable", value, payer="kgd:Nvidia", payee="kgd:AMD"), encoding="utf-8")
    return files


@pytest.mark.parametrize("value", list(UNUSABLE))
@pytest.mark.parametrize("command", [["flows"], ["cycles"], ["trace", "Nvidia"], ["viz", "-o", "-"]])
def test_flows_refuse_a_figure_that_is_not_a_finite_number(command, value, unusable_files):
    result = run("--data", str(unusable_files[value]), *command)
    assert result.exit_code == 2
    assert "Infinity" not in result.stdout and "NaN" not in result.stdout
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("kg: error: ") and "not a finite number" in lines[0], result.stderr


def test_a_payment_to_oneself_is_no_circular_deal_and_moves_no_money(tmp_path):
    data = tmp_path / "self.ttl"
    data.write_text(HEADER + deal("self-payment", "5000000000.0", payer="kgd:Nvidia", payee="kgd:Nvidia"), encoding="utf-8")
    cycles = run("--data", str(data), "cycles", "--format", "json")
    assert cycles.exit_code == 0, cycles.output
    assert "Nvidia → Nvidia" not in run("--data", str(data), "cycles").stdout
    flows_with, flows_without = (run(*extra, "flows", "--format", "json") for extra in (["--data", str(data)], []))
    assert flows_with.exit_code == 0 and flows_with.stdout == flows_without.stdout
