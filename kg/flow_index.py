"""The flow index: who gives value to whom, worked out once when a persistent store is loaded, and kept
beside it.

``kg cycles``, ``trace``, ``flows``, ``viz`` and ``export --flows`` start from the same table: every deal
that can be drawn, its conditions, who gives value to whom in it, its kind of flow, its amount either
way of its conditions, and the names of the parties. On a large store, reading that table from the RDF
is most of what those commands cost. ``kg load`` (and every refresh of the store) computes it once and
writes it to ``flow-index.json`` in the store's directory; :class:`kg.flows.FlowReader` takes it as
``index`` and then reads from the RDF only the deals and parties it shows. Three more files are kept
beside it: ``flow-details.jsonl``, every deal's and party's details as the flow graph has them (no
what-if), one line each, read line by line for the deals a command shows, so that ``cycles``,
``trace``, ``flows ENTITY`` and ``viz`` need no RDF for them; ``flow-edges.jsonl``, the whole flow graph
with every detail (no what-if), which ``kg export --flows`` writes out as GraphML or GEXF without
reading the RDF; and ``flow-edges.csv``, that export as CSV, copied out as it is. All four are
written as they are computed, a chunk of deals at a time above :data:`BULK_READ_TRIPLES`, so that
computing them for a million deals takes memory for the index's columns, not for every deal's details.
The index also keeps what `kg viz` draws with no options (:func:`kg.flows.choose.default_choice`).

Each file names the store content it was computed from: a digest of the store's manifest (its source
files with their sizes and SHA-256, its triple count and load time). :func:`load_index` returns None
(and the commands read the RDF instead) when the file is missing, unreadable, of another version, or
computed from other content, or not sealed (an HMAC in its last line) with the key kg signs this
user's store manifests with (kg.store). Each line of ``flow-details.jsonl`` carries its own seal (of
the store's content key, its number and its text), so a line is checked alone when it is read; a line
that does not check is not used (that deal or party is read from the RDF). The files are JSON: opening a store's directory runs no code
from it.

The index holds no answer of its own: it is built by the same code that reads the RDF
(:mod:`kg.flows.deals`), and :class:`FlowReader` gives the same answers with it as without it.
"""

from __future__ import annotations

import gc
import hashlib
from decimal import Decimal
import hmac
import json
import os
import weakref
from itertools import chain
from pathlib import Path
from typing import Iterator

from kg.sealed import seal as _seal, write_sealed as _write_atomically
from kg.store import content_key  # noqa: F401 - also imported from here

#: File of the flow index inside a store directory.
INDEX_NAME = "flow-index.json"
#: File of the whole flow graph (every detail of every money edge, no what-if), one JSON line a step.
EDGES_NAME = "flow-edges.jsonl"
#: The whole flow graph as `kg export --flows --format csv` writes it (no what-if), after a header line.
CSV_NAME = "flow-edges.csv"
#: File of every deal's and party's details as the flow graph has them (no what-if), one sealed JSON
#: line each, read line by line for the deals and parties a command shows.
DETAILS_NAME = "flow-details.jsonl"
#: Largest store (in triples) whose flow files are computed from every property read in bulk, the
#: fastest way, which takes some 500 bytes of memory a triple (1.1 GB for the 2.3M triples of 100k
#: synthetic deals). Above it each deal is read alone, :data:`CHUNK_DEALS` at a time, and what was
#: read is dropped after each chunk: slower, but in memory that does not grow with the store.
BULK_READ_TRIPLES = 3_000_000
#: Deals computed between two drops of what was read for them (see :data:`BULK_READ_TRIPLES`).
CHUNK_DEALS = 5_000
_FORMAT, _EDGES_FORMAT, _CSV_FORMAT, _VERSION = "kg-flow-index", "kg-flow-edges", "kg-flow-csv", 8


def index_path(directory: str | Path) -> Path:
    return Path(directory) / INDEX_NAME


