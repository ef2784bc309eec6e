"""Commands to trace money: ``kg trace``, ``kg cycles``, ``kg flows``.

Each command builds the flow graph (:func:`kg.flows.flow_graph`) under the ``--assume`` what-ifs, calls one
analysis and prints a table (or JSON with ``--format json``). networkx is imported only when a command
runs, through ``kg.flows``.
"""

from __future__ import annotations

import json

import click

from kg.cli import data_option, main, open_graph
from kg.errors import NoResultsError
from kg.terminal import printable

#: The flow kinds (a copy of ``kg.flows.FLOW_KINDS``, kept here so `kg --help` does not import networkx).
FLOW_KINDS = ("investment", "purchase", "contract", "equity", "in-kind")

_KIND_HELP = "Only flows of this kind (repeatable): " + ", ".join(FLOW_KINDS) + "."
_ASSUME_HELP = ("What if: treat a condition as met or failed, e.g. restructuring=failed (repeatable; "
                "`kg flows --conditions` lists them).")


def _common(command):
    command = click.option("--format", "fmt", type=click.Choice(["table", "json"]), default="table",
                           show_default=True, help="Readable table, or JSON for programs.")(command)
    command = click.option("--assume", "assume", multiple=True, metavar="CONDITION=met|failed",
                           help=_ASSUME_HELP)(command)
    command = click.option("--kind", "kinds", multiple=True, metavar="KIND", help=_KIND_HELP)(command)
    return data_option(command)


def store_flow_index(ctx, graph=None):
    """The ``--store``'s flow index (kg.flow_index), or None (no store, or no index that fits it). Ask
    after open_graph, which refreshes the store (and its index) when a file changed. With ``--endpoint``,
    the remote ``graph``'s, computed from a few bulk queries (kg.remote_flows)."""
    remote_index = getattr(getattr(graph, "store", None), "flow_index", None)
    if remote_index is not None:
        return remote_index()
    store_dir = (ctx.find_root().obj or {}).get("store_dir")
    if not store_dir:
        return None
    from kg.flow_index import load_index
    return load_index(store_dir)


def _usd(value, approximate=False) -> str:
    from kg.amounts import format_usd

    if value is None:
        return "not stated"
    sign = "−" if value < 0 else ("+" if value > 0 else "")
    return f"{sign}{'~ ' if approximate else ''}{format_usd(abs(value))}"


def _json(data) -> None:
    click.echo(json.dumps(data, ensure_ascii=False, indent=2, default=list))


def _assumption_line(assumed: dict | None) -> str | None:
    """The what-ifs in force (``G.graph["assumptions"]``, ``FlowReader.assumptions``) as one line."""
    if not assumed:
        return None
    return "Assuming: " + ", ".join(f"{name} {state}" for name, state in assumed.items())


def _edge_line(edge: dict, indent: str, width: int) -> str:
    terms = f"  [{edge['terms_text']}]" if edge["terms_text"] else ""
    cond = ""
    if edge["conditions"]:
        state = edge["condition_status"]
        cond = f"  (if {'; '.join(edge['condition_labels'])}: {state}"
        if state == "open":
            cond += f"; {edge['amount_met_text']} if met, {edge['amount_failed_text']} if failed"
        cond += ")"
    line = f"line {edge['source_line']}" if edge["source_line"] else "no source"
    if edge.get("derived_by"):
        terms += f"  (derived: {edge['derived_by']})"
    if edge.get("status") in ("projected", "planned", "estimated"):
        terms += f"  ({edge['status']})"
    return (f"{indent}{edge['kind']:<10}  {edge['amount_text']:<{width}}  {line:<8}  "
            f"{edge['deal_label']}{terms}{cond}")


def _hop_lines(hop: dict, width: int) -> list[str]:
    head = f"   {hop['from_label']} → {hop['to_label']}"
    lines = [head]
    for edge in hop["edges"]:
        lines.append(_edge_line(edge, "      ", width))
    return lines


def _capacity_text(path: dict) -> str:
    if path["capacity"] is None:
        return "no amount stated on any hop"
    text = f"at most {_usd(path['capacity']).lstrip('+')} can pass"
    if not path["capacity_complete"]:
        text += " (some hops have no stated limit)"
    return text


