"""Commands to query and look up the graph: query, queries, show, export, stats."""
