"""Flows as standalone Python modules, and back.

``to_python(flow)`` writes a module that reads like hand-written code: a docstring with the flow's
name, description, node table and Mermaid diagram; the flow as a plain ``FLOW`` dict literal;
``make_flow()``; ``make_app()`` for serving; and a ``__main__`` block that serves it::

    python exports/support_line.py --port 8080

The module needs only flowbuilder's runtime (no notebook packages). ``python`` nodes are import
paths (text), never pickled. The output is deterministic (the same flow always gives the same
bytes) and formatted the way ``ruff format`` formats it, at a line length of 100.

Every piece of flow text is written as a string literal with escapes for anything that is not a
plain printable character, and the docstring shows text escaped the same way, so no label, prompt
or URL can end a string, add code or hide characters.

>>> from flowbuilder.flow import Flow
>>> flow = Flow("hi").add("hello", "play", prompt="Say " + '"' * 3 + " \\\\ {caller}")
>>> source = to_python(flow)
>>> namespace: dict = {}
>>> exec(compile(source, "hi.py", "exec"), namespace)
>>> namespace["make_flow"]() == flow
True
"""

from __future__ import annotations

import importlib.util
import math
import os
import sys
import textwrap
from collections.abc import Mapping
from pathlib import Path
from typing import Any, Final

from flowbuilder.errors import ExportError, FlowbuilderError, UnknownNodeKindError
from flowbuilder.export import _text
from flowbuilder.export.mermaid import to_mermaid
from flowbuilder.flow import Flow
from flowbuilder.nodes._base import get_kind

LINE_LENGTH: Final = 100
INDENT: Final = "    "
#: The names an exported module defines (besides dunders); a test holds every export to it.
PUBLIC_NAMES: Final = frozenset(
    {"FLOW", "Any", "Flow", "annotations", "deepcopy", "main", "make_app", "make_flow"}
)
_TOP_KEYS: Final = ("schema", "name", "description", "entry", "settings", "nodes", "edges")


# -- Python literals, formatted as ruff formats them -----------------------------------------------


def str_literal(value: str) -> str:
    """A one-line string literal for *value*; ruff's quote choice, every unusual char escaped.

    >>> print(str_literal('say "hi"'), str_literal("it's"), str_literal("a\\x00\\u202e\\\\"))
    'say "hi"' "it's" "a\\x00\\u202e\\\\"
    """
    quote = "'" if value.count('"') > value.count("'") else '"'
    out = []
    for c in value:
        if c == "\\":
            out.append("\\\\")
        elif c == quote:
            out.append("\\" + c)
        elif _text.is_plain(c):
            out.append(c)
        else:
            out.append(_text.escape_char(c))
    return quote + "".join(out) + quote


def _split_string(value: str, room: int) -> list[str]:
    """*value* cut into pieces whose literals fit in *room* columns, at spaces when possible."""
    words: list[str] = []
    current = ""
    for c in value:  # words keep their trailing spaces: "For sales, " "press 1."
        if current and current[-1] == " " and c != " ":
            words.append(current)
            current = ""
        current += c
    if current:
        words.append(current)
    pieces: list[str] = []
    piece = ""
    for word in words:
        if _text.width(str_literal(piece + word)) <= room:
            piece += word
            continue
        if piece:
            pieces.append(piece)
            piece = ""
        for c in word:  # a word too long for a line is cut anywhere
            if piece and _text.width(str_literal(piece + c)) > room:
                pieces.append(piece)
                piece = ""
            piece += c
    if piece:
        pieces.append(piece)
    return pieces


def _flat(value: Any, where: str) -> str:
    """*value* as a one-line literal."""
    if isinstance(value, str):
        return str_literal(value)
    if value is None or isinstance(value, bool | int):
        return repr(value)
    if isinstance(value, float):
        if not math.isfinite(value):
            raise ExportError(f"{where}: cannot export {value!r} (not a finite number)")
        return repr(value).replace("e+", "e")  # 1e16, as ruff writes it
    if isinstance(value, Mapping):
        for key in value:
            if not isinstance(key, str):
                raise ExportError(f"{where}: keys must be text, got {key!r}")
        return (
            "{"
            + ", ".join(f"{str_literal(k)}: {_flat(v, f'{where}.{k}')}" for k, v in value.items())
            + "}"
        )
    if isinstance(value, list | tuple):
        return "[" + ", ".join(_flat(v, f"{where}[{i}]") for i, v in enumerate(value)) + "]"
    raise ExportError(f"{where}: cannot export a {type(value).__name__} value; use JSON data")


