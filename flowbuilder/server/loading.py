"""Turning what a user hands ``serve()`` (a Flow, a Program, a saved file) into programs."""

from __future__ import annotations

import os
from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import TYPE_CHECKING, TypeAlias

from flowbuilder.errors import FlowError
from flowbuilder.program import Program
from flowbuilder.server import program_cache

if TYPE_CHECKING:
    from flowbuilder.flow import Flow

Servable: TypeAlias = "Flow | Program | str | os.PathLike[str]"


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
    A ``.json`` file's program is kept in :mod:`flowbuilder.server.program_cache`.
    """
    if isinstance(value, Program):
        return value
    if isinstance(value, str | os.PathLike):
        path = Path(value)
        if path.suffix == ".json" and subflows is None:
            return _from_json_file(path, allow)
        from flowbuilder.export import load

        value = load(path, allow=allow)
    from flowbuilder.compiler import compile
    from flowbuilder.flow import Flow

    if isinstance(value, Flow):
        if allow is not None and not value.trust.trusted:
            value = value.copy()
            value.trust = value.trust.allowing(allow)
        return compile(value, subflows=subflows)
    raise TypeError(f"cannot serve a {type(value).__name__}: give a Flow, a Program or a file")


def _from_json_file(path: Path, allow: str | Iterable[str] | None) -> Program:
    try:
        text = path.read_bytes()
    except OSError as exc:
        raise FlowError(f"{path}: cannot read: {exc.strerror}") from None
    program = program_cache.load(path, text, allow)
    if program is None:
        from flowbuilder.compiler import compile
        from flowbuilder.export import load

        flow = load(path, allow=allow)
        program = compile(flow)
        program_cache.store(path, text, allow, flow, program)
    return program
