"""Notes on the canvas: text boxes for the people reading the flow, saved with its layout.

They are no part of the call flow: the compiler never sees them and a program's version does
not change with them; a saved flow keeps them in a ``notes`` list beside ``layout``.

>>> from flowbuilder.flow import Flow
>>> flow = Flow("f")
>>> add_note(flow, "Opening hours change in May", 40, 300)
'note_1'
>>> edit_note(flow, "note_1", "Opening hours change in June").notes[0]["text"]
'Opening hours change in June'
>>> remove_notes(flow, ["note_1"]).notes
[]
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping

from flowbuilder.errors import FlowError
from flowbuilder.flow import Flow

MAX_CHARS = 4000


def add_note(flow: Flow, text: str, x: float, y: float) -> str:
    """Add a note at (*x*, *y*); returns its id."""
    taken = {n["id"] for n in flow.notes}
    n = 1
    while f"note_{n}" in taken:
        n += 1
    note_id = f"note_{n}"
    flow.set_notes([*flow.notes, {"id": note_id, "text": _text(text), "x": x, "y": y}])
    return note_id


def edit_note(flow: Flow, note_id: str, text: str) -> Flow:
    notes = flow.notes
    _find(notes, note_id)["text"] = _text(text)
    return flow.set_notes(notes)


def move_notes(flow: Flow, places: Mapping[str, tuple[float, float]]) -> Flow:
    notes = flow.notes
    for note_id, (x, y) in places.items():
        note = _find(notes, note_id)
        note["x"], note["y"] = float(x), float(y)
    return flow.set_notes(notes)


def remove_notes(flow: Flow, note_ids: Iterable[str]) -> Flow:
    gone = set(note_ids)
    return flow.set_notes([n for n in flow.notes if n["id"] not in gone])


def _find(notes: list[dict[str, object]], note_id: str) -> dict[str, object]:
    for note in notes:
        if note["id"] == note_id:
            return note
    raise FlowError(f"no note {note_id!r} on the canvas", field="notes")


def _text(text: str) -> str:
    if len(text) > MAX_CHARS:
        raise FlowError(
            f"a note holds at most {MAX_CHARS} characters, got {len(text)}", field="notes"
        )
    return text


__all__ = ["add_note", "edit_note", "move_notes", "remove_notes"]
