"""What kg knows before it imports rdflib: where the bundled data lives and the namespaces every query
may use (as plain strings). kg.graph builds rdflib's namespaces from these; kg.launch uses them to
answer a stored query from its stored answer without importing rdflib at all.

>>> NAMESPACES["kgd"]
'https://w3id.org/aimoney/id/'
>>> sparql_prologue().startswith("PREFIX kg: <https://w3id.org/aimoney/ontology#> PREFIX kgd: ")
True
"""

from __future__ import annotations

from pathlib import Path

#: Prefixes predeclared for every SPARQL query and bound when serializing, in this order.
NAMESPACES: dict[str, str] = {
    "kg": "https://w3id.org/aimoney/ontology#",
    "kgd": "https://w3id.org/aimoney/id/",
    "schema": "https://schema.org/",
    "org": "http://www.w3.org/ns/org#",
    "prov": "http://www.w3.org/ns/prov#",
    "unit": "http://qudt.org/vocab/unit/",
    "wd": "http://www.wikidata.org/entity/",
    "rdf": "http://www.w3.org/1999/02/22-rdf-syntax-ns#",
    "rdfs": "http://www.w3.org/2000/01/rdf-schema#",
    "owl": "http://www.w3.org/2002/07/owl#",
    "xsd": "http://www.w3.org/2001/XMLSchema#",
    "skos": "http://www.w3.org/2004/02/skos/core#",
    "dcterms": "http://purl.org/dc/terms/",
    "foaf": "http://xmlns.com/foaf/0.1/",
    "sh": "http://www.w3.org/ns/shacl#",
}


def sparql_prologue() -> str:
    """PREFIX declarations for every predeclared namespace, on ONE line, to put before a user's query.

    One line, so that a parser's error position in the user's text is simply one line further down.
    """
    return " ".join(f"PREFIX {p}: <{ns}>" for p, ns in NAMESPACES.items()) + "\n"


def _data_root() -> Path:
    # A checkout (or an editable install) reads the project folder; a wheel has none and carries the
    # same files in kg/bundled/ (setup.py).
    package = Path(__file__).resolve().parent
    return package.parent if (package.parent / "facts.ttl").is_file() else package / "bundled"


#: The folder holding ontology/, facts.ttl, queries/ and sources/ (the paths in facts.ttl's
#: kg:document values are relative to it).
PROJECT_ROOT = _data_root()
ONTOLOGY_FILE = PROJECT_ROOT / "ontology" / "kg.ttl"
SHAPES_FILE = PROJECT_ROOT / "ontology" / "shapes.ttl"
FACTS_FILE = PROJECT_ROOT / "facts.ttl"
QUERIES_DIR = PROJECT_ROOT / "queries"
SOURCE_DOCUMENT = PROJECT_ROOT / "sources" / "article.zh.txt"


def bundled_files() -> list[Path]:
    """The files of the bundled graph: the ontology and the article's facts."""
    return [ONTOLOGY_FILE, FACTS_FILE]


#: Datatypes whose lexical form, as Oxigraph keeps it (canonical), is also rdflib's ``str`` of the term.
SAME_TEXT_DATATYPES = frozenset(["http://www.w3.org/2001/XMLSchema#" + name for name in
                                 ("string", "integer", "decimal", "boolean", "date", "gYear", "gYearMonth", "anyURI")]
                                + ["http://www.w3.org/1999/02/22-rdf-syntax-ns#langString"])