@main.command()
@click.argument("source", metavar="FROM")
@click.argument("target", metavar="[TO]", required=False)
@click.option("--max-hops", type=int, default=4, show_default=True, help="Longest path, in hops (1-8).")
@click.option("--limit", type=int, default=50, show_default=True, help="Show at most this many paths.")
@_common
@click.pass_context
def trace(ctx, source, target, max_hops, limit, kinds, assume, fmt):
    """Paths by which money leaves FROM (and reaches TO), hop by hop.

    Each hop shows its deals with kind, amount, article line and conditions; each path shows the most
    that can pass along it (the smallest upper bound of its hops).

    \b
    Examples:
      kg trace SoftBank Nvidia
      kg trace 软银 --max-hops 2 --kind investment
      kg trace SoftBank Nvidia --assume restructuring=failed --format json
    """
    from kg.reports import trace_report

    # The paths are found and ranked on who pays whom and the amounts; only those shown are read in
    # full (kg.flows.FlowReader). The same answer as trace() on the whole flow graph, much faster.
    graph = open_graph(ctx)
    report = trace_report(graph, source, target, max_hops=max_hops, limit=limit, kinds=kinds,
                          assume=assume, index=store_flow_index(ctx, graph))
    if fmt == "json":
        _json(report)
        return
    paths, more = report["paths"], report["truncated"]
    where = f" to {paths[0]['nodes_labels'][-1]}" if report["to"] else ""
    lines = [f"Money from {paths[0]['nodes_labels'][0]}{where}: {len(paths)} path{'s' * (len(paths) != 1)}"
             f" (max {max_hops} hops{'; more not shown, raise --limit' if more else ''})"]
    assumption = _assumption_line(report["assumptions"])
    if assumption:
        lines.append(assumption)
    for number, path in enumerate(paths, 1):
        lines.append("")
        lines.append(f"{number}. {' → '.join(path['nodes_labels'])}    {_capacity_text(path)}")
        width = max(len(e["amount_text"]) for h in path["hops"] for e in h["edges"])
        for hop in path["hops"]:
            lines.extend(_hop_lines(hop, width))
    lines.extend(_open_conditions_note([e for p in paths for h in p["hops"] for e in h["edges"]]))
    click.echo(printable("\n".join(lines)))


def _open_conditions_note(edges) -> list[str]:
    open_conds = sorted({c for e in edges if e["condition_status"] == "open" for c in e["condition_names"]})
    if not open_conds:
        return []
    return ["", f"Open conditions: {', '.join(open_conds)} (see `kg flows --conditions`; "
                "try --assume NAME=met or NAME=failed)"]


def _net_text(cycle: dict) -> str:
    nets = cycle["net"]
    if any(n["net_upper"] is None for n in nets):
        return "net: not computable (some amounts not stated)"
    upper = sorted(nets, key=lambda n: n["net_upper"])
    if len(nets) == 2:
        payer, payee = upper[0], upper[1]
        if payer["net_upper"] == 0:
            text = "net at the stated maxima: even"
        else:
            text = (f"net at the stated maxima: {payer['label']} pays {payee['label']} "
                    f"{_usd(payee['net_upper']).lstrip('+')}")
        firm = sorted(nets, key=lambda n: n["net_firm"])
        if firm[0]["net_firm"] == 0:
            text += "; at the least: even"
        else:
            text += (f"; at the least: {firm[0]['label']} pays {firm[1]['label']} "
                     f"{_usd(firm[1]['net_firm']).lstrip('+')}")
        return text
    return "net at the stated maxima: " + ", ".join(f"{n['label']} {_usd(n['net_upper'])}" for n in nets)


def _gross_text(cycle: dict) -> str:
    if cycle["gross_low"] is None:
        return "gross: no dollar amount stated"
    if cycle["gross_high"] is None:
        return (f"gross: at least {_usd(cycle['gross_low']).lstrip('+')}; stated upper bounds "
                f"{_usd(cycle['gross_high_known']).lstrip('+')}, plus amounts not stated")
    if cycle["gross_low"] == cycle["gross_high"]:
        return f"gross: {_usd(cycle['gross_high']).lstrip('+')}"
    return f"gross: {_usd(cycle['gross_low']).lstrip('+')}–{_usd(cycle['gross_high']).lstrip('+$')}"


