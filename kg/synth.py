"""Synthetic deal networks shaped like the article's data, for scale tests and benchmarks.

``generate(deals, orgs, seed)`` yields Turtle text using the same ontology terms as facts.ttl:
organizations with English and Chinese labels; n-ary deals of every kind with kg:payer/kg:payee
or kg:grantor/kg:grantee (or two kg:partner); figure nodes (schema:value xsd:decimal,
schema:currency "USD", kg:figureKind) including "up to", approximate and order-of-magnitude amounts;
conditional deals with kg:condition and kg:amountIfConditionFails; funding rounds and tranches linked
by kg:partOfDeal; two-payer co-investments; and circular deals — two deals between the same two
organizations in opposite directions, linked by kg:exchangedFor and recorded as a
kg:CircularArrangement, like Nvidia–OpenAI, AMD–OpenAI and CoreWeave–OpenAI.

Every fact node carries ``kg:source [ kg:document kgd:synthetic-doc ; kg:line N ; kg:quote "…" ]``
pointing into a synthetic source document (it has no kg:localCopy: there is no text to check quotes
against). Organizations have a source too.

The network's shape is controlled so results are known in advance: ordinary deals only run "down"
a fixed order of organizations (investors → AI labs → tech companies → cloud providers → chip
vendors), and every circular pair uses two organizations no other deal connects. Exactly
``deals // 20`` pairs are made (10% of deals are in a pair), and only they are recorded as
kg:CircularArrangement. A pair's deal that runs "up" (a vendor investing in a lab, a cloud granting it
shares) also closes longer loops with ordinary deals (lab → cloud → vendor → lab): `kg cycles` finds
those too, and does not call them named in the source. The same arguments always give the same text, byte for byte.

>>> text = "".join(generate(deals=40, orgs=12, seed=7))
>>> text == "".join(generate(deals=40, orgs=12, seed=7))
True
>>> text.count(" a kg:CircularArrangement")
2
"""

from __future__ import annotations

import random
from dataclasses import dataclass, field
from typing import Iterator, TextIO

#: Share of deals that are in a circular pair (two deals per pair).
LOOP_SHARE = 0.10

_PREFIXES = """@prefix kg:     <https://w3id.org/aimoney/ontology#> .
@prefix kgd:    <https://w3id.org/aimoney/id/> .
@prefix rdfs:   <http://www.w3.org/2000/01/rdf-schema#> .
@prefix xsd:    <http://www.w3.org/2001/XMLSchema#> .
@prefix schema: <https://schema.org/> .
@prefix unit:   <http://qudt.org/vocab/unit/> .
"""

# Organization tiers, in the order money runs in ordinary deals, with their share of organizations.
_TIERS = [("investor", 0.20), ("lab", 0.25), ("tech", 0.15), ("cloud", 0.20), ("vendor", 0.20)]
_TIER_TYPES = {"investor": "kg:Investor", "lab": "kg:AILab", "tech": "kg:TechCompany",
               "cloud": "kg:CloudProvider", "vendor": "kg:ChipVendor"}
_TIER_ZH = {"investor": "投资机构", "lab": "AI实验室", "tech": "科技公司", "cloud": "云服务商", "vendor": "芯片厂商"}
_KIND_WEIGHTS = [("kg:Exact", 50), ("kg:UpperBound", 20), ("kg:Approximate", 15), ("kg:LowerBound", 5),
                 ("kg:OrderOfMagnitude", 10)]
_MODALITY_WEIGHTS = [("kg:Reported", 65), ("kg:Estimated", 8), ("kg:Projected", 7), ("kg:Pledged", 5),
                     ("kg:Conditional", 15)]


@dataclass
class SynthStats:
    """What a generated network holds (filled in while generating)."""

    deals: int = 0
    organizations: int = 0
    conditions: int = 0
    circular_pairs: int = 0
    deal_kinds: dict = field(default_factory=dict)


