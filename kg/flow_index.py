"""The flow index: who gives value to whom, worked out once when a persistent store is loaded, and kept
beside it.

``kg cycles``, ``trace``, ``flows``, ``viz`` and ``export --flows`` start from the same table: every deal
that can be drawn, its conditions, who gives value to whom in it, its kind of flow, its amount either
way of its conditions, and the names of the parties. On a large store, reading that table from the RDF
is most of what those commands cost. ``kg load`` (and every refresh of the store) computes it once and
writes it to ``flow-index.json`` in the store's directory; :class:`kg.flows.FlowReader` takes it as
``index`` and then reads from the RDF only the deals and parties it shows. Up to
:data:`FULL_GRAPH_TRIPLES`, ``flow-edges.jsonl`` beside it holds the whole flow graph with every
detail (no what-if), which ``kg export --flows`` writes out without reading the RDF.

Each file names the store content it was computed from: a digest of the store's manifest (its source
files with their sizes and SHA-256, its triple count and load time). :func:`load_index` returns None
(and the commands read the RDF instead) when the file is missing, unreadable, of another version, or
computed from other content, or not sealed (an HMAC in its last line) with the key kg signs this
user's store manifests with (kg.store). The files are JSON: opening a store's directory runs no code
from it.

The index holds no answer of its own: it is built by the same code that reads the RDF
(:mod:`kg.flows.deals`), and :class:`FlowReader` gives the same answers with it as without it.
"""

from __future__ import annotations

import hashlib
from decimal import Decimal
import hmac
import json
from pathlib import Path
from typing import Iterator

from kg.sealed import seal as _seal, write_sealed as _write_atomically

#: File of the flow index inside a store directory.
INDEX_NAME = "flow-index.json"
#: File of the whole flow graph (every detail of every money edge, no what-if), one JSON line a step.
EDGES_NAME = "flow-edges.jsonl"
#: Largest store (in triples) whose whole flow graph is kept: reading it takes some 500 bytes of memory
#: a triple (1.1 GB for the 2.3M triples of 100k synthetic deals).
FULL_GRAPH_TRIPLES = 5_000_000
_FORMAT, _EDGES_FORMAT, _VERSION = "kg-flow-index", "kg-flow-edges", 4


def index_path(directory: str | Path) -> Path:
    return Path(directory) / INDEX_NAME


def content_key(manifest: dict) -> str:
    """A digest of a store's manifest: it changes whenever the store is rebuilt.

    >>> content_key({"files": [], "triples": 1}) == content_key({"triples": 1, "files": []})
    True
    >>> content_key({"triples": 1}) == content_key({"triples": 2})
    False
    """
    return hashlib.sha256(json.dumps(manifest, sort_keys=True, ensure_ascii=False).encode("utf-8")).hexdigest()


class FlowIndex:
    """A loaded flow index (see the module docstring); what :class:`kg.flows.FlowReader` asks of it.

    Deals are numbered in the order :func:`kg.flows.deals._plans` yields them; ``money_edges`` lists
    every money edge of every deal (before any what-if) as five numbers, in the order the flow graph
    has them: giver, taker (numbers of ``parties``), kind (a number of ``FLOW_KINDS``), deal, and how
    many edges share the deal's figure.
    """

    def __init__(self, data: dict):
        self.parties: list[str] = data["parties"]
        self._labels = dict(zip(self.parties, data["labels"]))
        self._labels_zh = dict(zip(self.parties, data["labels_zh"]))
        self._class_sets = [frozenset(names) for names in data["class_sets"]]
        self._deals = data["deals"]
        self.money_edges: list[int] = data["money_edges"]
        self._numbers: dict | None = None
        #: deal key -> the kg:CircularArrangement IRIs it is part of
        self.arrangements: dict[str, list[str]] = data["arrangements"]
        #: deal -> the deals that state kg:exchangedFor it
        self.exchanged_by: dict[str, list[str]] = data["exchanged_by"]

    def __len__(self) -> int:
        return len(self._deals)

    def plans(self, states: dict) -> Iterator:
        """The plans of :func:`kg.flows.deals._plans` under ``states`` (condition -> met?)."""
        for number in range(len(self._deals)):
            plan = self.plan(number, states)
            if plan is not None:
                yield plan

    def plan(self, number: int, states: dict):
        """The plan of deal ``number`` under ``states``, or None when the deal does not happen."""
        from kg.flows.deals import _Plan, _status

        deal, conditions, roles, partners, _classes, _met, failed = self._deals[number][:7]
        status = _status(conditions, states)
        if status == "failed" and not failed:
            return None
        parties = self.parties
        return _Plan(deal, conditions, status,
                     [(bool(grant), [parties[i] for i in givers], [parties[i] for i in takers])
                      for grant, givers, takers in roles],
                     [parties[i] for i in partners])

    def dropped(self, states: dict) -> set[int]:
        """Numbers of the deals that do not happen under ``states``."""
        from kg.flows.deals import _status

        if not states:
            return set()
        return {number for number, row in enumerate(self._deals)
                if row[1] and not row[6] and _status(row[1], states) == "failed"}

    def _number(self, deal) -> int | None:
        if self._numbers is None:
            self._numbers = {row[0]: number for number, row in enumerate(self._deals)}
        return self._numbers.get(deal)

    def numbers_of(self, keys) -> set[int]:
        """Numbers of the deals whose keys (IRIs, as the flow graph's edge keys) are in ``keys``."""
        from kg.bulk import text
        return {number for number, row in enumerate(self._deals) if text(row[0]) in keys}

    def key_of(self, number: int) -> str:
        """The deal's key in the flow graph (its IRI)."""
        from kg.bulk import text
        return text(self._deals[number][0])

    def partners_of(self, number: int) -> list[str]:
        return [self.parties[i] for i in self._deals[number][3]]

    def classes(self, deal) -> frozenset[str]:
        number = self._number(deal)
        return self._class_sets[self._deals[number][4]] if number is not None else frozenset()

    def meaning(self, deal, status: str | None):
        """What the deal's amount means under condition ``status`` (:func:`kg.semantics.meaning`, as
        :func:`kg.flows.deals._meaning` reads it from the RDF)."""
        return self.meaning_at(self._number(deal), status)

    def meaning_at(self, number: int, status: str | None):
        from kg.semantics import Stated, meaning

        _deal, _conditions, _roles, _partners, _classes, met, failed, names, modality = self._deals[number]
        return meaning(Stated(Decimal(met[0]), *met[1:]) if met else None,
                       Stated(Decimal(failed[0]), *failed[1:]) if failed else None,
                       conditions=names, condition_status=status, modality=modality)

    def status_of(self, number: int, states: dict) -> str | None:
        from kg.flows.deals import _status
        return _status(self._deals[number][1], states)

    def label(self, party: str) -> str:
        return self._labels[party]

    def label_zh(self, party: str) -> str:
        return self._labels_zh[party]