class FlowIndex:
    """A loaded flow index (see the module docstring); what :class:`kg.flows.FlowReader` asks of it.

    Deals are numbered in the order :func:`kg.flows.deals._plans` yields them; ``money_edges`` lists
    every money edge of every deal (before any what-if) as five numbers, in the order the flow graph
    has them: giver, taker (numbers of ``parties``), kind (a number of ``FLOW_KINDS``), deal, and how
    many edges share the deal's figure.

    Each deal's row is kept as JSON text and decoded when it is first asked for: what every command
    needs of every deal (its key, classes, whether it has conditions, its partners and what its
    amount means without what-if) is kept in columns beside the rows, so a command that shows a few
    deals decodes only theirs.
    """

    def __init__(self, data: dict):
        self.parties: list[str] = data["parties"]
        self._labels = dict(zip(self.parties, data["labels"]))
        self._labels_zh = dict(zip(self.parties, data["labels_zh"]))
        self._class_sets = [frozenset(names) for names in data["class_sets"]]
        self._texts: list[str] = data["deals"]
        self._rows: list = [None] * len(self._texts)
        self._keys: list = data["deal_keys"]
        self._class_of: list[int] = data["deal_classes"]
        self._conditional: list[int] = data["deal_conditional"]
        # deal number -> party numbers, when there are any
        self._partners: dict = {int(number): partners for number, partners in data["deal_partners"].items()}
        self._key_texts: list[str] | None = None
        self._meanings: dict = data["meanings"]  # field -> column: what the amounts mean without what-if
        self.money_edges: list[int] = data["money_edges"]
        self._numbers: dict | None = None
        #: deal key -> the kg:CircularArrangement IRIs it is part of
        self.arrangements: dict[str, list[str]] = data["arrangements"]
        #: deal -> the deals that state kg:exchangedFor it
        self.exchanged_by: dict[str, list[str]] = data["exchanged_by"]
        #: the deals' and parties' details (flow-details.jsonl), when kept with the store
        self._details: _SealedRecords | None = None
        self._viz: dict | None = data.get("viz")  # kg.flows.choose.default_choice
        self._party_numbers: dict | None = None
        if not (len(self._keys) == len(self._texts) == len(self._class_of) == len(self._conditional)
                and all(len(column) == len(self._texts) for name, column in self._meanings.items()
                        if name != "conditions")):
            raise ValueError("a flow index with columns of different lengths")

    def __len__(self) -> int:
        return len(self._texts)

    def forget_rows(self) -> None:
        """Drop the deals' rows decoded so far (a pass over every deal decodes each once)."""
        self._rows = [None] * len(self._texts)

    def _row(self, number: int) -> list:
        row = self._rows[number]
        if row is None:
            row = self._rows[number] = json.loads(self._texts[number])
        return row

    def plans(self, states: dict) -> Iterator:
        """The plans of :func:`kg.flows.deals._plans` under ``states`` (condition -> met?)."""
        for number in range(len(self)):
            plan = self.plan(number, states)
            if plan is not None:
                yield plan

    def plan(self, number: int, states: dict):
        """The plan of deal ``number`` under ``states``, or None when the deal does not happen."""
        from kg.flows.deals import _Plan, _status

        deal, conditions, roles, partners, _classes, _met, failed = self._row(number)[:7]
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
        return {number for number, conditional in enumerate(self._conditional) if conditional
                for row in (self._row(number),) if not row[6] and _status(row[1], states) == "failed"}

    def _number(self, deal) -> int | None:
        if self._numbers is None:
            self._numbers = {key: number for number, key in enumerate(self._keys)}
        return self._numbers.get(deal)

    def numbers_of(self, keys) -> set[int]:
        """Numbers of the deals whose keys (IRIs, as the flow graph's edge keys) are in ``keys``."""
        from kg.bulk import text
        return {number for number, key in enumerate(self._keys) if text(key) in keys}

    def key_of(self, number: int) -> str:
        """The deal's key in the flow graph (its IRI)."""
        return self.key_texts()[number]

    def key_texts(self) -> list[str]:
        """Every deal's key in the flow graph (its IRI), by number."""
        if self._key_texts is None:
            from kg.bulk import text
            self._key_texts = [text(key) for key in self._keys]
        return self._key_texts

    def default_amounts(self) -> tuple[list, list, list, list, list]:
        """(low, high, status, approximate, text) of every deal's amount without what-if, by number:
        what :meth:`meaning_at` gives then (``approximate`` as 0 or 1)."""
        m = self._meanings
        return m["low"], m["high"], m["status"], m["approximate"], m["text"]

    def partner_lists(self) -> dict[int, list]:
        """Deal number -> its partners (parties), for the deals with more than one."""
        return {number: [self.parties[i] for i in partners]
                for number, partners in self._partners.items() if len(partners) > 1}

    def partners_of(self, number: int) -> list[str]:
        partners = self._partners.get(number)
        return [self.parties[i] for i in partners] if partners else []

    def classes(self, deal) -> frozenset[str]:
        number = self._number(deal)
        return self._class_sets[self._class_of[number]] if number is not None else frozenset()

    def meaning(self, deal, status: str | None):
        """What the deal's amount means under condition ``status`` (:func:`kg.semantics.meaning`, as
        :func:`kg.flows.deals._meaning` reads it from the RDF)."""
        return self.meaning_at(self._number(deal), status)

    def meaning_at(self, number: int, status: str | None):
        from kg.semantics import Meaning

        if status == ("open" if self._conditional[number] else None):  # as without what-if: kept
            m = self._meanings
            return Meaning(m["low"][number], m["high"][number], m["kind"][number], m["status"][number],
                           m["text"][number], m["value"][number], bool(m["approximate"][number]),
                           derived=m["derived"][number], conditions=tuple(m["conditions"].get(str(number), ())))
        return _row_meaning(self._row(number), status)

    def status_of(self, number: int, states: dict) -> str | None:
        from kg.flows.deals import _status

        if not states:
            return "open" if self._conditional[number] else None
        return _status(self._row(number)[1], states) if self._conditional[number] else None

    def viz_choice(self, max_nodes: int) -> dict | None:
        """What `kg viz` draws with no options and at most ``max_nodes`` nodes, when kept with the
        index (:func:`kg.flows.choose.default_choice`), else None."""
        viz = self._viz
        return viz if isinstance(viz, dict) and viz.get("max_nodes") == max_nodes else None

    def label(self, party: str) -> str:
        return self._labels[party]

    def label_zh(self, party: str) -> str:
        return self._labels_zh[party]

    def deal_details(self, deal, status: str | None) -> dict | None:
        """What every edge of ``deal`` carries (:meth:`kg.flows.FlowReader.deal_details`) when its
        condition status is ``status``, or None when that is not kept (another status, no details)."""
        record = self._record(deal)
        if record is None or record[0] != status:
            return None
        return record[1]

    def deal_dates(self, deal) -> list | None:
        """(years, by-dates, time expressions) of ``deal`` as texts, or None when not kept."""
        record = self._record(deal)
        return None if record is None else record[2]

    def _record(self, deal) -> list | None:
        """[condition status without what-if, details, dates] of ``deal``, or None."""
        number = self._number(deal) if self._details is not None else None
        record = self._details.get(number) if number is not None else None
        return record if isinstance(record, list) and len(record) == 3 else None

    def node_details(self, party) -> dict | None:
        """The attributes of the party's node in the flow graph, or None when they are not kept."""
        if self._details is None:
            return None
        if self._party_numbers is None:
            self._party_numbers = {p: number for number, p in enumerate(self.parties)}
        number = self._party_numbers.get(party)
        return None if number is None else self._details.get(len(self) + number)