def literal_lines(
    value: Any, *, indent: int = 0, prefix: str = "", suffix: str = "", where: str = "value"
) -> list[str]:
    """*value* as source lines: on one line when it fits, else one item per line with trailing
    commas (ruff keeps those exploded), long strings split into implicit concatenations.

    *where* names the value in errors (``nodes.hi.params.prompt``).
    """
    pad = INDENT * indent
    line = f"{pad}{prefix}{_flat(value, where)}{suffix}"
    if _text.width(line) <= LINE_LENGTH:
        return [line]
    if isinstance(value, Mapping) and value:
        lines = [f"{pad}{prefix}{{"]
        for key, item in value.items():
            lines += _item_lines(key, item, indent + 1, f"{where}.{key}")
        return [*lines, f"{pad}}}{suffix}"]
    if isinstance(value, list | tuple) and value:
        lines = [f"{pad}{prefix}["]
        for i, item in enumerate(value):
            lines += literal_lines(item, indent=indent + 1, suffix=",", where=f"{where}[{i}]")
        return [*lines, f"{pad}]{suffix}"]
    if isinstance(value, str):
        pieces = _string_lines(value, indent + 1)
        if pieces:  # parenthesized, even as one piece: ruff keeps the parentheses then
            return [f"{pad}{prefix}(", *pieces, f"{pad}){suffix}"]
    return [line]  # a number, or a string that cannot be cut: as it is


def _string_lines(value: str, indent: int) -> list[str]:
    pad = INDENT * indent
    return [pad + str_literal(p) for p in _split_string(value, LINE_LENGTH - len(pad))]


def _item_lines(key: str, item: Any, indent: int, where: str) -> list[str]:
    """One ``key: value,`` of an exploded dict; a key too long for its line is split too."""
    pad = INDENT * indent
    key_literal = str_literal(key)
    # what must follow the key on its line: an opening bracket, or a whole number/None/bool
    splittable = isinstance(item, str | Mapping | list | tuple) and len(item) > 0
    head = "(" if splittable else _flat(item, where) + ","
    if _text.width(f"{pad}{key_literal}: {head}") <= LINE_LENGTH:
        return literal_lines(
            item, indent=indent, prefix=f"{key_literal}: ", suffix=",", where=where
        )
    key_lines = [f"{pad}(", *_string_lines(key, indent + 1)]
    return key_lines + literal_lines(item, indent=indent, prefix="): ", suffix=",", where=where)


# -- the flow as canonical data --------------------------------------------------------------------


def _sorted_data(value: Any) -> Any:
    if isinstance(value, Mapping):
        return {k: _sorted_data(value[k]) for k in sorted(value, key=str)}
    if isinstance(value, list | tuple):
        return [_sorted_data(v) for v in value]
    return value


def flow_data(flow: Flow) -> dict[str, Any]:
    """``flow.to_dict()`` in one canonical key order, so equal flows give equal text.

    Top-level keys and node fields keep their documented order, parameters follow their kind's
    declaration (unknown ones sorted after), and everything deeper is sorted. Subflows are
    embedded the same way.
    """
    data = flow.to_dict()
    nodes: dict[str, Any] = {}
    for node_id in sorted(data["nodes"]):
        node = data["nodes"][node_id]
        params = node["params"]
        try:
            declared = [p.name for p in get_kind(node["kind"]).params]
        except UnknownNodeKindError:
            declared = []
        order = [k for k in declared if k in params]
        order += sorted(k for k in params if k not in declared)
        entry = {k: node[k] for k in ("kind", "label") if k in node}
        entry["params"] = {k: _sorted_data(params[k]) for k in order}
        nodes[node_id] = entry
    out = {k: _sorted_data(data[k]) for k in _TOP_KEYS if k != "nodes"}
    out["nodes"] = nodes
    out = {k: out[k] for k in _TOP_KEYS}
    out["layout"] = _sorted_data(data["layout"])
    if data.get("notes"):
        out["notes"] = _sorted_data(data["notes"])
    if flow.subflows:  # embedded, even those kept in files of their own: the module stands alone
        out["subflows"] = {name: flow_data(sub) for name, sub in sorted(flow.subflows.items())}
    return out


# -- the docstring ---------------------------------------------------------------------------------


def _doc_literal(text: str) -> str:
    """*text* (printable, one-line parts joined by newlines) as a triple-quoted literal."""
    out: list[str] = []
    run = 0  # unescaped quotes just written: never three in a row, never one at the end
    for c in text:
        if c == "\\":
            out.append("\\\\")
            run = 0
        elif c == '"':
            out.append('\\"' if run else '"')
            run = 0 if run else 1
        else:
            out.append(c)
            run = 0
    body = "".join(out)
    if body.endswith('"') and not body.endswith('\\"'):
        body = body[:-1] + '\\"'
    return f'"""{body}"""'


