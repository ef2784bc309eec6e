"""Control characters in data never reach the terminal raw: every text output shows them escaped,
while JSON, CSV and TSV keep them as data. In-process (CliRunner): the property is the output text.

The hostile data: an investor whose name holds an OSC sequence that would retitle the terminal
window (ESC ] 0 ; … BEL), a screen-clearing CSI (ESC [ 2 J) and a right-to-left override (U+202E),
in a circular pair of deals with Nvidia.
"""

from __future__ import annotations

import csv
import io
import json

import pytest
from click.testing import CliRunner

from kg.cli import main

NAME = "Evil\x1b]0;pwned\x07 Corp\x1b[2J\u202e"
SHOWN = "Evil\\x1b]0;pwned\\x07 Corp\\x1b[2J\\u202e"
RAW = ("\x1b", "\x07", "\u202e")

HOSTILE_TTL = """@prefix kg: <https://w3id.org/aimoney/ontology#> .
@prefix kgd: <https://w3id.org/aimoney/id/> .
@prefix rdfs: <http://www.w3.org/2000/01/rdf-schema#> .
@prefix schema: <https://schema.org/> .
kgd:Evil a kg:Investor ; rdfs:label "%(name)s"@en ; kg:alias "%(name)s" .
kgd:deal-evil-nvidia a kg:Investment ; rdfs:label "%(name)s invests in Nvidia"@en ;
    kg:payer kgd:Evil ; kg:payee kgd:Nvidia ; kg:modality kg:Reported ; kg:exchangedFor kgd:deal-nvidia-evil ;
    kg:amount [ a kg:MonetaryAmount ; schema:value 1000000000.0 ; schema:currency "USD" ; kg:figureKind kg:Exact ;
        kg:source [ kg:document kgd:article ; kg:line 41 ; kg:quote "%(name)s" ] ] ;
    kg:source [ kg:document kgd:article ; kg:line 41 ; kg:quote "%(name)s" ] .
kgd:deal-nvidia-evil a kg:ChipPurchase ; rdfs:label "Nvidia sells chips to %(name)s"@en ;
    kg:payer kgd:Nvidia ; kg:payee kgd:Evil ; kg:modality kg:Reported ;
    kg:amount [ a kg:MonetaryAmount ; schema:value 2000000000.0 ; schema:currency "USD" ; kg:figureKind kg:Exact ;
        kg:source [ kg:document kgd:article ; kg:line 41 ; kg:quote "英伟达" ] ] ;
    kg:source [ kg:document kgd:article ; kg:line 41 ; kg:quote "英伟达" ] .
""" % {"name": NAME.replace("\x1b", "\\u001b").replace("\x07", "\\u0007").replace("\u202e", "\\u202e")}


@pytest.fixture(scope="module")
def hostile_data(tmp_path_factory):
    path = tmp_path_factory.mktemp("terminal") / "hostile.ttl"
    path.write_text(HOSTILE_TTL, encoding="utf-8")
    return str(path)


def run(*args):
    return CliRunner().invoke(main, list(args))


def assert_escaped(text):
    for char in RAW:
        assert char not in text, f"raw {char!r} reached the terminal: {text[:300]!r}"
    assert SHOWN in text, text[:500]


@pytest.mark.parametrize("args", [
    ["show", "Evil"],
    ["query", "SELECT ?name WHERE { kgd:Evil rdfs:label ?name }"],
    ["query", "SELECT ?name WHERE { kgd:Evil rdfs:label ?name }", "--format", "md"],
    ["trace", "kgd:Evil", "Nvidia"],
    ["cycles", "--max-length", "2"],
    ["flows", "kgd:Evil"],
    ["validate"],
], ids=lambda args: " ".join(args[:3])[:40])
def test_text_outputs_escape_control_characters(hostile_data, args):
    result = run("--data", hostile_data, *args)
    assert result.exception is None or isinstance(result.exception, SystemExit), result.exception
    assert result.exit_code in (0, 1), result.output
    assert_escaped(result.stdout)
    for char in RAW:
        assert char not in result.stderr


def test_error_line_escapes_the_name_it_quotes():
    result = run("show", "x\x1b]0;pwned\x07")
    assert result.exit_code == 2
    assert result.stderr == "kg: error: no entity named 'x\\x1b]0;pwned\\x07'\n"


def test_json_keeps_the_characters_as_data(hostile_data):
    result = run("--data", hostile_data, "query", "SELECT ?name WHERE { kgd:Evil rdfs:label ?name }", "--format", "json")
    values = [b["name"]["value"] for b in json.loads(result.stdout)["results"]["bindings"]]
    assert values == [NAME]
    shown = json.loads(run("--data", hostile_data, "show", "Evil", "--format", "json").stdout)
    assert shown["label_en"] == NAME


@pytest.mark.parametrize("fmt", ["csv", "tsv"])
def test_csv_and_tsv_keep_the_characters_as_data(hostile_data, fmt):
    result = run("--data", hostile_data, "query", "SELECT ?name WHERE { kgd:Evil rdfs:label ?name }", "--format", fmt)
    rows = list(csv.reader(io.StringIO(result.stdout), delimiter="," if fmt == "csv" else "\t"))
    assert NAME in rows[1][0]
