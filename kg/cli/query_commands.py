"""Commands to ask the graph questions: query, queries, show, export, stats."""

from __future__ import annotations

import sys
import textwrap

import click

from kg.cli import data_option, main, open_graph
from kg.errors import UsageError
from kg.terminal import printable

GRAPH_FORMATS = {"turtle": "turtle", "ttl": "turtle", "nt": "nt", "ntriples": "nt", "jsonld": "json-ld", "json-ld": "json-ld"}


@main.command()
@click.argument("query")
@click.option("--format", "fmt", default=None,
              help="SELECT: table (default), csv, tsv, json, md. CONSTRUCT/DESCRIBE: turtle (default), nt, jsonld.")
@click.option("--param", "params", multiple=True, metavar="NAME=VALUE",
              help="Bind ?NAME to VALUE: an entity's name or alias (English or Chinese), a prefixed name, an <IRI>, "
                   "a number or a \"quoted string\". Repeatable.")
@click.option("--limit", type=int, default=None,
              help="Return at most N rows (0: all). Without it a table shows the first 1,000 and says how many more.")
@click.option("--timeout", type=float, default=None, metavar="SECONDS", callback=lambda _c, _p, v: _seconds(v),
              help="Stop after SECONDS, loading included (exit code 3).")
@click.option("--allow-service", is_flag=True,
              help="Let SERVICE send (parts of) the query to other servers. A risk: the query, and "
                   "anything bound in it, goes to the servers it names, and their answers are trusted.")
@data_option
@click.pass_context
def query(ctx, query, fmt, params, limit, timeout, allow_service):
    """Run a SPARQL query: a stored query's NAME (see `kg queries`), a path to a .rq file, SPARQL text,
    or - to read it from standard input. The prefixes kg:, kgd:, schema:, org:, prov:, rdfs:, xsd: ... are
    predeclared.

    ASK prints true or false and exits 0 or 1.

    \b
    Examples:
      kg query circular-deals
      kg query money-into --param company=Anthropic --format csv
      kg query 'SELECT ?name WHERE { ?p a kg:Person ; rdfs:label ?name }'
    """
    from kg.cli import watchdog
    from kg.queries import (PAGE_ROWS, STREAMED_FORMATS, find_query, format_select, prepare_query, read_query_text,
                            run_query)
    from kg.sparql_guard import check_query

    watchdog(ctx).set_timeout(timeout, "query")  # the whole command: reading --data and the store included
    if query == "-":
        query = read_query_text(sys.stdin.buffer, "standard input")
    values = {}
    for item in params:
        name, sep, value = item.partition("=")
        if not sep or not name.strip():
            raise UsageError(f"--param {item!r}: write NAME=VALUE")
        values[name.strip().lstrip("?$")] = value
    stored = find_query(query)
    check_query(stored.text, allow_service=allow_service)  # refuse before loading; again once bound
    graph = open_graph(ctx)
    text = prepare_query(graph, stored, values, None)
    outcome = _stored_answer(ctx, graph, text)  # kept with the --store (kg.answers), if it is this query's
    if outcome is None:
        if limit:  # --limit N goes into the query: the engine stops early
            text = prepare_query(graph, stored, values, limit)
        # Without --timeout, rows are read as the engine yields them. With it, the answer is read whole:
        # the watchdog stops the whole command at --timeout; run_query's own limit is only a backstop, set
        # a second later so that the two never both report the same timeout.
        backstop = None if timeout is None else timeout + 1.0
        outcome = run_query(graph, text, backstop, allow_service=allow_service, stream=timeout is None)
    watchdog(ctx).set_timeout(None)  # the answer is complete (or streams with no time limit): write it
    if outcome.kind == "SELECT":
        fmt = fmt or "table"
        if fmt not in ("table", "csv", "tsv", "json", "md"):
            raise UsageError(f"--format {fmt}: a SELECT query gives table, csv, tsv, json or md")
        if limit:
            from itertools import islice
            outcome.rows = islice(outcome.rows, limit)
        if fmt in STREAMED_FORMATS:  # data formats keep every character (color=True: click would
            from kg.queries import iter_select_text  # otherwise strip ANSI sequences from piped output)

            for piece in iter_select_text(outcome.variables, outcome.rows, fmt):
                click.echo(piece, nl=False, color=True)
            return
        # Text for people is escaped.
        page = PAGE_ROWS if fmt == "table" and limit is None else None
        click.echo(printable(format_select(outcome, fmt, graph, page=page)), nl=False)
    elif outcome.kind == "ASK":
        if fmt not in (None, "table", "text"):
            raise UsageError(f"--format {fmt}: an ASK query prints true or false")
        click.echo("true" if outcome.boolean else "false")
        ctx.exit(0 if outcome.boolean else 1)
    else:
        serializer = GRAPH_FORMATS.get(fmt or "turtle")
        if serializer is None:
            raise UsageError(f"--format {fmt}: a {outcome.kind} query gives turtle, nt or jsonld")
        click.echo(outcome.graph.serialize(format=serializer), nl=False, color=True)