def load_index(directory: str | Path) -> FlowIndex | None:
    """The flow index of the store in ``directory``, or None when there is none that fits its content."""
    lines = _read_sealed(directory, index_path(directory), _FORMAT)
    if lines is None or len(lines) != 1:
        return None
    try:
        return FlowIndex(json.loads(lines[0]))
    except (ValueError, KeyError, IndexError, TypeError):  # damaged: not used
        return None


def _read_sealed(directory: str | Path, path: Path, kind: str) -> list[str] | None:
    """The lines after the header of one of the index's files, or None unless the file is whole,
    sealed by kg for this user and computed from the store's present content."""
    from kg.errors import KgError
    from kg.store import _signing_key, read_manifest

    try:
        manifest = read_manifest(directory)
        key = _signing_key()
        if manifest is None or key is None or not path.is_file():
            return None
        raw = path.read_bytes()
        body, _, last = raw.rstrip(b"\n").rpartition(b"\n")
        seal = json.loads(last).get("seal")
        if not isinstance(seal, str) or not hmac.compare_digest(seal, _seal(key, body + b"\n")):
            return None
        lines = body.decode("utf-8").split("\n")
        head = json.loads(lines[0])
        if (not isinstance(head, dict) or head.get("format") != kind or head.get("version") != _VERSION
                or head.get("key") != content_key(manifest)):
            return None
        return lines[1:]
    except (OSError, ValueError, AttributeError, KgError):  # unreadable or damaged: not used
        return None


def compute_index(graph) -> dict:
    """The flow index of an RDF graph, as the JSON object :func:`build_index` writes (without its key)."""
    from kg.bulk import text
    from kg.figures import local_name
    from kg.flows.common import FLOW_KINDS, KG
    from kg.flows.deals import _CLASS_KINDS, _deal_kind, _Facts, _skeletons
    from kg.flows.graph import _arrangements_and_exchanges

    facts = _Facts(graph, read_all=False)
    table = facts.table
    facts.read_deal_classes()
    relevant = {name for name, _kind in _CLASS_KINDS}
    parties: dict[str, int] = {}
    class_sets: dict[tuple, int] = {}

    def party(value) -> int:
        if value not in parties:
            parties[value] = len(parties)
        return parties[value]

    def figure(node):  # what kg.semantics.meaning reads of it (kg.semantics.Stated)
        fig = facts.figure(node)
        if fig is None:
            return None
        return [str(fig.value), fig.kind, fig.currency, fig.derived_by]

    deals, money_edges = [], []
    for number, plan in enumerate(_skeletons(facts)):
        closure = facts.deal_classes(plan.deal)
        names = tuple(sorted(closure & relevant))
        if names not in class_sets:
            class_sets[names] = len(class_sets)
        roles = [[int(grant), [party(g) for g in givers], [party(t) for t in takers]]
                 for grant, givers, takers in plan.roles]
        for grant, givers, takers in roles:  # as FlowReader._edges lists them
            kind = FLOW_KINDS.index(_deal_kind(closure, grant))
            for giver in givers:
                for taker in takers:
                    if giver != taker:  # paying oneself moves no money
                        money_edges.extend((giver, taker, kind, number, len(givers) * len(takers)))
        modality = table.value(plan.deal, KG.modality)
        deals.append([plan.deal, plan.conditions, roles, [party(p) for p in plan.partners], class_sets[names],
                      figure(table.value(plan.deal, KG.amount)), figure(table.value(plan.deal, KG.amountIfConditionFails)),
                      [facts.condition_name(c) for c in plan.conditions],
                      local_name(text(modality)) if modality is not None else None])
    arrangements, exchanged_by = _arrangements_and_exchanges(facts)
    names = list(parties)
    return {
        "format": _FORMAT, "version": _VERSION,
        "parties": names, "labels": [facts.name(p) for p in names],
        "labels_zh": [facts.name(p, "zh", fallback=False) for p in names],
        "class_sets": [list(c) for c in class_sets], "deals": deals, "money_edges": money_edges,
        "arrangements": arrangements,
        "exchanged_by": exchanged_by,
    }