@main.command()
@click.option("--max-length", type=int, default=4, show_default=True,
              help="Longest loop, in parties (1-8); bounds the search.")
@click.option("--limit", type=int, default=50, show_default=True, help="Show at most this many loops.")
@_common
@click.pass_context
def cycles(ctx, max_length, limit, kinds, assume, fmt):
    """Circular deals: loops of value flows, with what goes each way, largest first.

    For each loop: every hop with its deals (kind, amount, non-money terms such as 6 GW or an option on
    ≤ 10% of shares, conditions, article line), the gross and the net, and whether the article itself
    calls it a circular deal.

    \b
    Examples:
      kg cycles
      kg cycles --max-length 2 --format json
      kg cycles --assume restructuring=failed
    """
    from kg.reports import cycles_report

    rdf = open_graph(ctx)
    # The loops are found and ranked on who pays whom and the amounts; only those shown are read in
    # full (kg.flows.FlowReader). The same answer as cycles() on the whole flow graph, much faster.
    report = cycles_report(rdf, max_length=max_length, limit=limit, kinds=kinds, assume=assume,
                           index=store_flow_index(ctx, rdf))
    if fmt == "json":
        _json(report)
        return
    found, more = report["cycles"], report["truncated"]
    lines = [f"{len(found)} circular deal{'s' * (len(found) != 1)} (at most {max_length} parties"
             f"{'; more not shown, raise --limit' if more else ''}), largest first"]
    assumption = _assumption_line(report["assumptions"])
    if assumption:
        lines.append(assumption)
    from kg.bulk import prefetch_rows

    prefetch_rows(rdf, [a for cycle in found for a in cycle["arrangements"]])  # their names, together
    for number, cycle in enumerate(found, 1):
        named = ""
        if cycle["arrangements"]:
            from rdflib import URIRef

            from kg.entities import display_name
            named = ("    [named in the source: " + "; ".join(display_name(rdf, URIRef(a)) for a in cycle["arrangements"])
                     + "]")
        lines.append("")
        lines.append(f"{number}. {' → '.join(cycle['nodes_labels'])}{named}")
        width = max(len(e["amount_text"]) for h in cycle["hops"] for e in h["edges"])
        for hop in cycle["hops"]:
            lines.extend(_hop_lines(hop, width))
        lines.append(f"   {_gross_text(cycle)}; {_net_text(cycle)}")
    lines.extend(_open_conditions_note([e for c in found for h in c["hops"] for e in h["edges"]]))
    click.echo(printable("\n".join(lines)))


def _conditions_table(rdf) -> str:
    from kg.flows import list_conditions

    conds = list_conditions(rdf)
    if not conds:
        raise NoResultsError("the data has no conditions")
    lines = ["Conditions (use --assume NAME=met or NAME=failed):"]
    for cond in conds:
        lines.append("")
        head = f"{cond['name']}: {cond['label']}"
        if cond["label_zh"]:
            head += f" / {cond['label_zh']}"
        if cond["by_date"]:
            head += f" (by {cond['by_date']})"
        lines.append(head)
        if cond["requires"]:
            lines.append(f"  requires: {', '.join(cond['requires'])} (if one fails, so does {cond['name']})")
        for deal in cond["deals"]:
            via = f" (through {deal['via']})" if deal["via"] else ""
            lines.append(f"  affects{via}: {deal['deal_label']}: {deal['amount_met_text']} if met, "
                         f"{deal['amount_failed_text']} if failed")
        if cond["sources"]:
            lines.append("  lines: " + ", ".join(str(line) for line, _ in cond["sources"]))
    return "\n".join(lines)