def _stored_answer(ctx, graph, text: str):
    """The answer to ``text`` kept with the ``--store`` when it fits the store now (kg.answers), as a
    QueryOutcome whose rows are read from the file; None when the engine must answer."""
    obj = ctx.find_root().obj or {}
    store_dir = obj.get("store_dir")
    if not store_dir or obj.get("endpoint"):
        return None
    from kg.answers import stored_outcome

    found = stored_outcome(store_dir, graph, text)
    if found is None:
        return None
    outcome, answer = found
    ctx.call_on_close(answer.close)
    return outcome


def _seconds(value):
    """--timeout: a finite number of seconds above 0 (click's float takes inf and nan)."""
    if value is not None and not (0 < value < float("inf")):
        raise click.BadParameter(f"{value!r} is not a number of seconds above 0", param_hint="'--timeout'")
    return value


@main.command()
@click.option("--format", "fmt", type=click.Choice(["text", "json"]), default="text", help="Output format.")
def queries(fmt):
    """List the stored queries with their title, parameters and description."""
    import json

    from kg.queries import stored_queries

    found = stored_queries()
    if fmt == "json":
        click.echo(json.dumps([{"name": q.name, "title": q.title, "description": q.description,
                                "params": [{"name": p.name, "default": p.default, "description": p.description}
                                           for p in q.params]} for q in found], ensure_ascii=False, indent=1))
        return
    for stored in found:
        click.echo(f"{stored.name}: {stored.title}")
        for param in stored.params:
            default = param.default if param.default is not None else "(none)"
            click.echo(f"    --param {param.name}=…  default {default}. {param.description}")
        click.echo(textwrap.fill(stored.description, width=100, initial_indent="    ", subsequent_indent="    "))
        click.echo()


@main.command()
@click.argument("entity")
@click.option("--format", "fmt", type=click.Choice(["text", "json"]), default="text", help="Output format.")
@data_option
@click.pass_context
def show(ctx, entity, fmt):
    """Everything about one ENTITY: names in English and Chinese, kinds, roles, deals in and out with
    counterparties and amounts, figures claimed about it, statements, and the source line and quote of each.

    ENTITY is an English or Chinese name or alias (any case), a prefixed name (kgd:Nvidia) or an IRI.
    """
    from kg.entities import describe_entity, resolve_entity

    graph = open_graph(ctx)
    view = describe_entity(graph, resolve_entity(graph, entity))
    if fmt == "json":
        import json

        from kg.reports import entity_view_dict
        click.echo(json.dumps(entity_view_dict(view), ensure_ascii=False, indent=1))
    else:
        click.echo(printable(_view_as_text(view)))


def _sources_text(sources, indent="      ") -> list[str]:
    lines = []
    for span in sources:
        credit = f" (credited to {span.credited_to})" if span.credited_to else ""
        lines.append(f"{indent}line {span.line}: 「{span.quote}」{credit}")
    return lines


