"""Turning what a user hands ``serve()`` (a Flow, a Program, a saved file) into programs."""

from __future__ import annotations

import importlib.util
import os
import sys
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from flowbuilder.compiler import Program, compile
from flowbuilder.errors import FlowbuilderError, FlowError
from flowbuilder.flow import Flow

Servable = Flow | Program | str | os.PathLike[str]
#: names looked up, in order, in a Python module (an exported one has make_flow and FLOW)
MODULE_NAMES = ("make_flow", "FLOW", "flow", "PROGRAM", "program")


def load_flow(path: str | os.PathLike[str]) -> Flow | Program:
    """A saved JSON flow (``Flow.load``) or a Python module exporting one.

    A module may define ``make_flow()``, or ``FLOW``/``flow`` (a Flow, its dict, or a Program).
    Importing a module runs its code: serve only files you trust.
    """
    path = Path(path)
    if path.suffix == ".py":
        return _from_module(path)
    return Flow.load(path)


def _from_module(path: Path) -> Flow | Program:
    """Like the exporter's loader (``Flow.from_module``), but also takes hand-written modules."""
    if not path.is_file():
        raise FlowError(f"{path}: no such file")
    name = f"_flowbuilder_served_{abs(hash(str(path.resolve())))}"
    spec = importlib.util.spec_from_file_location(name, path)
    if spec is None or spec.loader is None:
        raise FlowError(f"{path}: cannot be imported as a Python module")
    module = importlib.util.module_from_spec(spec)
    sys.modules[name] = module
    try:
        spec.loader.exec_module(module)
        for attr in MODULE_NAMES:
            value: Any = getattr(module, attr, None)
            if value is None:
                continue
            if callable(value) and not isinstance(value, Flow | Program):
                value = value()
            if isinstance(value, Mapping):
                value = Flow.from_dict(value, source=str(path))
            if isinstance(value, Flow | Program):
                return value
    except FlowbuilderError:
        raise
    except SyntaxError as exc:
        raise FlowError(f"{path}:{exc.lineno}: cannot import: {exc.msg}") from None
    except Exception as exc:
        raise FlowError(f"{path}: cannot import: {type(exc).__name__}: {exc}") from None
    finally:
        sys.modules.pop(name, None)
    raise FlowError(f"{path}: defines none of {', '.join(MODULE_NAMES)} holding a flow")


def to_program(value: Servable, subflows: Mapping[str, Flow] | None = None) -> Program:
    """Compile (or load, then compile) *value*; a Program is served as it is."""
    if isinstance(value, str | os.PathLike):
        value = load_flow(value)
    if isinstance(value, Program):
        return value
    if isinstance(value, Flow):
        return compile(value, subflows=subflows)
    raise TypeError(f"cannot serve a {type(value).__name__}: give a Flow, a Program or a file")