def _row_meaning(row: list, status: str | None):
    """What the amount of a deal's row means under condition ``status`` (:func:`kg.semantics.meaning`)."""
    from kg.semantics import Stated, meaning

    _deal, _conditions, _roles, _partners, _classes, met, failed, names, modality = row
    return meaning(Stated(Decimal(met[0]), *met[1:]) if met else None,
                   Stated(Decimal(failed[0]), *failed[1:]) if failed else None,
                   conditions=names, condition_status=status, modality=modality)


class _SealedRecords:
    """The lines of flow-details.jsonl, each read and decoded when first asked for, from where the
    sealed index says it starts. Each line carries its own seal (an HMAC of the store's content key, its number and its text), so a line
    is checked without reading the rest, and a line moved, changed or of other content is not used."""

    def __init__(self, path: Path, key: bytes, content: str, offsets: list[int]):
        self._path, self._key, self._content, self._offsets = path, key, content, offsets
        self._read: dict = {}  # number -> the record (not to be changed)
        self._handle = None  # the file, open while this is in use

    def get(self, number: int):
        if number not in self._read:
            self._read[number] = self._get(number)
        return self._read[number]

    def _get(self, number: int):
        if not 0 <= number < len(self._offsets) or self._key is None:
            return None
        try:
            if self._handle is None:
                self._handle = self._path.open("rb")
                weakref.finalize(self, self._handle.close)
            self._handle.seek(self._offsets[number])
            seal, _, payload = self._handle.readline().rstrip(b"\n").partition(b" ")
            if not hmac.compare_digest(seal, _record_seal(self._key, self._content, number, payload)):
                return None
            record = json.loads(payload)
        except (OSError, ValueError):  # unreadable or damaged: not used
            return None
        if isinstance(record, list) and len(record) == 3 and isinstance(record[1], dict):  # a deal's
            record[1]["sources"] = [tuple(s) for s in record[1]["sources"]]
        return record


