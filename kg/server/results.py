"""SPARQL answers as HTTP bodies: content negotiation and the result formats, written from Oxigraph's terms.

Runs in the query workers (``kg.server.worker``): the answer is read from the engine row by row up to
the row cap and written straight to bytes in the format the client asked for, without building rdflib
terms. SELECT/ASK: SPARQL 1.1 Results JSON, XML, CSV, TSV. CONSTRUCT/DESCRIBE: Turtle, N-Triples,
JSON-LD, RDF/XML. Plain strings are written without the ``xsd:string`` datatype, as ``kg query`` does.

>>> negotiate("text/csv;q=0.5, application/sparql-results+xml", "SELECT")
'xml'
>>> negotiate(None, "CONSTRUCT")
'turtle'
>>> negotiate("text/csv", "ASK")  # no CSV for a boolean: the default instead of a 406
'json'
"""

from __future__ import annotations

import csv
import io
import json
import re
from json.encoder import encode_basestring as _json_string  # C; as json.dumps(str, ensure_ascii=False)
from xml.sax.saxutils import escape, quoteattr

#: Format name -> media type, per query form; the first of each is the default.
SOLUTION_TYPES = {"json": "application/sparql-results+json", "xml": "application/sparql-results+xml",
                  "csv": "text/csv", "tsv": "text/tab-separated-values"}
BOOLEAN_TYPES = {"json": "application/sparql-results+json", "xml": "application/sparql-results+xml"}
GRAPH_TYPES = {"turtle": "text/turtle", "nt": "application/n-triples", "jsonld": "application/ld+json",
               "rdfxml": "application/rdf+xml"}
_ALIASES = {"application/json": "json", "application/xml": "xml", "text/xml": "xml",
            "text/plain": "nt", "application/x-turtle": "turtle", "application/turtle": "turtle",
            "text/n-triples": "nt", "application/x-sparql-results+json": "json"}
_XSD_STRING = "http://www.w3.org/2001/XMLSchema#string"
_RDF_LANG_STRING = "http://www.w3.org/1999/02/22-rdf-syntax-ns#langString"
# Characters XML 1.0 cannot carry at all; shown as U+FFFD in XML results.
_XML_INVALID = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\ufffe\uffff]")


def _accepted(accept: str | None) -> list[tuple[str, float]]:
    """Media ranges of an Accept header, best first (stable for equal q)."""
    ranges = []
    for position, part in enumerate((accept or "").split(",")):
        media, *params = [p.strip() for p in part.split(";")]
        if not media:
            continue
        q = 1.0
        for param in params:
            key, _, value = param.partition("=")
            if key.strip().lower() == "q":
                try:
                    q = float(value)
                except ValueError:
                    q = 0.0
        if q > 0:
            ranges.append((media.lower(), q, position))
    ranges.sort(key=lambda r: (-r[1], r[2]))
    return [(m, q) for m, q, _ in ranges]


def negotiate(accept: str | None, form: str) -> str:
    """The format name to answer a ``form`` query with, for this Accept header.

    Nothing acceptable falls back to the default format (JSON, or Turtle for graphs): HTTP allows it,
    and a client gets an answer it can usually read rather than a 406.
    """
    table = SOLUTION_TYPES if form == "SELECT" else BOOLEAN_TYPES if form == "ASK" else GRAPH_TYPES
    by_type = {media: name for name, media in table.items()}
    for media, _q in _accepted(accept):
        name = by_type.get(media) or _ALIASES.get(media)
        if name in table:
            return name
        if media in ("*/*", "application/*") or (media == "text/*" and form not in ("SELECT", "ASK")):
            break
    return next(iter(table))


# --------------------------------------------------------------------------------------------------
# SELECT and ASK


def _json_term(term) -> dict:
    import pyoxigraph as ox

    if isinstance(term, ox.NamedNode):
        return {"type": "uri", "value": term.value}
    if isinstance(term, ox.BlankNode):
        return {"type": "bnode", "value": term.value}
    if isinstance(term, ox.Literal):
        out = {"type": "literal", "value": term.value}
        if term.language:
            out["xml:lang"] = term.language
        elif term.datatype.value != _XSD_STRING:
            out["datatype"] = term.datatype.value
        return out
    return {"type": "triple", "value": {"subject": _json_term(term.subject),
                                        "predicate": _json_term(term.predicate),
                                        "object": _json_term(term.object)}}


def _xml_text(text: str) -> str:
    return escape(_XML_INVALID.sub("\ufffd", text))


def _xml_term(term) -> str:
    import pyoxigraph as ox

    if isinstance(term, ox.NamedNode):
        return f"<uri>{_xml_text(term.value)}</uri>"
    if isinstance(term, ox.BlankNode):
        return f"<bnode>{_xml_text(term.value)}</bnode>"
    if isinstance(term, ox.Literal):
        if term.language:
            return f"<literal xml:lang={quoteattr(term.language)}>{_xml_text(term.value)}</literal>"
        if term.datatype.value != _XSD_STRING:
            return f"<literal datatype={quoteattr(term.datatype.value)}>{_xml_text(term.value)}</literal>"
        return f"<literal>{_xml_text(term.value)}</literal>"
    return (f"<triple><subject>{_xml_term(term.subject)}</subject><predicate>{_xml_term(term.predicate)}"
            f"</predicate><object>{_xml_term(term.object)}</object></triple>")