def _src_width(text: str) -> int:
    """Columns *text* takes once written in the docstring (``\\`` and ``"`` may be escaped)."""
    return _text.width(text) + text.count("\\") + text.count('"')


def _cut(text: str, max_width: int) -> str:
    """*text* cut to *max_width* source columns, ending in ``...`` when cut."""
    return _text.truncate(text, max_width, measure=_src_width)


def _hard_wrap(line: str, max_width: int) -> list[str]:
    """*line* in pieces of at most *max_width* source columns, trailing spaces dropped."""
    pieces, piece, used = [], "", 0
    for c in line:
        if used + _src_width(c) > max_width:
            pieces.append(piece.rstrip())
            piece, used = "", 0
        piece += c
        used += _src_width(c)
    return [*pieces, piece.rstrip()]


def _node_table(flow: Flow) -> list[str]:
    rows: list[tuple[str, str, str, list[str]]] = []
    for node_id in flow:
        edges = flow.edges_from(node_id)
        outcomes = [
            f"{_text.display(o)} -> {_text.display(edges[o]) if o in edges else '(not connected)'}"
            for o in flow.outcomes(node_id)
        ] + [
            f"{_text.display(o)} -> {_text.display(t)} (not an outcome)"
            for o, t in sorted(edges.items())
            if o not in flow.outcomes(node_id)
        ]
        rows.append(
            (
                _cut(_text.display(node_id), 24),
                _cut(_text.display(flow.kind(node_id)), 14),
                _cut(_text.display(flow.label(node_id)), 24),
                outcomes or ["(ends the call)"],
            )
        )
    header = ("id", "kind", "label")
    widths = [
        max([_src_width(cells[i]) for *cells, _ in rows] + [len(header[i])])
        for i in range(len(header))
    ]
    room = LINE_LENGTH - 8 - len(INDENT) - sum(widths) - 2 * len(widths)

    def line(cells: tuple[str, str, str], last: str) -> str:
        padded = [c + " " * (w - _src_width(c)) for c, w in zip(cells, widths, strict=True)]
        return (INDENT + "  ".join([*padded, _cut(last, room)])).rstrip()

    lines = [line(header, "outcomes -> targets")]
    lines.append(line(("-" * widths[0], "-" * widths[1], "-" * widths[2]), "-" * 19))
    for node_id, kind, label, outcomes in rows:
        lines.append(line((node_id, kind, label), outcomes[0]))
        lines += [line(("", "", ""), more) for more in outcomes[1:]]
    return lines


def _docstring(flow: Flow) -> str:
    name = _text.display(flow.name)
    lines = [f"Call flow {name}.", ""]
    for paragraph in flow.description.splitlines():
        shown = _text.display(paragraph).strip()
        lines += textwrap.wrap(shown, LINE_LENGTH - 8, break_on_hyphens=False) or [""]
    if flow.description.strip():
        lines.append("")
    lines += [
        "Exported from flowbuilder: the flow is the FLOW data below. To change it, edit the flow",
        "(in the builder, or in code) and export it again rather than editing this file::",
        "",
        f"{INDENT}flowbuilder export FLOW --to py -o {name}.py",
        "",
        "Serve it as the REAL-TIME callback URL of a CALLR app (secrets come from the environment",
        "or the command line, never from this file)::",
        "",
        f"{INDENT}python {name}.py --port 8080",
        "",
        f"Nodes (entry: {_cut(_text.display(flow.entry or '(none)'), 60)}):",
        "",
        *_node_table(flow),
    ]
    functions = sorted(
        {
            str(flow.params(n).get("function"))
            for n in flow
            if flow.kind(n) == "python" and flow.params(n).get("function")
        }
    )
    if functions:
        lines += ["", "Python functions it calls (imported when the call reaches them):", ""]
        lines += [INDENT + _cut(_text.display(f), LINE_LENGTH - 12) for f in functions]
    lines += ["", "Diagram (Mermaid)::", ""]
    diagram = to_mermaid(flow, max_label=32, plain=_text.is_plain).splitlines()
    if max(map(_src_width, diagram)) > LINE_LENGTH - 8:  # long node ids: number the nodes
        diagram = to_mermaid(flow, max_label=32, plain=_text.is_plain, short_ids=True).splitlines()
    lines += [INDENT + row for row in diagram]
    lines.append("")
    fitted = [piece for line in lines for piece in _hard_wrap(line, LINE_LENGTH - 4)]
    return _doc_literal("\n".join(fitted))


# -- the module ------------------------------------------------------------------------------------

