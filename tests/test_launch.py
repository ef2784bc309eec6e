"""The ``kg`` command's short way (kg.launch): ``kg --store DIR query NAME --format csv`` answered from the
stored answer, before click and rdflib are imported, writes the bytes the usual way writes, and every
case it must not answer (another option, a changed source file, a large answer, an error) still goes
the usual way. The processes are real ``python -m kg`` runs, as a user's shell starts them.

The expected row of ``people`` is from the article (line 41: "英伟达CEO黄仁勋", Nvidia's chief
executive Jensen Huang); the hostile label is this file's own data.
"""

from __future__ import annotations

import csv
import io
import os
import subprocess
import sys
from pathlib import Path

import pytest

from kg.queries import stored_queries

QUERIES = [query.name for query in stored_queries()]
#: Runs kg.launch as the `kg` script does, and says on stderr whether rdflib was imported by the end.
RUN = ("import atexit, sys\n"
       "atexit.register(lambda: sys.stderr.write('[rdflib imported]\\n' if 'rdflib' in sys.modules else ''))\n"
       "from kg.launch import main\n"
       "main()\n")
HOSTILE_LABEL = 'Ann "Q", B\nC\tD \u202eevil'
EXTRA = """@prefix kg: <https://w3id.org/aimoney/ontology#> .
@prefix kgd: <https://w3id.org/aimoney/id/> .
@prefix org: <http://www.w3.org/ns/org#> .
@prefix rdfs: <http://www.w3.org/2000/01/rdf-schema#> .
kgd:launch-test-person a kg:Person ; rdfs:label "%s"@en , "测试"@zh .
kgd:launch-test-role a kg:RoleAssignment ; org:member kgd:launch-test-person ;
    org:organization kgd:Nvidia ; org:role kg:ChiefExecutive ;
    kg:source [ kg:document kgd:article ; kg:line 41 ; kg:quote "a,b" ] .
"""


def kg(*args: str, engine: bool = False, stdout=subprocess.PIPE) -> subprocess.CompletedProcess:
    env = dict(os.environ, KG_STORED_ANSWERS="0" if engine else "1")
    env.pop("KG_ENDPOINT", None)
    return subprocess.run([sys.executable, "-c", RUN, *args], env=env, stdout=stdout, stderr=subprocess.PIPE,
                          timeout=120)


def turtle_string(text: str) -> str:
    return text.replace("\\", "\\\\").replace('"', '\\"').replace("\n", "\\n").replace("\t", "\\t")


@pytest.fixture(scope="module")
def store(tmp_path_factory) -> Path:
    folder = tmp_path_factory.mktemp("launch")
    extra = folder / "extra.ttl"
    extra.write_text(EXTRA % turtle_string(HOSTILE_LABEL), encoding="utf-8")
    loaded = kg("load", "--store", str(folder / "store"), str(extra))
    assert loaded.returncode == 0, loaded.stderr
    return folder / "store"


@pytest.mark.parametrize("name", QUERIES)
def test_stored_csv_is_the_engines_csv_without_importing_rdflib(store, name):
    short = kg("--store", str(store), "query", name, "--format", "csv")
    usual = kg("--store", str(store), "query", name, "--format", "csv", engine=True)
    assert short.returncode == usual.returncode == 0, short.stderr + usual.stderr
    assert short.stdout == usual.stdout
    assert b"[rdflib imported]" not in short.stderr  # the short way was taken
    assert b"[rdflib imported]" in usual.stderr


def test_people_rows_from_the_article_and_a_hostile_label(store):
    short = kg("--store", str(store), "query", "--format=csv", "people")
    assert b"[rdflib imported]" not in short.stderr
    rows = list(csv.reader(io.StringIO(short.stdout.decode("utf-8"), newline="")))
    assert rows[0] == ["person", "person_zh", "role", "organization", "former", "line", "quote"]
    assert ["Jensen Huang", "黄仁勋", "chief executive", "Nvidia", "", "41", "英伟达CEO黄仁勋"] in rows
    assert [HOSTILE_LABEL, "测试", "chief executive", "Nvidia", "", "41", "a,b"] in rows
    assert short.stdout.count(b"\r\n") == len(rows)  # one a row: the label's own newline is inside quotes


def test_a_changed_source_file_is_loaded_again_before_answering(tmp_path):
    extra = tmp_path / "extra.ttl"
    extra.write_text(EXTRA % "First Name", encoding="utf-8")
    assert kg("load", "--store", str(tmp_path / "s"), str(extra)).returncode == 0
    before = kg("--store", str(tmp_path / "s"), "query", "people", "--format", "csv")
    assert b"First Name" in before.stdout
    extra.write_text(EXTRA % "A Longer Second Name", encoding="utf-8")
    after = kg("--store", str(tmp_path / "s"), "query", "people", "--format", "csv")
    assert after.returncode == 0, after.stderr
    assert b"A Longer Second Name" in after.stdout and b"First Name" not in after.stdout


@pytest.mark.parametrize("extra_args, rows", [(("--limit", "1"), 1), (("--format", "tsv"), None),
                                              (("--param", "company=Anthropic"), None)])
def test_other_command_lines_go_the_usual_way(store, extra_args, rows):
    args = ["--store", str(store), "query", "people", "--format", "csv", *extra_args]
    if "--format" in extra_args:
        args = ["--store", str(store), "query", "people", *extra_args]
    if "--param" in extra_args:
        args = ["--store", str(store), "query", "money-into", "--format", "csv", *extra_args]
    short, usual = kg(*args), kg(*args, engine=True)
    assert short.stdout == usual.stdout and short.returncode == usual.returncode == 0
    assert b"[rdflib imported]" in short.stderr
    if rows is not None:
        assert len(list(csv.reader(io.StringIO(short.stdout.decode("utf-8"))))) == 1 + rows
    if "--param" in extra_args:  # article line 50: "Anthropic获谷歌和亚马逊数十亿美元投资"
        rows = list(csv.DictReader(io.StringIO(short.stdout.decode("utf-8"))))
        assert {(r["from"], r["line"]) for r in rows if r["deal_kind"] == "investment"} == {("Amazon, Google", "50")}


def test_errors_are_the_usual_one_line_errors(store, tmp_path):
    missing = kg("--store", str(tmp_path / "nowhere"), "query", "people", "--format", "csv")
    unknown = kg("--store", str(store), "query", "no-such-query", "--format", "csv")
    too_long = kg("--store", str(store), "query", "a" * 300, "--format", "csv")  # longer than a file name may be
    for result in (missing, unknown, too_long):
        assert result.returncode != 0 and result.stdout == b""
        assert result.stderr.decode().splitlines()[0].startswith("kg: error: ")
        assert b"Traceback" not in result.stderr
    assert b"no kg store there" in missing.stderr
    assert b"no stored query named" in unknown.stderr and b"no stored query named" in too_long.stderr
    if not os.path.exists("/dev/full"):
        pytest.skip("no /dev/full here")
    with open("/dev/full", "wb") as full:
        short = kg("--store", str(store), "query", "people", "--format", "csv", stdout=full)
        usual = kg("--store", str(store), "query", "people", "--format", "csv", engine=True, stdout=full)
    assert b"[rdflib imported]" not in short.stderr
    assert short.returncode == usual.returncode != 0
    assert short.stderr.decode().splitlines()[0] == usual.stderr.decode().splitlines()[0]
    assert "standard output: cannot write" in short.stderr.decode()