def _record_seal(key: bytes, content: str, number: int, payload: bytes) -> bytes:
    return hmac.new(key, f"{content}:{number}:".encode("ascii") + payload, hashlib.sha256).hexdigest().encode("ascii")


def load_index(directory: str | Path) -> FlowIndex | None:
    """The flow index of the store in ``directory``, or None when there is none that fits its content."""
    body = _sealed_body(directory, index_path(directory), _FORMAT)
    if body is None:
        return None
    text = str(body, "utf-8")
    del body  # the file's bytes: not needed once decoded (300 MB at a million deals)
    if not text.endswith("\n") or text.count("\n") != 1:
        return None
    # Millions of lists and numbers: with the cyclic collector on, each of its passes would scan all
    # that was decoded so far (half the time of decoding). Nothing decoded refers back to itself.
    collecting = gc.isenabled()
    gc.disable()
    try:
        data = json.loads(text)
        del text
        index = FlowIndex(data)
        offsets = data.get("detail_offsets")
        if offsets is not None:
            from kg.store import _signing_key
            index._details = _SealedRecords(details_path(directory), _signing_key(), data["key"], offsets)
        return index
    except (ValueError, KeyError, IndexError, TypeError):  # damaged: not used
        return None
    finally:
        if collecting:
            gc.enable()


def _read_sealed(directory: str | Path, path: Path, kind: str) -> list[str] | None:
    """The lines after the header of one of the index's files, or None unless the file is whole,
    sealed by kg for this user and computed from the store's present content."""
    body = _sealed_body(directory, path, kind)
    return None if body is None else str(body, "utf-8").split("\n")[:-1]


