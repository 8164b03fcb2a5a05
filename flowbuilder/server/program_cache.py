"""Programs compiled from flow files, kept on disk so that a server restarted on the same files
answers its first call sooner: a hit skips reading the flow into a graph (networkx, about a
third of ``flowbuilder serve``'s start) and validating it again.

An entry is named by a hash of all it depends on: the flow file's bytes, the policy its python
nodes run under (:mod:`flowbuilder.trust`, which the operator sets and the entry never stores)
and flowbuilder's own code. It lists every subflow file the flow references, with their hashes,
and is used only while all are unchanged. Entries are written atomically; one that cannot be
read, parsed or written is ignored, so the cache never stops a server.

``FLOWBUILDER_CACHE`` names the directory, or ``off``; by default ``$XDG_CACHE_HOME/flowbuilder``
(``~/.cache/flowbuilder``). The directory is the operator's own, like their flow files.
"""

from __future__ import annotations

import hashlib
import logging
import os
import tempfile
from collections.abc import Iterable, Iterator, Mapping
from functools import cache
from pathlib import Path
from typing import TYPE_CHECKING, Any, Final

import orjson

import flowbuilder
from flowbuilder.program import Program
from flowbuilder.trust import Trust, file_trust

if TYPE_CHECKING:
    from flowbuilder.flow import Flow

ENV_VAR: Final = "FLOWBUILDER_CACHE"
FORMAT: Final = 1

logger = logging.getLogger("flowbuilder.server")


def directory(env: Mapping[str, str] | None = None) -> Path | None:
    """Where entries are kept, or None when the cache is off."""
    environ = os.environ if env is None else env
    chosen = environ.get(ENV_VAR, "").strip()
    if chosen.lower() == "off":
        return None
    if chosen:
        return Path(chosen)
    base = environ.get("XDG_CACHE_HOME") or str(Path.home() / ".cache")
    return Path(base) / "flowbuilder"


def load(path: Path, text: bytes, allow: str | Iterable[str] | None) -> Program | None:
    """The cached program of the flow file at *path*, read as *text*, served under *allow*;
    None when there is none."""
    root = directory()
    if root is None:
        return None
    trust = file_trust(str(path), allow)  # a module never allowed: refused before any lookup
    try:
        entry = orjson.loads((root / _key(text, trust)).read_bytes())
        if entry.get("format") != FORMAT or any(
            _digest(Path(name).read_bytes()) != digest for name, digest in entry["files"].items()
        ):
            return None
        return Program.from_json(entry["program"], trust)
    except (OSError, ValueError, KeyError, TypeError, AttributeError):
        return None  # absent, stale or damaged: compiled again, and written again


def store(
    path: Path, text: bytes, allow: str | Iterable[str] | None, flow: Flow, program: Program
) -> None:
    """Keep *program*, compiled from *flow* read from the file at *path* as *text*, for the
    next start."""
    root = directory()
    if root is None or program.trust != file_trust(str(path), allow):
        return  # only what a restart would compile again, under the same policy
    try:
        if path.read_bytes() != text:
            return  # edited while it was compiled: the program may be of either version
        files = {str(f): _digest(f.read_bytes()) for f in _subflow_files(flow)}
        entry = {"format": FORMAT, "files": files, "program": program.to_json()}
        root.mkdir(parents=True, exist_ok=True)
        fd, temp = tempfile.mkstemp(dir=root, prefix=".entry.", suffix=".tmp")
        try:
            with os.fdopen(fd, "wb") as out:
                out.write(orjson.dumps(entry))
            os.replace(temp, root / _key(text, program.trust))
        except BaseException:
            Path(temp).unlink(missing_ok=True)
            raise
    except (OSError, TypeError) as exc:  # a read-only home, a full disk: serve anyway
        logger.debug("program cache: not written (%s)", exc)


def _subflow_files(flow: Flow) -> Iterator[Path]:
    """Every file the flow read its subflows from, however deep."""
    for name, sub in flow.subflows.items():
        ref = flow.subflow_refs.get(name)
        if ref is not None and flow.source_dir is not None:
            yield (flow.source_dir / ref).resolve()
        yield from _subflow_files(sub)


def _key(text: bytes, trust: Trust) -> str:
    policy = orjson.dumps([sorted(trust.allowed or ()), trust.source])
    return _digest(b"\0".join([_code_version().encode(), policy, text]))


def _digest(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


@cache
def _code_version() -> str:
    """flowbuilder's version and its source files' sizes and times: an upgrade, or an edit of a
    node kind in a development checkout, never reuses a program compiled by other code."""
    package = Path(flowbuilder.__file__).parent
    stamps: list[Any] = [flowbuilder.__version__]
    for file in sorted(package.rglob("*.py")):
        stat = file.stat()
        stamps.append((str(file.relative_to(package)), stat.st_size, stat.st_mtime_ns))
    return _digest(orjson.dumps(stamps))