def default_orgs(deals: int) -> int:
    """Organizations for ``deals`` deals when not given: one per ten deals (and enough for the loops)."""
    return max(10, deals // 10, min_orgs(deals))


def min_orgs(deals: int) -> int:
    """The fewest organizations ``generate`` accepts for ``deals`` deals."""
    orgs = 10
    while deals // 20 > (round(orgs * 0.25) * (orgs - round(orgs * 0.2) - round(orgs * 0.25) - round(orgs * 0.15))) // 4:
        orgs += 1
    return orgs


def _esc(text: str) -> str:
    return text.replace("\\", "\\\\").replace('"', '\\"')


class _Generator:
    def __init__(self, deals: int, orgs: int, seed: int, stats: SynthStats):
        if deals < 0:
            raise ValueError("deals must be >= 0")
        if orgs < 10:
            raise ValueError("need at least 10 organizations (two of each kind)")
        self.n_deals, self.n_orgs, self.seed, self.stats = deals, orgs, seed, stats
        self.rng = random.Random(seed)
        self.line = 0
        self.deal_no = 0
        self.edges: set[tuple[int, int]] = set()     # directed (from, to) pairs used by any deal
        self.tiers: dict[str, range] = {}
        start = 0
        for i, (tier, share) in enumerate(_TIERS):
            end = orgs if i == len(_TIERS) - 1 else start + max(2, round(orgs * share))
            self.tiers[tier] = range(start, end)
            start = end
        self.n_conditions = max(1, deals // 50)
        # Each circular pair needs a (lab, vendor or cloud) pair no other deal uses; keep them sparse.
        free = len(self.tiers["lab"]) * (len(self.tiers["vendor"]) + len(self.tiers["cloud"]))
        if deals // 20 > free // 4:
            raise ValueError(f"{orgs} organizations are too few for {deals} deals' circular pairs "
                             f"(use at least {min_orgs(deals)})")

    # ---- small pieces of Turtle
    def source(self, quote: str) -> str:
        self.line += 1
        return (f'kg:source [ kg:document kgd:synthetic-doc ; kg:line {self.line} ; '
                f'kg:quote "{_esc(quote)} (record {self.line})" ]')

    def figure(self, value: float, kind: str, quote: str, unit: str | None = None) -> str:
        decimal = f"{value:.2f}" if value < 1000 else f"{value:.1f}"
        typ = (f"kg:Quantity ; schema:value {decimal} ; schema:unitCode {unit}" if unit else
               f'kg:MonetaryAmount ; schema:value {decimal} ; schema:currency "USD"')
        return f"[ a {typ} ; kg:figureKind {kind} ;\n        {self.source(quote)} ]"

    def money(self, low: float, high: float) -> tuple[float, str]:
        rng = self.rng
        kind = rng.choices([k for k, _ in _KIND_WEIGHTS], [w for _, w in _KIND_WEIGHTS])[0]
        value = low * (high / low) ** rng.random()
        if kind == "kg:OrderOfMagnitude":
            value = 10.0 ** int(f"{value:e}".split("e")[1])
        else:  # two significant figures, like reported numbers
            value = float(f"{value:.2g}")
        return value, kind

    def org(self, i: int) -> str:
        return f"kgd:synth-org-{i}"

    def pick(self, tier: str) -> int:
        return self.rng.choice(self.tiers[tier])

    # ---- output
    def header(self) -> str:
        return (f"# Synthetic deal network: {self.n_deals} deals, {self.n_orgs} organizations, seed {self.seed}.\n"
                f"# Made by `kg synth`; shaped like facts.ttl (see kg/synth.py). Not real data.\n\n{_PREFIXES}\n"
                f"kgd:synthetic-doc a kg:SourceDocument ;\n"
                f'    rdfs:label "Synthetic deal network (seed {self.seed})"@en , "合成交易网络(种子 {self.seed})"@zh ;\n'
                f'    rdfs:comment "Generated by kg synth for scale tests; not a real document."@en .\n\n')

    def organizations(self) -> Iterator[str]:
        for tier, members in self.tiers.items():
            for i in members:
                types = [_TIER_TYPES[tier]]
                if tier == "vendor" and i % 3 == 0:
                    types.append("kg:Investor")  # chip vendors that also invest, like Nvidia
                if tier == "cloud" and i % 4 == 0:
                    types.append("kg:TechCompany")
                yield (f"{self.org(i)} a {' , '.join(types)} ;\n"
                       f'    rdfs:label "Synthetic {tier} {i}"@en , "合成{_TIER_ZH[tier]}{i}"@zh ; kg:alias "synth-{i}" ;\n'
                       f"    {self.source(f'organization {i}')} .\n")
        self.stats.organizations = self.n_orgs

    def conditions(self) -> Iterator[str]:
        for c in range(self.n_conditions):
            requires = ""
            if c >= 2 and self.rng.random() < 0.3:  # sub-conditions point to earlier ones: no cycles
                subs = sorted(self.rng.sample(range(c), 2))
                requires = f"    kg:requires kgd:synth-cond-{subs[0]} , kgd:synth-cond-{subs[1]} ;\n"
            year = 2025 + c % 3
            yield (f"kgd:synth-cond-{c} a kg:Condition ;\n"
                   f'    rdfs:label "synthetic condition {c} is met"@en , "合成条件{c}达成"@zh ; kg:alias "synth-cond-{c}" ;\n'
                   f'    kg:byDate "{year}-12-31"^^xsd:date ;\n{requires}'
                   f"    {self.source(f'condition {c}')} .\n")
        self.stats.conditions = self.n_conditions

    def deal(self, kind: str, parties: str, *, low: float = 1e8, high: float = 1e11, amount: bool = True,
             modality: str | None = None, extra: str = "", label: str = "") -> tuple[str, str]:
        """One deal node; returns (IRI, Turtle)."""
        rng = self.rng
        iri = f"kgd:synth-deal-{self.deal_no}"
        number = self.deal_no
        self.deal_no += 1
        self.stats.deal_kinds[kind] = self.stats.deal_kinds.get(kind, 0) + 1
        if modality is None:
            modality = rng.choices([m for m, _ in _MODALITY_WEIGHTS], [w for _, w in _MODALITY_WEIGHTS])[0]
        lines = [f"{iri} a {kind} ;",
                 f'    rdfs:label "synthetic deal {number}{label}"@en , "合成交易{number}"@zh ;',
                 f"    {parties} ;",
                 f'    kg:modality {modality} ; kg:year "{2023 + number % 4}"^^xsd:gYear ;']
        if amount:
            value, fkind = self.money(low, high)
            lines.append(f"    kg:amount {self.figure(value, fkind, f'deal {number} amount')} ;")
            if modality == "kg:Conditional":
                cond = rng.randrange(self.n_conditions)
                fails = float(f"{value * rng.choice((0.0, 0.25, 0.5)):.2g}")
                lines.append(f"    kg:condition kgd:synth-cond-{cond} ;")
                lines.append(f"    kg:amountIfConditionFails {self.figure(fails, 'kg:Exact', f'deal {number} if the condition fails')} ;")
        elif modality == "kg:Conditional":
            lines.append(f"    kg:condition kgd:synth-cond-{rng.randrange(self.n_conditions)} ;")
        if extra:
            lines.append(extra)
        lines.append(f"    {self.source(f'deal {number}')} .\n")
        return iri, "\n".join(lines)

    def free_pair(self, from_tiers, to_tier) -> tuple[int, int] | None:
        """Two organizations for an ordinary deal from → to that does not reverse any existing deal."""
        for _ in range(50):
            a, b = self.pick(self.rng.choice(from_tiers)), self.pick(to_tier)
            if a != b and (b, a) not in self.edges:
                self.edges.add((a, b))
                return a, b
        return None

    # ---- events: one or more deals
    def ordinary(self) -> Iterator[str]:
        rng = self.rng
        r = rng.random()
        if r < 0.22:  # investment in a lab
            a, b = self.free_pair(["investor"], "lab") or (None, None)
            if a is not None:
                yield self.deal("kg:Investment", f"kg:payer {self.org(a)} ; kg:payee {self.org(b)}")[1]
                return
        elif r < 0.27:  # co-investment: two payers, one figure for both
            a, b = self.free_pair(["investor"], "lab") or (None, None)
            c = self.pick("investor")
            if a is not None and c != a and (b, c) not in self.edges:
                self.edges.add((c, b))
                yield self.deal("kg:Investment", f"kg:payer {self.org(a)} , {self.org(c)} ; kg:payee {self.org(b)}")[1]
                return
        elif r < 0.32 and self.budget >= 4:  # funding round with investments, one in two tranches
            lab = self.pick("lab")
            investors = [i for i in rng.sample(self.tiers["investor"], 2) if (lab, i) not in self.edges]
            if len(investors) == 2:
                for i in investors:
                    self.edges.add((i, lab))
                payers = " , ".join(self.org(i) for i in investors)
                round_iri, text = self.deal("kg:FundingRound", f"kg:payer {payers} ; kg:payee {self.org(lab)}",
                                            low=1e9, high=5e10, modality="kg:Projected")
                yield text
                first_iri, text = self.deal("kg:Investment", f"kg:payer {self.org(investors[0])} ; kg:payee {self.org(lab)}",
                                            modality="kg:Reported", extra=f"    kg:partOfDeal {round_iri} ;")
                yield text
                yield self.deal("kg:InvestmentTranche", f"kg:payer {self.org(investors[0])} ; kg:payee {self.org(lab)}",
                                modality="kg:Reported", extra=f"    kg:partOfDeal {first_iri} ;")[1]
                yield self.deal("kg:InvestmentTranche", f"kg:payer {self.org(investors[0])} ; kg:payee {self.org(lab)}",
                                modality="kg:Conditional", extra=f"    kg:partOfDeal {first_iri} ;")[1]
                return
        elif r < 0.52:  # chips
            a, b = self.free_pair(["lab", "tech", "cloud"], "vendor") or (None, None)
            if a is not None:
                extra = ""
                if rng.random() < 0.3:
                    extra = f"    kg:quantity {self.figure(float(rng.randint(1, 10)), 'kg:Exact', 'gigawatts', 'unit:GigaW')} ;"
                yield self.deal("kg:ChipPurchase", f"kg:payer {self.org(a)} ; kg:payee {self.org(b)}", extra=extra)[1]
                return
        elif r < 0.72:  # cloud and compute
            a, b = self.free_pair(["lab", "tech"], "cloud") or (None, None)
            if a is not None:
                kind = rng.choice(["kg:CloudContract", "kg:ComputePurchase"])
                extra = ""
                if rng.random() < 0.2:
                    extra = f"    kg:duration {self.figure(float(rng.randint(2, 8)), 'kg:Exact', 'years', 'unit:YR')} ;"
                yield self.deal(kind, f"kg:payer {self.org(a)} ; kg:payee {self.org(b)}", extra=extra)[1]
                return
        elif r < 0.80:  # a lab grants shares or options
            a, b = self.free_pair(["lab"], rng.choice(["tech", "cloud", "vendor"])) or (None, None)
            if a is not None:
                if rng.random() < 0.5:
                    share = self.figure(float(rng.randint(1, 20)), "kg:UpperBound", "share of equity", "unit:PERCENT")
                    price = self.figure(0.01, "kg:Exact", "price per share")
                    yield self.deal("kg:EquityOption", f"kg:grantor {self.org(a)} ; kg:grantee {self.org(b)}", amount=False,
                                    extra=f"    kg:shareOfEquity {share} ;\n    kg:pricePerShare {price} ;")[1]
                else:
                    yield self.deal("kg:ShareGrant", f"kg:grantor {self.org(a)} ; kg:grantee {self.org(b)}", low=1e7, high=1e9)[1]
                return
        elif r < 0.90:  # a lab's model in a tech company's product
            a, b = self.free_pair(["lab"], "tech") or (None, None)
            if a is not None:
                yield self.deal("kg:ProductIntegration", f"kg:grantor {self.org(a)} ; kg:grantee {self.org(b)}", amount=False)[1]
                return
        else:  # partnership: no direction, no money
            a, b = self.pick("lab"), self.pick(rng.choice(["tech", "cloud"]))
            yield self.deal(rng.choice(["kg:Partnership", "kg:DataCenterBuild"]),
                            f"kg:partner {self.org(a)} , {self.org(b)}", amount=False)[1]
            return
        # the drawn event did not fit (no free pair): a plain investment between fresh-enough parties
        a, b = self.free_pair(["investor"], "lab") or self.free_pair(["lab", "tech"], "cloud")
        yield self.deal("kg:Investment", f"kg:payer {self.org(a)} ; kg:payee {self.org(b)}")[1]

    def loop(self, number: int) -> Iterator[str]:
        """Two deals in opposite directions between a lab and a vendor or cloud no deal links yet."""
        rng = self.rng
        for _ in range(200):
            kind = rng.randrange(4)
            lab, other = self.pick("lab"), self.pick("vendor" if kind < 2 else "cloud")
            if (lab, other) not in self.edges and (other, lab) not in self.edges:
                break
        else:
            raise ValueError("too few organizations for the circular deals; raise --orgs")
        self.edges.update({(lab, other), (other, lab)})
        L, O = self.org(lab), self.org(other)
        first, second = f"kgd:synth-deal-{self.deal_no}", f"kgd:synth-deal-{self.deal_no + 1}"
        if kind == 0:  # vendor invests up to X in the lab, which buys the vendor's chips
            a = self.deal("kg:Investment", f"kg:payer {O} ; kg:payee {L}", extra=f"    kg:exchangedFor {second} ;", label=" (loop)")
            b = self.deal("kg:ChipPurchase", f"kg:payer {L} ; kg:payee {O}", extra=f"    kg:exchangedFor {first} ;", label=" (loop)")
        elif kind == 1:  # lab buys chips; vendor grants the lab an option on its shares
            a = self.deal("kg:ChipPurchase", f"kg:payer {L} ; kg:payee {O}", extra=f"    kg:exchangedFor {second} ;", label=" (loop)")
            share = self.figure(float(rng.randint(1, 10)), "kg:UpperBound", "share of equity", "unit:PERCENT")
            b = self.deal("kg:EquityOption", f"kg:grantor {O} ; kg:grantee {L}", amount=False, label=" (loop)",
                          extra=f"    kg:exchangedFor {first} ;\n    kg:shareOfEquity {share} ;")
        elif kind == 2:  # lab's compute contract; cloud gives the lab shares
            a = self.deal("kg:CloudContract", f"kg:payer {L} ; kg:payee {O}", extra=f"    kg:exchangedFor {second} ;", label=" (loop)")
            b = self.deal("kg:ShareGrant", f"kg:grantor {O} ; kg:grantee {L}", low=1e7, high=1e9, label=" (loop)",
                          extra=f"    kg:exchangedFor {first} ;")
        else:  # lab pays the cloud; the cloud builds it a data center
            a = self.deal("kg:ComputePurchase", f"kg:payer {L} ; kg:payee {O}", extra=f"    kg:exchangedFor {second} ;", label=" (loop)")
            b = self.deal("kg:DataCenterBuild", f"kg:grantor {O} ; kg:grantee {L}", amount=False, label=" (loop)",
                          extra=f"    kg:exchangedFor {first} ;")
        yield a[1]
        yield b[1]
        yield (f"kgd:synth-loop-{number} a kg:CircularArrangement ;\n"
               f'    rdfs:label "synthetic circular deal {number}"@en , "合成循环交易{number}"@zh ;\n'
               f"    schema:hasPart {first} , {second} ;\n"
               f"    {self.source(f'circular deal {number}')} .\n")
        self.stats.circular_pairs += 1

    def remaining(self) -> int:
        return self.n_deals - self.deal_no

    @property
    def budget(self) -> int:
        """Deals ordinary events may still make, leaving room for the circular pairs not made yet."""
        return self.remaining() - 2 * self.loops_left

    def deals(self) -> Iterator[str]:
        self.loops_left = self.n_deals // 20
        while self.remaining() > 0:
            # Loops are spread evenly at random (chance = the share of remaining deals they still
            # need), and forced once only their deals are left.
            if self.loops_left and (self.budget <= 0 or self.rng.random() < 2 * self.loops_left / self.remaining()):
                yield from self.loop(self.stats.circular_pairs)
                self.loops_left -= 1
            else:
                yield from self.ordinary()
        self.stats.deals = self.deal_no


def generate(deals: int = 1000, orgs: int | None = None, seed: int = 0,
             stats: SynthStats | None = None) -> Iterator[str]:
    """Turtle text of a synthetic deal network, in chunks; ``stats`` is filled in as it goes."""
    gen = _Generator(deals, default_orgs(deals) if orgs is None else orgs, seed, stats or SynthStats())
    yield gen.header()
    yield from gen.organizations()
    yield "\n"
    yield from gen.conditions()
    yield "\n"
    yield from gen.deals()


def write_synthetic(out: TextIO, deals: int = 1000, orgs: int | None = None, seed: int = 0) -> SynthStats:
    """Write a synthetic network to the text stream ``out``; return what it holds."""
    stats = SynthStats()
    buffer: list[str] = []
    for chunk in generate(deals, orgs, seed, stats):
        buffer.append(chunk)
        if len(buffer) >= 2000:
            out.write("".join(buffer))
            buffer.clear()
    out.write("".join(buffer))
    return stats