def _sealed_body(directory: str | Path, path: Path, kind: str) -> memoryview | None:
    """What one of the index's files holds after its header line, or None unless the file is whole,
    sealed by kg for this user and computed from the store's present content."""
    from kg.errors import KgError
    from kg.store import _signing_key, read_manifest

    try:
        manifest = read_manifest(directory)
        key = _signing_key()
        if manifest is None or key is None or not path.is_file():
            return None
        raw = path.read_bytes()
        # the body (every line but the last, with its newline) is checked and cut without copies
        end = len(raw)
        while end and raw[end - 1] == 0x0A:  # the trailing newlines, without copying the file as rstrip would
            end -= 1
        cut = raw.rfind(b"\n", 0, end) + 1
        if cut == 0:
            return None
        seal = json.loads(raw[cut:end]).get("seal")
        whole = memoryview(raw)
        if not isinstance(seal, str) or not hmac.compare_digest(seal, _seal(key, whole[:cut])):
            return None
        first = raw.index(b"\n")
        head = json.loads(raw[:first])
        if (not isinstance(head, dict) or head.get("format") != kind or head.get("version") != _VERSION
                or head.get("key") != content_key(manifest)):
            return None
        return whole[first + 1:cut]
    except (OSError, ValueError, AttributeError, KgError):  # unreadable or damaged: not used
        return None


def compute_index(graph, chunk: int = CHUNK_DEALS) -> dict:
    """The flow index of an RDF graph, as the JSON object :func:`build_index` writes (without its key).

    What is read deal by deal (amounts, modality, condition names) is dropped every ``chunk`` deals."""
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
        if number and not number % chunk:
            facts.forget()
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
    meanings: dict = {field: [] for field in ("low", "high", "kind", "status", "text", "value", "approximate", "derived")}
    meanings["conditions"] = {}
    for number, row in enumerate(deals):  # without what-if (as FlowIndex.status_of has it then)
        m = _row_meaning(row, "open" if row[1] else None)
        for field in ("low", "high", "kind", "status", "text", "value", "derived"):
            meanings[field].append(getattr(m, field))
        meanings["approximate"].append(int(m.approximate))
        if m.conditions:
            meanings["conditions"][str(number)] = list(m.conditions)
    names = list(parties)
    return {
        "format": _FORMAT, "version": _VERSION,
        "parties": names, "labels": [facts.name(p) for p in names],
        "labels_zh": [facts.name(p, "zh", fallback=False) for p in names],
        "class_sets": [list(c) for c in class_sets],
        "deals": [json.dumps(row, ensure_ascii=False, separators=(",", ":")) for row in deals],
        "deal_keys": [row[0] for row in deals], "deal_classes": [row[4] for row in deals],
        "deal_conditional": [int(bool(row[1])) for row in deals],
        "deal_partners": {str(number): row[3] for number, row in enumerate(deals) if row[3]},
        "meanings": meanings, "money_edges": money_edges,
        "arrangements": arrangements,
        "exchanged_by": exchanged_by,
    }


def build_index(directory: str | Path, graph=None, *, chunk: int | None = None) -> Path:
    """Compute the flow index of the store in ``directory`` (opened read-only unless ``graph`` is it)
    and its details, whole flow graph and CSV, and write them beside the store: each completely, or
    not at all. Up to :data:`BULK_READ_TRIPLES` (and unless a ``chunk`` of deals is given) every
    property is read in bulk; above, deal by deal, ``chunk`` deals at a time (:data:`CHUNK_DEALS`).
    Either way the files are written as they are computed, and the same."""
    from kg.sealed import computed_from

    directory = Path(directory)
    graph, manifest = computed_from(directory, graph)
    key = content_key(manifest)
    in_bulk = chunk is None and manifest.get("triples", 0) <= BULK_READ_TRIPLES
    data = {**compute_index(graph, chunk or CHUNK_DEALS), "key": key}
    for stale in (edges_path(directory), details_path(directory), csv_path(directory)):
        stale.unlink(missing_ok=True)
    data["detail_offsets"] = _write_flow_files(directory, key, FlowIndex(data), graph, in_bulk, chunk or CHUNK_DEALS)
    from kg.flows import FlowReader
    from kg.flows.choose import default_choice

    data["viz"] = default_choice(FlowReader(graph, index=FlowIndex(data)))
    _write_atomically(index_path(directory), chain([_head(_FORMAT, key)], _json_pieces(data), ["\n"]))
    return index_path(directory)


