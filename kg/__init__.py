"""kg: the knowledge graph of the AI industry's money.

The package is layered one way: data files -> ``kg.graph`` (loading, namespaces) -> analyses
(``kg.queries``, ``kg.entities``, ``kg.flows``, ``kg.validation``) -> presenters (``kg.cli``,
``kg.viz``). Importing ``kg`` does no work.
"""

__version__ = "0.1.0"
