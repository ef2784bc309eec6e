"""``kg serve``: a read-only SPARQL 1.1 endpoint and a browser workbench over the graph.

* ``kg.server.app`` — the Starlette application: the SPARQL protocol at ``/sparql``, the JSON API,
  and the guards every request passes (Host allowlist, body cap, CORS only when asked, no internals in
  any answer).
* ``kg.server.pages`` — the HTML pages: the YASGUI workbench, stored-query forms, entity, trace,
  circular-deal pages and the deal web, rendered with Jinja2 (every value escaped).
* ``kg.server.pool`` / ``kg.server.worker`` — the worker processes that hold the graph and answer
  queries, killed and replaced when a query runs over the time limit.
* ``kg.server.guard`` — the check every SPARQL text passes before an engine sees it.
* ``kg.server.results`` — content negotiation and the SPARQL result formats.
"""
