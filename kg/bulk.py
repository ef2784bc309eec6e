"""Reading chosen properties of a whole graph at once, for analyses that look at every deal.

rdflib answers ``graph.value`` and ``graph.objects`` one lookup at a time. On an Oxigraph-backed graph
(kg.store) each lookup crosses into Rust and builds rdflib terms, and building a Literal alone costs
several microseconds: an analysis that makes some seventy lookups per deal spends minutes on a hundred
thousand deals. A :class:`PropertyTable` reads each property it is given with ONE scan over the graph
and answers lookups from Python dicts; with ``rows=True`` it reads any other property of a subject when
it is first asked, all of that subject's properties in one lookup (for analyses that need everything
about a few subjects).

Terms come back as plain values, the same whichever store holds the graph:

- an IRI: a ``str``, the IRI;
- a blank node: a ``str``, ``"_:"`` and its id (:func:`text` gives ``str(term)``, the id alone);
- a literal: a :class:`Lit` (``text``, ``language``); ``text`` is ``str(term)`` of the rdflib Literal.

On an Oxigraph store the values are read straight from pyoxigraph, without making rdflib terms (for
literals whose lexical form rdflib would rewrite, such as doubles, the text is taken from the rdflib
term, so it is the same either way). A property's values for one subject come in the order
``graph.objects(subject, prop)`` gives them, so ``value`` is the value ``graph.value`` gives.

>>> from kg.graph import load_graph, KG, KGD
>>> from rdflib.namespace import RDFS
>>> graph = load_graph()
>>> table = PropertyTable(graph, [RDFS.label, KG.payer])
>>> sorted(table.objects(str(KGD.Nvidia), RDFS.label))
[Lit(text='Nvidia', language='en'), Lit(text='英伟达', language='zh')]
>>> table.value(str(KGD["deal-nvidia-openai-investment"]), KG.payer)
'https://w3id.org/aimoney/id/Nvidia'
>>> table.value(str(KGD.Nvidia), KG.payer) is None
True
>>> rows = PropertyTable(graph, rows=True)
>>> rows.value(str(KGD["deal-nvidia-openai-investment"]), KG.payee)
'https://w3id.org/aimoney/id/OpenAI'
"""

from __future__ import annotations

import sys
from typing import Callable, Iterable, NamedTuple

from rdflib import BNode, Literal, URIRef

from kg.project import SAME_TEXT_DATATYPES


class Lit(NamedTuple):
    """A literal as a plain value: its text (``str`` of the rdflib Literal) and language tag (or None)."""

    text: str
    language: str | None = None


def text(value) -> str:
    """``str()`` of the term a table value stands for: the IRI, blank node id or literal text.

    >>> text("https://w3id.org/aimoney/id/Nvidia"), text("_:b0"), text(Lit("英伟达", "zh"))
    ('https://w3id.org/aimoney/id/Nvidia', 'b0', '英伟达')
    """
    if type(value) is Lit:
        return value.text
    return value[2:] if value[:2] == "_:" else value


def text_or_none(value) -> str | None:
    """:func:`text`, or None for None (a property with no value)."""
    return None if value is None else text(value)


def plain(term):
    """An rdflib term as a table value.

    >>> from rdflib import BNode, Literal, URIRef
    >>> plain(URIRef("https://w3id.org/aimoney/id/Nvidia")), plain(BNode("b0")), plain(Literal("英伟达", lang="zh"))
    ('https://w3id.org/aimoney/id/Nvidia', '_:b0', Lit(text='英伟达', language='zh'))
    """
    if isinstance(term, Literal):
        return Lit(str(term), term.language)
    if isinstance(term, BNode):
        return "_:" + term
    return str(term)