def _json_pieces(data: dict) -> Iterator[str]:
    """``json.dumps(data, ensure_ascii=False, separators=(",", ":"))`` in pieces: its long lists a
    few thousand items at a time, so that the text of an index of a million deals is never whole.

    >>> data = {"a": list(range(12345)), "b": {"c": "é"}, "d": []}
    >>> "".join(_json_pieces(data)) == json.dumps(data, ensure_ascii=False, separators=(",", ":"))
    True
    """
    def dumps(value) -> str:
        return json.dumps(value, ensure_ascii=False, separators=(",", ":"))
    yield "{"
    for place, (name, value) in enumerate(data.items()):
        yield ("," if place else "") + dumps(name) + ":"
        if isinstance(value, list) and len(value) > _PIECE:
            yield "[" + ",".join(map(dumps, value[:_PIECE]))
            for start in range(_PIECE, len(value), _PIECE):
                yield "," + ",".join(map(dumps, value[start:start + _PIECE]))
            yield "]"
        else:
            yield dumps(value)
    yield "}"


_PIECE = 10_000  # list items in one piece of _json_pieces


def _write_flow_files(directory: Path, key: str, index: FlowIndex, graph, in_bulk: bool, chunk: int) -> list[int]:
    """Write the deals' and parties' details, the whole flow graph and its CSV beside the store in
    ``directory`` as they are computed (see :func:`build_index`); the details' offsets."""
    from kg.flow_export import iter_csv
    from kg.flows import FlowReader
    from kg.sealed import SealedWriter

    reader = FlowReader(graph, read_all=True) if in_bulk else FlowReader(graph, index=index)
    with SealedWriter(edges_path(directory)) as out:
        out.write(_head(_EDGES_FORMAT, key))
        steps = _StepWriter(out)
        offsets = _write_details(details_path(directory), key, index, reader, steps=steps, chunk=chunk)
    with edges_path(directory).open("rb") as stored, SealedWriter(csv_path(directory)) as out:
        def edges():
            for place in steps.order.places():
                stored.seek(place)
                _tag, u, v, edge_key, attributes = decode_step(stored.readline().decode("utf-8"))
                yield u, v, edge_key, attributes
        labels = steps.order.labels
        out.write(_head(_CSV_FORMAT, key))
        for piece in iter_csv(edges(), lambda node: labels.get(node, node)):
            out.write(piece)
    return offsets


class _StepWriter:
    """What :meth:`kg.flows.FlowReader.graph` adds to a flow graph (no relations), written as the
    JSON lines of :func:`_step_line` as it comes, keeping only the nodes added and what puts the
    edges in the graph's order (:class:`_GraphOrder`): the flow graph of a million deals is never whole."""

    def __init__(self, out):
        self._out = out
        self.order = _GraphOrder()

    def __contains__(self, node) -> bool:
        return node in self.order

    def add_node(self, node, **attributes) -> None:
        if node not in self.order:
            self._out.write(_step_line(("node", node, attributes)))
            self.order.node(node, attributes.get("label", node))

    def add_edge(self, u, v, key=None, **attributes) -> None:
        self.order.edge(u, v, self._out.write(_step_line(("edge", u, v, key, attributes))))


class _GraphOrder:
    """Where each node and edge of a flow graph is added (a number, growing), to list its edges in the
    order ``G.edges(keys=True)`` gives them: by their source's place, then by the place of the first
    edge between the same two nodes, then by their own. Also every node's label."""

    def __init__(self):
        self.labels: dict = {}
        self._nodes: dict = {}  # node -> when it was added
        self._first: dict = {}  # (u, v) -> the place of the first edge between them
        self._keyed: list = []

    def __contains__(self, node) -> bool:
        return node in self._nodes

    def node(self, node, label) -> None:
        self._nodes[node] = len(self._nodes)
        self.labels[node] = label

    def edge(self, u, v, place: int) -> None:
        self._keyed.append((self._nodes[u], self._first.setdefault((u, v), place), place))

    def places(self) -> list[int]:
        """The edges' places, in the graph's order."""
        self._keyed.sort()
        return [place for _u, _pair, place in self._keyed]