def _view_as_text(view) -> str:
    out = [f"{view.label_en}" + (f" / {view.label_zh}" if view.label_zh and view.label_zh != view.label_en else ""),
           f"  id: {view.iri}"]
    if view.kinds:
        out.append(f"  kind: {', '.join(view.kinds)}")
    if view.aliases:
        out.append(f"  also known as: {', '.join(view.aliases)}")
    if view.same_as:
        out.append(f"  same as: {', '.join(view.same_as)}")
    if view.condition:
        cond = view.condition
        out.append("\nCondition")
        if cond.deadline:
            out.append(f"  deadline: {cond.deadline}")
        if cond.requires:
            out.append(f"  requires: {'; '.join(cond.requires)}")
        if cond.required_by:
            out.append(f"  required by: {'; '.join(cond.required_by)}")
        out.extend(_sources_text(view.sources, "    "))
        out.append("\nDeals that depend on it")
        for deal in cond.deals or ():
            via = f" (through: {deal['via']})" if deal["via"] else ""
            out.append(f"  {deal['label']}{via}")
            out.append(f"    {', '.join(deal['payers'])} → {', '.join(deal['payees'])}: {deal['if_met']} if met; "
                       f"{deal['if_failed']} if it fails")
            out.extend(_sources_text(deal["sources"]))
        if not cond.deals:
            out.append("  none")
    elif view.sources:
        out.append("\nSources")
        out.extend(_sources_text(view.sources, "    "))
    if view.roles:
        out.append("\nRoles")
        for person, role, organization, sources in view.roles:
            out.append(f"  {person}: {role}, {organization}")
            out.extend(_sources_text(sources))
    if view.deals:
        out.append("\nDeals")
        for deal in view.deals:
            meaning = deal.meaning
            amount = meaning.joint_text if meaning.stated else "no amount stated"
            if meaning.shared and view.label_en not in deal.payers:
                amount = f"{meaning.text} from {' and '.join(deal.payers)} together"
            others = ", ".join(f"{name} ({role})" for role, name in deal.counterparties) or "no other party named"
            out.append(f"  {deal.label}")
            out.append(f"    {deal.kind}; role: {deal.role}; with {others}; {amount}"
                       + (f" [{meaning.status_text or meaning.status}]" if meaning.stated else ""))
            if meaning.status == "derived":
                out.append("    amount not stated in the source, derived from the figures it names")
            if deal.parts:
                out.append(f"    made of parts, counted through them: {'; '.join(deal.parts)}")
            for name, figure in deal.terms:
                out.append(f"    {name}: {figure.text}")
            if deal.conditions:
                out.append(f"    if {' and '.join(deal.conditions)}"
                           + (f"; otherwise {deal.amount_if_condition_fails.text}" if deal.amount_if_condition_fails else ""))
            out.extend(_sources_text(deal.sources))
    if view.claims:
        out.append("\nFigures")
        for claim in view.claims:
            figure = claim.figure.text if claim.figure else "?"
            segment = f" in {claim.segment}" if claim.segment else ""
            whose = "" if claim.about == view.label_en else f"{claim.about}: "
            out.append(f"  {whose}{claim.metric}{segment}: {figure}  {claim.period}  [{claim.modality}]".rstrip())
            out.extend(_sources_text(claim.sources))
    if view.statements:
        out.append("\nStatements")
        for summary, sources in view.statements:
            out.append(textwrap.fill(summary, width=100, initial_indent="  ", subsequent_indent="    "))
            out.extend(_sources_text(sources, "    "))
    return "\n".join(out)


@main.command()
@click.option("--format", "fmt", default=None,
              help="Graph: turtle (default), nt, jsonld. With --flows: graphml, gexf or csv.")
@click.option("-o", "--output", default="-", metavar="FILE",
              help="File to write (default: standard output).")
@click.option("--flows", is_flag=True, help="Export the money-flow graph (for Gephi) instead of the RDF.")
@click.option("--assume", "assumptions", multiple=True, metavar="CONDITION=met|failed",
              help="With --flows: settle a condition (see `kg flows --conditions`). Repeatable.")
