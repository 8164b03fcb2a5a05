"""The linter's rules beyond types and bounds, one module each; ``validate()`` runs them all.

Every rule reads a :class:`~flowbuilder.lint.graph.Graph` (the flow gathered once) and yields
:class:`~flowbuilder.lint.graph.Issue` values; each is linear in the size of the flow.
"""
