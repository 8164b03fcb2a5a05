"""The problems panel: every error and warning ``validate()`` returns, errors first.

Each problem is one row, as tall as its text (never squashed), in a list that scrolls; clicking
a row selects its node. A problem inside a subflow (``faq/ask``) selects the subflow node that
runs it; a problem of the flow as a whole (no node) opens the flow's settings.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

from flowbuilder.ui._widgets import widgets
from flowbuilder.validate import Issue

MAX_SHOWN = 200


class ValidationPanel(widgets.VBox):  # type: ignore[misc]
    """Lists ``validate(flow)``'s issues, errors first, one row (a button) each.

    *on_select* gets the issue's node id (``sub/node`` for one inside a subflow) or None for a
    problem of the whole flow.
    """

    def __init__(self, on_select: Callable[[Issue], None]) -> None:
        self.summary = widgets.HTML()
        self.list = widgets.VBox()
        self.list.add_class("fb-issue-list")
        super().__init__([self.summary, self.list])
        self.add_class("fb-validation")
        self._on_select = on_select
        self.issues: list[Issue] = []
        self.buttons: list[Any] = []

    def show(self, issues: Sequence[Issue]) -> None:
        """Replace the list with *issues* (skipped when nothing changed)."""
        issues = sorted(issues, key=lambda i: i.severity != "error")  # stable: errors first
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
        where = issue.node_id or "the flow"
        button = widgets.Button(
            description=str(issue),
            tooltip=f"{issue.severity} in {where}: {issue.message}",
            button_style="danger" if issue.severity == "error" else "warning",
            icon="times-circle" if issue.severity == "error" else "exclamation-triangle",
            layout=widgets.Layout(width="100%", height="auto"),
        )
        button.add_class("fb-issue")
        button.issue = issue
        button.on_click(lambda _b: self._on_select(issue))
        return button

    def click(self, index: int) -> None:
        """Click the *index*-th issue, as a user would."""
        self.buttons[index].click()


def _plural(n: int, word: str) -> str:
    return f"{n} {word}{'' if n == 1 else 's'}"