class PropertyTable:
    """The values of chosen properties by subject, each property read with one scan (see the module
    docstring); with ``rows=True`` any other property is read subject by subject when first asked
    (a property in ``single`` alone, until the subject's whole row is read for another property).

    Look subjects up by their plain value (:func:`plain`: an IRI is its string).
    """

    def __init__(self, graph, properties: Iterable = (), *, rows: bool = False, single: Iterable = ()):
        reader = _oxigraph_reader(graph) or _store_reader(graph) or _rdflib_reader(graph)
        self._columns: dict[str, dict] = {}
        for prop in properties:
            if str(prop) not in self._columns:
                self._columns[str(prop)] = reader.scan(str(prop))
        self._reader = reader
        self._read_row = reader.row if rows else None
        self._rows: dict = {}
        # Properties looked up alone for a subject whose row is not read yet: when many subjects are
        # asked for one property and few for the rest, a lookup costs a third of a whole row.
        self._single = {str(prop): {} for prop in single} if rows else {}

    def getter(self, prop) -> Callable[[object], list | None]:
        """A function of a subject giving its values of ``prop`` (None when it has none): the fast way
        to look up one property of many subjects."""
        column = self._columns.get(str(prop))
        if column is not None:
            return column.get
        if self._read_row is None:
            raise KeyError(f"{prop} was not read into this table")
        name, rows = str(prop), self._rows
        if name in self._single:
            return lambda subject: (rows[subject].get(name) if subject in rows
                                    else self._single_value(subject, name))
        return lambda subject: self._row(subject).get(name)

    def prefetch(self, subjects: Iterable) -> None:
        """Read the rows of ``subjects`` (and of the blank nodes they lead to) now, together, when the
        store reads many at once faster than one by one (a remote endpoint); else do nothing."""
        if self._read_row is None or self._reader.rows is None:
            return
        wanted = list(dict.fromkeys(s for s in subjects if s is not None and type(s) is not Lit and s not in self._rows))
        if wanted:
            for subject, row in self._reader.rows(wanted).items():
                self._rows.setdefault(subject, row)

    @property
    def reads_rows(self) -> bool:
        """Whether this reads properties not scanned subject by subject (``rows=True``)."""
        return self._read_row is not None

    def forget_rows(self, keep=frozenset()) -> None:
        """Drop the rows (and single values) read subject by subject, but those of the subjects in
        ``keep``; the scanned columns stay. A pass over every deal reads each deal's row once: dropped
        as it goes, they never all sit in memory at once.

        >>> from kg.graph import load_graph, KGD
        >>> from rdflib.namespace import RDFS
        >>> table = PropertyTable(load_graph(), rows=True)
        >>> nvidia, openai = str(KGD.Nvidia), str(KGD.OpenAI)
        >>> table.value(nvidia, RDFS.label) == table.value(openai, RDFS.label)
        False
        >>> table.forget_rows(keep={nvidia})
        >>> sorted(table._rows) == [nvidia]
        True
        """
        self._rows = {subject: row for subject, row in self._rows.items() if subject in keep}
        for found in self._single.values():
            found.clear()

    def column(self, prop) -> dict:
        """subject -> list of values of a scanned ``prop`` (a dict to read from, not to change)."""
        return self._columns[str(prop)]

    def objects(self, subject, prop) -> list:
        """The values of ``prop`` for ``subject`` (like ``graph.objects``), [] when there are none (a
        list to read, not to change)."""
        return self.getter(prop)(subject) or []

    def value(self, subject, prop):
        """The first value of ``prop`` for ``subject`` (like ``graph.value``), or None."""
        values = self.getter(prop)(subject)
        return values[0] if values else None

    def column_where(self, prop, keep: Callable[[object], bool]) -> dict:
        """subject -> list of values of ``prop``, only the values for which ``keep(value)`` is true:
        reads only those (``column_where(RDF.type, is_deal_class)`` reads the deals' types, not every
        node's). Not kept in the table."""
        column = self._columns.get(str(prop))
        if column is not None:
            return {s: kept for s, values in column.items() if (kept := [v for v in values if keep(v)])}
        return self._reader.scan_where(str(prop), keep)

    def _single_value(self, subject, name: str) -> list | None:
        found = self._single[name]
        if subject not in found:
            found[subject] = self._reader.lookup(subject, name) if type(subject) is not Lit else None
        return found[subject]

    def _row(self, subject) -> dict:
        row = self._rows.get(subject)
        if row is None:
            row = self._rows[subject] = self._read_row(subject) if type(subject) is not Lit else {}
        return row


def prefetch_rows(graph, subjects: Iterable) -> None:
    """Let ``graph``'s store read everything about ``subjects`` (IRIs as strings or terms) now, together,
    when it reads many at once faster than one by one (kg.remote); a no-op for local stores."""
    prefetch = getattr(graph.store, "prefetch", None)
    if prefetch is not None:
        prefetch([s if isinstance(s, (URIRef, BNode)) else (BNode(s[2:]) if s[:2] == "_:" else URIRef(s))
                  for s in subjects if s is not None])


# --------------------------------------------------------------------------------------------------
# Reading the store: a whole property, or everything about one subject


class _Reader(NamedTuple):
    scan: Callable[[str], dict]  # property IRI -> {subject: [values]}
    scan_where: Callable[[str, Callable], dict]  # the same, only the values kept
    row: Callable[[object], dict]  # subject -> {property IRI: [values]}
    lookup: Callable[[object, str], list | None]  # subject, property IRI -> [values], or None
    # subjects -> {subject: row}, with the rows of the blank nodes they lead to: a store far away
    # reads many rows in one request (kg.remote); None where reading row by row costs nothing more
    rows: Callable[[list], dict] | None = None


def _group(pairs) -> dict:
    grouped: dict = {}
    for key, value in pairs:
        found = grouped.get(key)
        if found is None:
            grouped[key] = [value]
        else:
            found.append(value)
    return grouped


