"""Undo and redo for a flow, as snapshots of ``Flow.to_dict()``.

A snapshot is taken after each change the builder sees (one user action, or one cell's worth of
code changes), so undo steps back over edits made on the canvas and in code alike.

>>> from flowbuilder.flow import Flow
>>> flow = Flow("h").add("a", "hangup")
>>> history = History(flow)
>>> history.record(), history.can_undo
(False, False)
>>> _ = flow.add("b", "hangup"); history.record()
True
>>> history.undo(), sorted(flow)
(True, ['a'])
>>> history.redo(), sorted(flow)
(True, ['a', 'b'])
"""

from __future__ import annotations

import json

from flowbuilder.flow import Flow

DEFAULT_LIMIT = 200


class History:
    """Undo/redo stacks of snapshots of one flow (the flow object itself is restored in place)."""

    def __init__(self, flow: Flow, *, limit: int = DEFAULT_LIMIT) -> None:
        self._flow = flow
        self._limit = limit
        self._undo: list[str] = []
        self._redo: list[str] = []
        self._current = self._snapshot()

    def _snapshot(self) -> str:
        # as JSON text: compact, immutable (to_dict() shares lists with the live graph), and
        # compared in one go. Keys keep their order (to_dict's is stable), so an undone menu
        # option comes back with its keys as the user wrote them.
        return json.dumps(self._flow.to_dict(), ensure_ascii=False)

    @property
    def can_undo(self) -> bool:
        return bool(self._undo)

    @property
    def can_redo(self) -> bool:
        return bool(self._redo)

    @property
    def undo_steps(self) -> int:
        """How many steps can be undone."""
        return len(self._undo)

    def record(self) -> bool:
        """Make the flow's present state an undo step if it changed; True when it did."""
        snapshot = self._snapshot()
        if snapshot == self._current:
            return False
        self._undo.append(self._current)
        del self._undo[: -self._limit]
        self._redo.clear()
        self._current = snapshot
        return True

    def undo(self) -> bool:
        """Go back one step; False when there is nothing to undo."""
        self.record()  # a change not yet recorded is a step of its own
        if not self._undo:
            return False
        self._redo.append(self._current)
        self._current = self._undo.pop()
        self._flow.restore(json.loads(self._current))
        return True

    def redo(self) -> bool:
        """Redo the last undone step; False when there is nothing to redo."""
        if self.record() or not self._redo:
            return False
        self._undo.append(self._current)
        self._current = self._redo.pop()
        self._flow.restore(json.loads(self._current))
        return True