_CODE: Final = '''


def make_flow() -> Flow:
    """A new Flow built from FLOW (each call gives an independent copy)."""
    return Flow.from_dict(deepcopy(FLOW), source=__name__)


def make_app(**options: Any) -> Any:
    """Serve the flow in a background thread: ``flowbuilder.server.serve(make_flow(), ...)``.

    Options are those of ``serve()``: host, port, path, login, password, secret, app,
    public_url. Returns the running server's handle (``handle.url``, ``handle.stop()``).
    """
    from flowbuilder.server import serve

    return serve(make_flow(), **options)


def main(argv: list[str] | None = None) -> None:
    """Serve the flow until Ctrl-C: ``python THIS_FILE.py --port 8080``.

    Options: --host, --port, --path, --app, --public-url, --json, --allow MODULE (python
    nodes may call functions from MODULE only), and --login, --password, --secret (better from
    the environment: FLOWBUILDER_LOGIN, FLOWBUILDER_PASSWORD, FLOWBUILDER_SECRET). ``--help``
    lists them all.
    """
    from flowbuilder.server import main as serve_main

    serve_main(make_flow(), argv)


if __name__ == "__main__":
    main()
'''


def to_python(flow: Flow) -> str:
    """The source of a standalone module for *flow* (see the module docstring)."""
    data = flow_data(flow)
    body = "\n".join(
        [
            "FLOW: dict[str, Any] = {",  # always exploded: the module's shape never changes
            *(line for k, v in data.items() for line in _item_lines(k, v, 1, k)),
            "}",
        ]
    )
    docstring = _docstring(flow)
    source = "\n".join(
        [
            docstring,
            "",
            "from __future__ import annotations",
            "",
            "from copy import deepcopy",
            "from typing import Any",
            "",
            "from flowbuilder.flow import Flow",
            "",
            '__all__ = ["FLOW", "main", "make_app", "make_flow"]',
            "",
            "# The flow as data (Flow.to_dict()): settings, nodes with their parameters, edges by",
            "# outcome, and the canvas layout apart from the logic.",
            body,
        ]
    )
    return source + _CODE


def export_python(flow: Flow, path: str | Path) -> Path:
    """Write ``to_python(flow)`` to *path* (UTF-8; missing folders made, as ``Flow.save``
    does) and return the path."""
    path = Path(path)
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(to_python(flow), encoding="utf-8")
    except OSError as exc:
        raise ExportError(f"{path}: cannot write: {exc.strerror}") from None
    return path


# -- back ------------------------------------------------------------------------------------------


def _module_flow(module: Any, path: Path) -> Any:
    """What the module offers as its flow: ``make_flow()`` (exported modules define it), else a
    ``FLOW`` or ``flow`` variable holding a Flow or its data (hand-written modules)."""
    make_flow = getattr(module, "make_flow", None)
    if callable(make_flow):
        return make_flow()
    for name in ("FLOW", "flow"):
        value = getattr(module, name, None)
        if isinstance(value, Flow):
            return value
        if isinstance(value, Mapping):
            return Flow.from_dict(value, source=f"{path}: {name}")
    raise ExportError(f"{path}: defines no make_flow(), FLOW or flow; is it an exported flow?")


def load_module(path: str | os.PathLike[str]) -> Flow:
    """Import the module at *path* and return its flow: ``make_flow()`` (what exported modules
    define), else a ``FLOW`` or ``flow`` variable holding a Flow or its data.

    Importing runs the module's code, as ``python`` would: load only modules you trust (an
    exported module only builds data). Problems raise ExportError in one line naming the file.
    """
    path = Path(path)
    if not path.is_file():
        raise ExportError(f"{path}: no such file")
    name = f"_flowbuilder_export_{abs(hash(str(path.resolve())))}"
    spec = importlib.util.spec_from_file_location(name, path)
    if spec is None or spec.loader is None:
        raise ExportError(f"{path}: not a Python module")
    module = importlib.util.module_from_spec(spec)
    sys.modules[name] = module
    try:
        spec.loader.exec_module(module)
        flow = _module_flow(module, path)
    except FlowbuilderError as exc:
        if isinstance(exc, ExportError):
            raise
        raise ExportError(f"{path}: {exc}") from None
    except SyntaxError as exc:
        raise ExportError(f"{path}:{exc.lineno}: cannot import: {exc.msg}") from None
    except Exception as exc:
        raise ExportError(f"{path}: cannot import: {type(exc).__name__}: {exc}") from None
    finally:
        sys.modules.pop(name, None)
    if not isinstance(flow, Flow):
        raise ExportError(f"{path}: make_flow() returned {type(flow).__name__}, not a Flow")
    return flow


__all__ = [
    "PUBLIC_NAMES",
    "export_python",
    "flow_data",
    "literal_lines",
    "load_module",
    "to_python",
]
