"""The validation panel: every error and warning of the flow; clicking one selects its node."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

import ipywidgets as widgets

from flowbuilder.validate import Issue

MAX_SHOWN = 100


class ValidationPanel(widgets.VBox):  # type: ignore[misc]
    """Lists ``validate(flow)``'s issues, errors first, one button each."""

    def __init__(self, on_select: Callable[[str], None]) -> None:
        self.summary = widgets.HTML()
        self.list = widgets.VBox(layout=widgets.Layout(max_height="220px", overflow="auto"))
        super().__init__([self.summary, self.list])
        self.add_class("fb-validation")
        self._on_select = on_select
        self.issues: list[Issue] = []
        self.buttons: list[Any] = []

    def show(self, issues: Sequence[Issue]) -> None:
        """Replace the list with *issues* (skipped when nothing changed)."""
        issues = list(issues)
        if issues == self.issues and self.summary.value:
            return
        self.issues = issues
        errors = sum(1 for i in issues if i.severity == "error")
        warnings = len(issues) - errors
        if not issues:
            self.summary.value = "<b>✔ No problems found.</b> The flow compiles."
        else:
            self.summary.value = (
                f"<b>{_plural(errors, 'error')}, {_plural(warnings, 'warning')}.</b> "
                + ("Errors stop the flow from compiling. " if errors else "")
                + "Click one to select its node."
            )
        self.buttons = [self._button(i) for i in issues[:MAX_SHOWN]]
        more = len(issues) - MAX_SHOWN
        tail = [widgets.HTML(f"… and {more} more")] if more > 0 else []
        self.list.children = [*self.buttons, *tail]

    def _button(self, issue: Issue) -> Any:
        button = widgets.Button(
            description=str(issue),
            tooltip=str(issue),
            button_style="danger" if issue.severity == "error" else "warning",
            icon="times-circle" if issue.severity == "error" else "exclamation-triangle",
            layout=widgets.Layout(width="100%", height="auto"),
        )
        button.add_class("fb-issue")
        button.issue = issue
        if issue.node_id is not None:
            node_id = issue.node_id
            button.on_click(lambda _b: self._on_select(node_id))
        return button

    def click(self, index: int) -> None:
        """Click the *index*-th issue, as a user would."""
        self.buttons[index].click()


def _plural(n: int, word: str) -> str:
    return f"{n} {word}{'' if n == 1 else 's'}"
