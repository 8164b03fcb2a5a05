"""A builder bound to a flow file: read it once, write every edit back atomically.

Writes go to a temporary file in the same folder, flushed to disk, then ``os.replace``d over the
flow file, so a crash or a full disk leaves either the old file or the new one, never half of
one. The text last read or written is kept, so a change made on disk by someone else (another
builder, ``git checkout``, an editor) is noticed before it would be overwritten.

>>> import tempfile, pathlib
>>> from flowbuilder.flow import Flow
>>> bound = BoundFile(pathlib.Path(tempfile.mkdtemp()) / "hello.json")
>>> bound.exists(), bound.write(Flow("hello").add("bye", "hangup")), bound.changed_on_disk()
(False, True, False)
>>> bound.read() == Flow("hello").add("bye", "hangup")
True
"""

from __future__ import annotations

import contextlib
import os
import re
import tempfile
from pathlib import Path

from flowbuilder.errors import FlowError
from flowbuilder.flow import Flow


class BoundFile:
    """The file a builder keeps in step with its flow."""

    def __init__(self, path: str | os.PathLike[str]) -> None:
        self.path = Path(path)
        if self.path.suffix != ".json":
            raise FlowError(f"{self.path}: a builder saves flows as .json files")
        self.known: str | None = None  # the text last read or written here

    def exists(self) -> bool:
        return self.path.exists()

    def _text(self) -> str | None:
        try:
            return self.path.read_text(encoding="utf-8")
        except FileNotFoundError:
            return None
        except OSError as exc:
            raise FlowError(f"{self.path}: cannot read: {exc.strerror}") from None

    def read(self) -> Flow:
        """The flow in the file (one FlowError line naming the file when it is not one)."""
        text = self._text()
        if text is None:
            raise FlowError(f"{self.path}: no such file")
        flow = Flow.from_json(text, source=str(self.path))
        self.known = text
        return flow

    def changed_on_disk(self) -> bool:
        """True when the file no longer holds what was last read or written here."""
        return self.known is not None and self._text() != self.known

    def write(self, flow: Flow) -> bool:
        """Write *flow* atomically; False when the file already held exactly that."""
        text = flow.to_json()
        if text == self.known and self._text() == text:
            return False
        self.path.parent.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(
            prefix=f".{self.path.name}.", suffix=".tmp", dir=self.path.parent
        )
        try:
            with os.fdopen(fd, "w", encoding="utf-8") as out:
                out.write(text)
                out.flush()
                os.fsync(out.fileno())
            os.replace(tmp, self.path)
        except BaseException:
            with contextlib.suppress(OSError):
                os.unlink(tmp)
            raise
        self.known = text
        return True

    def __repr__(self) -> str:
        return f"<BoundFile {str(self.path)!r}>"


def flow_name_for(path: str | os.PathLike[str]) -> str:
    """A flow name made from a file name (``flows/support line.json`` -> ``support_line``)."""
    stem = re.sub(r"[^A-Za-z0-9_.-]+", "_", Path(path).stem).strip("._-") or "flow"
    return stem[:64]


__all__ = ["BoundFile", "flow_name_for"]