def build_index(directory: str | Path, graph=None) -> Path:
    """Compute the flow index of the store in ``directory`` (opened read-only unless ``graph`` is it)
    and write it beside the store: completely, or not at all."""
    from kg.sealed import computed_from

    directory = Path(directory)
    graph, manifest = computed_from(directory, graph)
    key = content_key(manifest)
    data = {**compute_index(graph), "key": key}
    # The flow graph in full (no what-if), for `kg export --flows`, which shows every detail of every
    # deal. Read in bulk, it needs memory in proportion to the store: only up to FULL_GRAPH_TRIPLES.
    edges = edges_path(directory)
    edges.unlink(missing_ok=True)
    if manifest.get("triples", 0) <= FULL_GRAPH_TRIPLES:
        from kg.flows import FlowReader

        _write_atomically(edges, _edge_lines(key, FlowReader(graph, read_all=True).graph_steps()))
    head = json.dumps({"format": _FORMAT, "version": _VERSION, "key": key}) + "\n"
    _write_atomically(index_path(directory), [head, json.dumps(data, ensure_ascii=False, separators=(",", ":")) + "\n"])
    return index_path(directory)


def edges_path(directory: str | Path) -> Path:
    return Path(directory) / EDGES_NAME


def _edge_lines(key: str, steps) -> Iterator[str]:
    yield json.dumps({"format": _EDGES_FORMAT, "version": _VERSION, "key": key}) + "\n"
    for step in steps:
        yield json.dumps(step, ensure_ascii=False, separators=(",", ":")) + "\n"


def load_flow_steps(directory: str | Path):
    """The steps of :meth:`kg.flows.FlowReader.graph_steps` kept with the store in ``directory`` (a
    list of JSON lines, decoded with :func:`decode_step`), or None when there are none that fit its
    content (missing, damaged, not sealed by kg for this user, or of other content)."""
    return _read_sealed(directory, edges_path(directory), _EDGES_FORMAT)


def decode_step(line: str) -> tuple:
    """A step of :meth:`kg.flows.FlowReader.graph_steps` from its JSON line (sources back to tuples)."""
    step = json.loads(line)
    if step[0] == "edge":
        attributes = step[4]
        attributes["sources"] = [tuple(s) for s in attributes.get("sources", ())]
    return tuple(step)


def replay(lines) -> "object":
    """The flow graph (as :func:`kg.flows.flow_graph` gives it with no what-if) from its steps."""
    import networkx as nx

    G = nx.MultiDiGraph(assumptions={})
    for line in lines:
        step = decode_step(line)
        if step[0] == "node":
            G.add_node(step[1], **step[2])
        else:
            G.add_edge(step[1], step[2], key=step[3], **step[4])
    return G


def ensure_index(directory: str | Path) -> bool:
    """Build the store's flow index unless a fresh one is there; True when it is there afterwards.

    A store stays usable without its index (the commands then read the RDF), so a failure to compute
    or write it is not an error here.
    """
    if load_index(directory) is not None:
        return True
    try:
        build_index(directory)
    except Exception:  # noqa: BLE001 - see above
        return False
    return True


def edges_in_graph_order(lines) -> tuple[Iterator[tuple], dict]:
    """(the edges (u, v, key, attributes) in the order ``G.edges(keys=True, data=True)`` gives them
    for the graph :func:`replay` makes, decoded one at a time; node -> label), from the steps."""
    labels: dict = {}
    order: dict = {}  # node -> when it was added
    first: dict = {}  # (u, v) -> the first edge between them
    keyed = []
    for number, line in enumerate(lines):
        if line.startswith('["node"'):
            _tag, node, attributes = json.loads(line)
            order[node] = len(order)
            labels[node] = attributes.get("label", node)
        else:
            # ["edge","u","v","key",{...}]: u and v without decoding the attributes (a ," cannot occur
            # inside a JSON string, where the quote is escaped)
            u, v = json.loads(line[:line.index(',"', line.index(',"', 8) + 1)] + "]")[1:3]
            first.setdefault((u, v), number)
            keyed.append((order[u], first[(u, v)], number))
    keyed.sort()

    def edges():
        for _u, _pair, number in keyed:
            _tag, u, v, key, attributes = decode_step(lines[number])
            yield u, v, key, attributes
    return edges(), labels