def _store_reader(graph) -> _Reader | None:
    """The store's own reader, when it has one (kg.remote's store reads a property with one query)."""
    bulk_reader = getattr(graph.store, "bulk_reader", None)
    return bulk_reader() if bulk_reader is not None else None


def _rdflib_reader(graph) -> _Reader:
    def scan(prop: str) -> dict:
        predicate, several = URIRef(prop), {}
        column: dict = {}
        for s, _p, o in graph.triples((None, predicate, None)):
            key = plain(s)
            found = column.get(key)
            if found is None:
                column[key] = [plain(o)]
            else:
                found.append(plain(o))
                several[key] = s
        # rdflib's memory store gives a subject's values in the order they were added when asked for
        # that subject, but in another order in a scan of the property: keep the subject's own order,
        # so that "the first value" is graph.value's.
        for key, s in several.items():
            column[key] = [plain(o) for o in graph.objects(s, predicate)]
        return column

    def scan_where(prop: str, keep) -> dict:
        wanted = [o for o in set(graph.objects(None, URIRef(prop))) if keep(plain(o))]
        return _group((plain(s), plain(o)) for o in wanted for s in graph.subjects(URIRef(prop), o))

    def row(subject) -> dict:
        node = BNode(subject[2:]) if subject[:2] == "_:" else URIRef(subject)
        return _group((str(p), plain(o)) for p, o in graph.predicate_objects(node))

    def lookup(subject, prop: str) -> list | None:
        node = BNode(subject[2:]) if subject[:2] == "_:" else URIRef(subject)
        return [plain(o) for o in graph.objects(node, URIRef(prop))] or None
    return _Reader(scan, scan_where, row, lookup)


_SAME_TEXT = SAME_TEXT_DATATYPES  # their text needs no rdflib term (kg.project)


def _oxigraph_reader(graph) -> _Reader | None:
    """A reader of pyoxigraph itself, when ``graph`` is one graph of an oxrdflib store."""
    oxrdflib = sys.modules.get("oxrdflib")  # not imported: the graph cannot be on an Oxigraph store
    if oxrdflib is None or not isinstance(graph.store, oxrdflib.OxigraphStore):
        return None
    from rdflib.graph import ConjunctiveGraph

    if isinstance(graph, ConjunctiveGraph):  # a union of graphs: leave it to rdflib
        return None
    import pyoxigraph as ox
    from oxrdflib._converter import from_ox, to_ox_quad_pattern

    store = graph.store._inner
    graph_name = to_ox_quad_pattern((None, None, None), graph)[3]
    named, blank, literal = ox.NamedNode, ox.BlankNode, ox.Literal
    same_text = {ox.NamedNode(iri) for iri in _SAME_TEXT}

    def value(node):
        kind = type(node)
        if kind is named:
            return node.value
        if kind is blank:
            return "_:" + node.value
        if kind is literal:
            if node.datatype in same_text:
                return Lit(node.value, node.language)
            return Lit(str(from_ox(node)), node.language)  # rdflib rewrites it: "1e1" -> "10.0"
        return str(from_ox(node))  # an RDF-star triple, as rdflib would write it

    def scan(prop: str) -> dict:
        column: dict = {}
        get = column.get
        for quad in store.quads_for_pattern(None, named(prop), None, graph_name):
            s, o = quad.subject, quad.object  # an IRI, the usual case, without a call: millions of them
            key = s.value if type(s) is named else value(s)
            found = get(key)
            if found is None:
                column[key] = [o.value if type(o) is named else value(o)]
            else:
                found.append(o.value if type(o) is named else value(o))
        return column

    def scan_where(prop: str, keep) -> dict:
        # The distinct values are found in Oxigraph (a few classes among many typed nodes); then only
        # the subjects of the values kept are read: one term decoded per row, not four.
        distinct = store.query(f"SELECT DISTINCT ?o WHERE {{ ?s <{prop}> ?o }}", default_graph=graph_name)
        pairs = []
        for obj in [row[0] for row in distinct]:
            kept = value(obj)
            if not keep(kept):
                continue
            if type(obj) is named:
                rows = store.query(f"SELECT ?s WHERE {{ ?s <{prop}> <{obj.value}> }}", default_graph=graph_name)
                pairs.extend((value(row[0]), kept) for row in rows)
            else:
                quads = store.quads_for_pattern(None, named(prop), obj, graph_name)
                pairs.extend((value(q.subject), kept) for q in quads)
        return _group(pairs)

    def row(subject) -> dict:
        node = blank(subject[2:]) if subject[:2] == "_:" else named(subject)
        return _group((q.predicate.value, value(q.object))
                      for q in store.quads_for_pattern(node, None, None, graph_name))

    def lookup(subject, prop: str) -> list | None:
        node = blank(subject[2:]) if subject[:2] == "_:" else named(subject)
        return [value(q.object) for q in store.quads_for_pattern(node, named(prop), None, graph_name)] or None
    return _Reader(scan, scan_where, row, lookup)