def edges_path(directory: str | Path) -> Path:
    return Path(directory) / EDGES_NAME


def csv_path(directory: str | Path) -> Path:
    return Path(directory) / CSV_NAME


def load_flow_csv(directory: str | Path) -> memoryview | None:
    """The CSV edge list of the whole flow graph (no what-if) kept with the store in ``directory``, as
    :func:`kg.flow_export.export_flows` writes it, or None when there is none that fits its content."""
    return _sealed_body(directory, csv_path(directory), _CSV_FORMAT)


def details_path(directory: str | Path) -> Path:
    return Path(directory) / DETAILS_NAME


def _write_details(path: Path, content: str, index: FlowIndex, reader, *, steps=None,
                   chunk: int = CHUNK_DEALS) -> list[int]:
    """Write every deal's details (its status without what-if, and what its edges carry) and every
    party's node attributes, one sealed line each (:class:`_SealedRecords`), numbered deals first;
    add each deal's edges to ``steps`` (:class:`_StepWriter`) as :meth:`kg.flows.FlowReader.graph` adds them. What
    was read for them is dropped every ``chunk`` deals (but the parties'). The lines' offsets."""
    from kg.store import _signing_key

    key = _signing_key()
    if key is None:
        raise OSError("no key to seal the flow index with")
    from kg.bulk import PropertyTable, text
    from kg.flows.common import FLOW_KINDS, KG

    arrangements, exchanged_by = index.arrangements, index.exchanged_by
    dated = (KG.year, KG.byDate, KG.timeExpression)
    # read in bulk with the rest, or deal by deal with the rest
    dates = reader.rows_table() or PropertyTable(reader.rdf_graph, dated)
    parties = frozenset(index.parties)  # their rows are read again and again: kept
    offsets: list[int] = []
    temporary = path.with_name(path.name + ".tmp")
    try:
        with temporary.open("wb") as handle:
            def write(record) -> None:
                payload = json.dumps(record, ensure_ascii=False, separators=(",", ":")).encode("utf-8")
                offsets.append(handle.tell())
                handle.write(_record_seal(key, content, len(offsets) - 1, payload) + b" " + payload + b"\n")
            for number in range(len(index)):
                if number and not number % chunk:
                    reader.forget(parties)
                    index.forget_rows()
                plan = index.plan(number, {})
                common = reader.deal_details(plan, arrangements, exchanged_by)
                write([plan.status, common, [sorted(text(v) for v in dates.objects(plan.deal, prop)) for prop in dated]])
                if steps is not None:
                    edges = reader._edges(plan, None, FLOW_KINDS)
                    if edges:
                        reader._add_deal(steps, plan, edges, arrangements, exchanged_by, False, common)
            for party in index.parties:
                write(reader.node_attributes(party))
        os.replace(temporary, path)
    finally:
        temporary.unlink(missing_ok=True)
    return offsets


def _step_line(step) -> str:
    """One step of a flow graph (a node or an edge added) as a line of ``flow-edges.jsonl``."""
    return json.dumps(step, ensure_ascii=False, separators=(",", ":")) + "\n"


def _head(kind: str, key: str) -> str:
    """The first line of a flow file: its kind, kg's version of it and the store content it is of."""
    return json.dumps({"format": kind, "version": _VERSION, "key": key}) + "\n"


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
    order = _GraphOrder()
    for number, line in enumerate(lines):
        if line.startswith('["node"'):
            _tag, node, attributes = json.loads(line)
            order.node(node, attributes.get("label", node))
        else:
            # ["edge","u","v","key",{...}]: u and v without decoding the attributes (a ," cannot occur
            # inside a JSON string, where the quote is escaped)
            u, v = json.loads(line[:line.index(',"', line.index(',"', 8) + 1)] + "]")[1:3]
            order.edge(u, v, number)

    def edges():
        for number in order.places():
            _tag, u, v, key, attributes = decode_step(lines[number])
            yield u, v, key, attributes
    return edges(), order.labels
