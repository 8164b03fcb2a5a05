"""Turning what a user hands ``serve()`` (a Flow, a Program, a saved file) into programs."""

from __future__ import annotations

import os
from collections.abc import Iterable, Mapping

from flowbuilder.compiler import Program, compile
from flowbuilder.flow import Flow

Servable = Flow | Program | str | os.PathLike[str]


def to_program(
    value: Servable,
    subflows: Mapping[str, Flow] | None = None,
    allow: str | Iterable[str] | None = None,
) -> Program:
    """Compile (or load, then compile) *value*; a Program is served as it is.

    A file is read by :func:`flowbuilder.export.load`: a saved ``.json`` flow, or a ``.py``
    module defining ``make_flow()`` or a ``FLOW``/``flow`` variable (importing a module runs
    its code: serve only files you trust). A flow from a file may call Python functions only
    from the modules in *allow* (and ``FLOWBUILDER_ALLOW``); *allow* adds to what a flow read
    from a file allows, and changes nothing for a flow built in code (:mod:`flowbuilder.trust`).
    """
    if isinstance(value, str | os.PathLike):
        from flowbuilder.export import load

        value = load(value, allow=allow)
    if isinstance(value, Program):
        return value
    if isinstance(value, Flow):
        if allow is not None and not value.trust.trusted:
            value = value.copy()
            value.trust = value.trust.allowing(allow)
        return compile(value, subflows=subflows)
    raise TypeError(f"cannot serve a {type(value).__name__}: give a Flow, a Program or a file")
