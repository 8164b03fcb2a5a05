"""Placeholders that are not: ``{prénom}``, ``{name.attr}``, ``{ x }``, ``{0}``, a lone brace.

Templates substitute bare ASCII names only (:mod:`flowbuilder.template`); anything else between
braces is left in the text, so callers would hear it, braces and all.
"""

from __future__ import annotations

from collections.abc import Iterator

from flowbuilder import template
from flowbuilder.lint.graph import Graph, Issue

_SHOWN = 3


def check(graph: Graph) -> Iterator[Issue]:
    for node, kind in graph.known():
        found: dict[str, list[str]] = {}
        for field, text in kind.template_texts(node.params):
            if "{" not in text and "}" not in text:  # most texts: nothing to look at
                continue
            for bad in template.malformed(text):
                snippets = found.setdefault(field, [])
                if bad not in snippets:
                    snippets.append(bad)
        for field, snippets in found.items():
            shown = ", ".join(snippets[:_SHOWN]) + (", ..." if len(snippets) > _SHOWN else "")
            verb = "is not a placeholder" if len(snippets) == 1 else "are not placeholders"
            yield Issue(
                "warning",
                node.id,
                field,
                f"{shown} {verb} and would stay in the text, braces and all: write "
                "{name} with ASCII letters, digits and _, or {{ and }} for literal braces",
            )