def _entity_report(assumptions: dict, rec: dict, filtered: bool = False) -> str:
    from kg.flows import FLOW_KINDS as kinds_order, side_text

    lines = [f"{rec['label']}" + (f" / {rec['label_zh']}" if rec["label_zh"] and rec["label_zh"] != rec["label"]
                                   else "")]
    assumption = _assumption_line(assumptions)
    if assumption:
        lines.append(assumption)
    rows = [("kind", "in", "out")]
    for kind in kinds_order:
        if kind in rec["in"] or kind in rec["out"]:
            rows.append((kind, side_text(rec["in"].get(kind, {"deals": 0})),
                         side_text(rec["out"].get(kind, {"deals": 0}))))
    rows.append(("all", side_text(rec["in"]["all"]), side_text(rec["out"]["all"])))
    widths = [max(len(r[i]) for r in rows) for i in range(3)]
    lines.append("")
    for row in rows:
        lines.append("  " + "  ".join(cell.ljust(w) for cell, w in zip(row, widths)).rstrip())
    lines.append(f"  net: {_usd(rec['net_firm'])} at the least, {_usd(rec['net_upper'])} at the most"
                 " (in minus out; amounts not stated and joint amounts given are left out)")
    profile = rec["profile"]
    if not filtered:
        lines.append("")
        lines.append("  funded by (investments in):                 " + side_text(profile["funding"]))
        lines.append("  compute it buys (purchases, contracts out): " + side_text(profile["compute_bought"]))
        lines.append("  provided by partners (in-kind in):          " + side_text(profile["from_partners"]))
    for title, key, other in (("Money and value in", "edges_in", "from_label"),
                              ("Money and value out", "edges_out", "to_label")):
        if rec[key]:
            lines.append("")
            lines.append(f"{title}:")
            width = max(len(e["amount_text"]) for e in rec[key])
            wname = max(len(e[other]) for e in rec[key])
            for edge in rec[key]:
                lines.append(_edge_line(edge, f"  {'from' if other == 'from_label' else 'to'} "
                                              f"{edge[other]:<{wname}}  ", width))
    return "\n".join(lines)


def _totals_table(assumptions: dict, records) -> str:
    from kg.flows import FLOW_KINDS as kinds_order, side_text

    lines = ["Money in and out per party (at least–at most, see docs/semantics.md; unstated = deals without "
             "an amount; jointly = one figure for several payers, not split)"]
    assumption = _assumption_line(assumptions)
    if assumption:
        lines.append(assumption)
    rows = [("party", "kind", "in", "out", "net (least / most)")]
    for rec in records:
        first = True
        for kind in kinds_order:
            if kind in rec["in"] or kind in rec["out"]:
                rows.append((rec["label"] if first else "", kind,
                             side_text(rec["in"].get(kind, {"deals": 0})),
                             side_text(rec["out"].get(kind, {"deals": 0})), ""))
                first = False
        rows.append(("", "all", side_text(rec["in"]["all"]), side_text(rec["out"]["all"]),
                     f"{_usd(rec['net_firm'])} / {_usd(rec['net_upper'])}"))
    widths = [max(len(r[i]) for r in rows) for i in range(5)]
    lines.append("")
    for i, row in enumerate(rows):
        if i > 1 and row[0]:
            lines.append("")
        lines.append("  ".join(cell.ljust(w) for cell, w in zip(row, widths)).rstrip())
    return "\n".join(lines)


@main.command()
@click.argument("entity", required=False)
@click.option("--conditions", "show_conditions", is_flag=True,
              help="List the conditions amounts depend on (names for --assume) and exit.")
@_common
@click.pass_context
def flows(ctx, entity, show_conditions, kinds, assume, fmt):
    """Money in and out per party, by kind, at least and at most (docs/semantics.md), and the net.

    With ENTITY: that party's totals, how it is funded, the compute it buys and what partners provide,
    and every deal in and out with its source line.

    \b
    Examples:
      kg flows
      kg flows OpenAI
      kg flows Anthropic --format json
      kg flows --conditions
      kg flows SoftBank --assume restructuring=failed
    """
    from kg.flows import list_conditions

    if show_conditions:
        if entity or assume or kinds:
            from kg.errors import UsageError
            raise UsageError("--conditions lists every condition; it takes no ENTITY, --assume or --kind")
        rdf = open_graph(ctx)
        if fmt == "json":
            _json(list_conditions(rdf))
        else:
            click.echo(printable(_conditions_table(rdf)))
        return
    from kg.reports import flows_report

    graph = open_graph(ctx)
    report = flows_report(graph, entity, kinds=kinds, assume=assume, index=store_flow_index(ctx, graph))
    if fmt == "json":
        _json(report)
        return
    records = report["parties"]
    click.echo(printable(_entity_report(report["assumptions"], records[0], bool(kinds)) if entity
                         else _totals_table(report["assumptions"], records)))