@data_option
@click.pass_context
def export(ctx, fmt, output, flows, assumptions):
    """Write the whole graph (bundled data plus --data files) as Turtle, N-Triples or JSON-LD, or with
    --flows the money-flow graph as GraphML, GEXF or a CSV edge list.

    A file is written completely or not at all.
    """
    from kg.files import check_output_path, write_output

    check_output_path(output)  # a bad -o fails before the graph is loaded
    # rdflib's own store keeps literals exactly as written; Oxigraph would canonicalize them
    # (22500000000.0 becomes 22500000000), and its rdflib bridge cannot serialize JSON-LD.
    graph = open_graph(ctx, rdflib_store=not flows)
    if flows:
        data = _flows_data(ctx, graph, fmt or "graphml", assumptions)
    else:
        if assumptions:
            raise UsageError("--assume only applies with --flows")
        serializer = GRAPH_FORMATS.get(fmt or "turtle")
        if serializer is None:
            raise UsageError(f"--format {fmt}: the graph exports as turtle, nt or jsonld (graphml, gexf, csv need --flows)")
        data = graph.serialize(format=serializer)
    if isinstance(data, (str, bytes, memoryview)):
        written = write_output(output, data)
    else:  # text in pieces, written as they come
        from kg.files import open_output

        written = 0
        with open_output(output, text=False) as stream:
            for piece in data:
                raw = piece.encode("utf-8")
                stream.write(raw)
                written += len(raw)
    if output != "-":
        click.echo(f"wrote {output} ({written:,} bytes)", err=True)


def _flows_data(ctx, graph, fmt: str, assumptions):
    """The money-flow graph as ``fmt`` (graphml, gexf or csv): text, bytes (a memoryview), or text in pieces. The CSV
    kept whole with the ``--store`` when there is no what-if, else from the flow graph kept with it
    (kg.flow_index), else read from the RDF."""
    if fmt not in ("graphml", "gexf", "csv"):
        raise UsageError(f"--format {fmt}: --flows exports graphml, gexf or csv")
    store_dir = (ctx.find_root().obj or {}).get("store_dir")
    if fmt == "csv" and not assumptions and store_dir:  # before importing the flow code: it is not needed
        from kg.flow_index import load_flow_csv

        kept = load_flow_csv(store_dir)
        if kept is not None:
            return kept  # the file's bytes, not copied (400 MB at a million deals)
    from kg.flow_export import export_flows
    from kg.flows import flow_graph, parse_assumptions

    assume = parse_assumptions(assumptions)
    steps = _stored_flow_graph(ctx) if not assume else None
    if steps is None:
        return export_flows(flow_graph(graph, assume=assume), fmt)
    if fmt == "csv":  # kept with the store (kg.flow_index): written row by row, not built first
        from kg.flow_export import iter_csv
        from kg.flow_index import edges_in_graph_order

        edges, labels = edges_in_graph_order(steps)
        return iter_csv(edges, lambda node: labels.get(node, node))
    from kg.flow_index import replay

    return export_flows(replay(steps), fmt)


def _stored_flow_graph(ctx):
    """The whole flow graph kept with the ``--store`` (kg.flow_index), or None."""
    store_dir = (ctx.find_root().obj or {}).get("store_dir")
    if not store_dir:
        return None
    from kg.flow_index import load_flow_steps
    return load_flow_steps(store_dir)


@main.command()
@click.option("--format", "fmt", type=click.Choice(["text", "json"]), default="text", help="Output format.")
@data_option
@click.pass_context
def stats(ctx, fmt):
    """Counts: entities by kind, deals by kind, figures by kind, sources, triples."""
    from kg.stats import graph_stats

    result = graph_stats(open_graph(ctx))
    if fmt == "json":
        import json

        click.echo(json.dumps(result, ensure_ascii=False, indent=1))
        return
    click.echo(f"triples: {result['triples']:,}")
    click.echo(f"organizations and people: {result['organizations_and_people']:,} (below, counted once per kind)")
    for section in ("entities", "deals", "figures", "facts"):
        click.echo(f"{section}: {sum(result[section].values()):,}")
        for name, count in result[section].items():
            click.echo(printable(f"  {name}: {count:,}"))
    click.echo(f"sources: {result['sources']['spans']:,} quoted spans in {result['sources']['documents']} "
               f"document(s), from {result['sources']['lines']} distinct lines")
