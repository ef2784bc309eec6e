"""`kg validate` through the real CLI: clean on the shipped data, and one readable line per problem on
broken fixtures, with exit 1 for violations and 2 for files that do not parse."""

from __future__ import annotations

from pathlib import Path

import pytest
from click.testing import CliRunner

from kg.cli import main

FIXTURES = Path(__file__).parent / "fixtures" / "broken"


def run(*args):
    return CliRunner().invoke(main, list(args))


def test_shipped_data_is_valid():
    result = run("validate")
    assert result.exit_code == 0, result.output
    assert result.stdout == ""
    assert "ok:" in result.stderr


@pytest.mark.parametrize("fixture, node, prop, message", [
    ("missing-currency.ttl", "kgd:deal-test-no-currency/kg:amount", "schema:currency", "amount without a currency"),
    ("missing-source.ttl", "kgd:claim-test-no-source", "kg:source", "fact without a source"),
    ("bad-quote.ttl", "kgd:claim-test-bad-quote/kg:source", "kg:quote", "does not occur in line 40"),
    ("no-parties.ttl", "kgd:deal-test-no-parties", "-", "deal without its parties"),
    ("no-parties.ttl", "kgd:deal-test-no-parties", "kg:modality", "unknown modality"),
    ("no-parties.ttl", "kgd:deal-test-no-parties/kg:amount", "kg:figureKind", "unknown or missing figure kind"),
    ("no-parties.ttl", "kgd:deal-test-no-parties/kg:amount", "schema:value", "must be exactly one xsd:decimal"),
])
def test_each_violation_is_one_line_naming_node_property_and_problem(fixture, node, prop, message):
    result = run("validate", "--data", str(FIXTURES / fixture))
    assert result.exit_code == 1, result.output
    lines = result.stdout.splitlines()
    matching = [line for line in lines if line.split("  ")[:2] == [node, prop] and message in line]
    assert len(matching) == 1, lines
    assert "Traceback" not in result.output


def test_violation_count_goes_to_stderr():
    result = run("validate", "--data", str(FIXTURES / "no-parties.ttl"))
    assert result.stderr.strip().endswith("4 violations")
    assert len(result.stdout.splitlines()) == 4


def test_turtle_syntax_error_names_file_line_and_column():
    result = run("validate", "--data", str(FIXTURES / "syntax-error.ttl"))
    assert result.exit_code == 2
    assert result.stdout == ""
    message = result.stderr.strip()
    assert message.startswith("kg: error: ") and "syntax-error.ttl:5:27: syntax error" in message
    assert "\n" not in message and "Traceback" not in result.output


def test_missing_file_is_one_line():
    result = run("validate", "--data", "no/such/file.ttl")
    assert result.exit_code == 2
    assert result.stderr.strip() == "kg: error: no/such/file.ttl: no such file"


def test_debug_shows_the_traceback():
    result = run("--debug", "validate", "--data", str(FIXTURES / "syntax-error.ttl"))
    assert result.exit_code != 0 and result.exception is not None


def test_local_copy_outside_the_project_is_refused(tmp_path):
    hostile = tmp_path / "hostile.ttl"
    hostile.write_text("""
@prefix kg: <https://w3id.org/aimoney/ontology#> .
@prefix kgd: <https://w3id.org/aimoney/id/> .
kgd:doc a kg:SourceDocument ; kg:localCopy "../../../../etc/passwd" .
kgd:stmt a kg:Statement ; kg:about kgd:OpenAI ; kg:statementType kg:Outlook ; kg:summary "x"@en ;
    kg:source [ kg:document kgd:doc ; kg:line 1 ; kg:quote "root" ] .
""", encoding="utf-8")
    result = run("validate", "--data", str(hostile))
    assert result.exit_code == 1
    assert "outside the project folder" in result.stdout


def test_the_docs_example_of_your_own_data_is_valid():
    """tests/fixtures/flows/new_loop.ttl is the docs' example of adding your own data: it must validate,
    quotes included (they are checked against its own made-up source text)."""
    result = run("validate", "--data", str(FIXTURES.parent / "flows" / "new_loop.ttl"))
    assert result.exit_code == 0, result.output
    assert "every quote found in its line" in result.output
