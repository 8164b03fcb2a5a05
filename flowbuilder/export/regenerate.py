"""``python -m flowbuilder.export.regenerate [DIR]``: rewrite the example exports.

Every sample flow of :mod:`flowbuilder.examples` (each public function there that takes no
argument and returns a Flow) is written to ``DIR/<name>.py`` (the standalone module) and
``DIR/<name>.json`` (the saved flow). DIR defaults to ``exports``. ``--check`` writes nothing
and exits 1 listing the stale files (the test suite runs the same check).
"""

from __future__ import annotations

import argparse
import inspect
import sys
from collections.abc import Callable, Sequence
from pathlib import Path

from flowbuilder.export.python import to_python
from flowbuilder.flow import Flow

COMMAND = "python -m flowbuilder.export.regenerate"


def example_flows() -> dict[str, Callable[[], Flow]]:
    """The sample flows, by function name: public, no required argument, returns a Flow."""
    from flowbuilder import examples

    found: dict[str, Callable[[], Flow]] = {}
    for name, fn in sorted(vars(examples).items()):
        if name.startswith("_") or not inspect.isfunction(fn) or fn.__module__ != examples.__name__:
            continue
        signature = inspect.signature(fn)
        if signature.return_annotation not in ("Flow", Flow):
            continue
        if any(p.default is p.empty for p in signature.parameters.values()):
            continue
        found[name] = fn
    return found


def expected_files() -> dict[str, str]:
    """``{file name: content}`` of every export, e.g. ``support_line.py``."""
    files: dict[str, str] = {}
    for make in example_flows().values():
        flow = make()
        files[f"{flow.name}.py"] = to_python(flow)
        files[f"{flow.name}.json"] = flow.to_json()
    return files


def stale(directory: str | Path) -> list[Path]:
    """Exports in *directory* that are missing or differ from what the examples give now."""
    directory = Path(directory)
    out = []
    for name, content in expected_files().items():
        path = directory / name
        if not path.is_file() or path.read_text(encoding="utf-8") != content:
            out.append(path)
    return out


def regenerate(directory: str | Path) -> list[Path]:
    """Write every export into *directory*; returns the files that changed."""
    directory = Path(directory)
    directory.mkdir(parents=True, exist_ok=True)
    changed = []
    for name, content in expected_files().items():
        path = directory / name
        if not path.is_file() or path.read_text(encoding="utf-8") != content:
            with path.open("w", encoding="utf-8", newline="\n") as out:
                out.write(content)
            changed.append(path)
    return changed


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog=COMMAND, description=(__doc__ or "").splitlines()[0])
    parser.add_argument("directory", nargs="?", default="exports", help="default: exports")
    parser.add_argument("--check", action="store_true", help="only report stale files")
    args = parser.parse_args(argv)
    if args.check:
        old = stale(args.directory)
        for path in old:
            print(f"stale: {path}")
        if old:
            print(f"run: {COMMAND} {args.directory}", file=sys.stderr)
        return 1 if old else 0
    for path in regenerate(args.directory):
        print(f"wrote {path}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