def _csv_value(term) -> str:
    import pyoxigraph as ox

    if term is None:
        return ""
    if isinstance(term, ox.BlankNode):
        return f"_:{term.value}"
    if isinstance(term, (ox.NamedNode, ox.Literal)):
        return term.value
    return str(term)


def _json_text(term) -> str:
    """One term as SPARQL Results JSON text (the same as ``json.dumps(_json_term(term))``, written directly)."""
    import pyoxigraph as ox

    if isinstance(term, ox.NamedNode):
        return '{"type": "uri", "value": ' + _json_string(term.value) + "}"
    if isinstance(term, ox.Literal):
        value = _json_string(term.value)
        if term.language:
            return '{"type": "literal", "value": ' + value + ', "xml:lang": ' + _json_string(term.language) + "}"
        datatype = term.datatype.value
        if datatype != _XSD_STRING:
            return '{"type": "literal", "value": ' + value + ', "datatype": ' + _json_string(datatype) + "}"
        return '{"type": "literal", "value": ' + value + "}"
    return json.dumps(_json_term(term), ensure_ascii=False)


def _json_rows(names: list[str], rows: list[tuple]) -> str:
    """The bindings array of SPARQL Results JSON, each distinct term written once (terms recur a lot)."""
    written: dict = {}
    keys = [_json_string(n) + ": " for n in names]
    out = []
    for row in rows:
        cells = []
        for key, term in zip(keys, row):
            if term is None:
                continue
            text = written.get(term)
            if text is None:
                text = written[term] = _json_text(term)
            cells.append(key + text)
        out.append("{" + ", ".join(cells) + "}")
    return "[" + ",\n".join(out) + "]"


def select_body(names: list[str], rows: list[tuple], fmt: str) -> bytes:
    """SELECT rows (tuples of pyoxigraph terms, None where unbound) in format ``fmt``.

    >>> import pyoxigraph as ox
    >>> json.loads(select_body(["x"], [(ox.Literal("英伟达", language="zh"),), (None,)], "json"))["results"]
    {'bindings': [{'x': {'type': 'literal', 'value': '英伟达', 'xml:lang': 'zh'}}, {}]}
    """
    if fmt == "json":
        head = json.dumps({"vars": names}, ensure_ascii=False)
        return f'{{"head": {head}, "results": {{"bindings": {_json_rows(names, rows)}}}}}'.encode("utf-8")
    if fmt == "xml":
        out = ['<?xml version="1.0"?>\n<sparql xmlns="http://www.w3.org/2005/sparql-results#">\n<head>']
        out += [f"<variable name={quoteattr(n)}/>" for n in names]
        out.append("</head>\n<results>")
        for row in rows:
            out.append("<result>" + "".join(f"<binding name={quoteattr(n)}>{_xml_term(t)}</binding>"
                                            for n, t in zip(names, row) if t is not None) + "</result>")
        out.append("</results>\n</sparql>\n")
        return "\n".join(out).encode("utf-8")
    if fmt == "csv":
        stream = io.StringIO()
        writer = csv.writer(stream, lineterminator="\r\n")
        writer.writerow(names)
        for row in rows:
            writer.writerow([_csv_value(t) for t in row])
        return stream.getvalue().encode("utf-8")
    if fmt == "tsv":
        lines = ["\t".join(f"?{n}" for n in names)]
        lines += ["\t".join("" if t is None else str(t).replace("\t", "\\t") for t in row) for row in rows]
        return ("\n".join(lines) + "\n").encode("utf-8")
    raise ValueError(fmt)


def boolean_body(value: bool, fmt: str) -> bytes:
    """An ASK answer in SPARQL Results JSON or XML."""
    if fmt == "xml":
        return ('<?xml version="1.0"?>\n<sparql xmlns="http://www.w3.org/2005/sparql-results#">\n<head/>\n'
                f"<boolean>{'true' if value else 'false'}</boolean>\n</sparql>\n").encode("utf-8")
    return json.dumps({"head": {}, "boolean": bool(value)}).encode("utf-8")


def graph_body(triples: list, fmt: str) -> bytes:
    """CONSTRUCT/DESCRIBE triples (pyoxigraph) as Turtle, N-Triples, JSON-LD or RDF/XML."""
    import pyoxigraph as ox

    from kg.graph import PREFIXES

    rdf_format = {"turtle": ox.RdfFormat.TURTLE, "nt": ox.RdfFormat.N_TRIPLES,
                  "jsonld": ox.RdfFormat.JSON_LD, "rdfxml": ox.RdfFormat.RDF_XML}[fmt]
    prefixes = {p: str(ns) for p, ns in PREFIXES.items()} if fmt in ("turtle", "rdfxml", "jsonld") else None
    return ox.serialize(triples, format=rdf_format, prefixes=prefixes) or b""
