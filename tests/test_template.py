"""Safe {variable} templates: names only, never an expression."""

from __future__ import annotations

from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from flowbuilder.template import names, names_in_data, render, render_data


class Trap:
    """A value that fails loudly if anything but str() is asked of it."""

    def __str__(self) -> str:
        return "T"

    def __getattr__(self, name: str) -> Any:
        raise AssertionError(f"attribute {name!r} was read")

    def __getitem__(self, key: Any) -> Any:
        raise AssertionError(f"item {key!r} was read")

    def __format__(self, spec: str) -> str:
        raise AssertionError(f"format spec {spec!r} was applied")

    def __call__(self) -> Any:
        raise AssertionError("called")


VALUES = {"a": Trap(), "name": "Ada", "n": 3, "none": None, "caller": "+33612345678"}


@pytest.mark.parametrize(
    ("template", "expected"),
    [
        ("Hello {name}!", "Hello Ada!"),
        ("{n} items", "3 items"),
        ("{none}|{missing}|", "||"),
        ("{{name}} is literal", "{name} is literal"),
        ("{{{name}}}", "{Ada}"),
        ("}{ stray } and { braces", "}{ stray } and { braces"),
        ("Call {caller} back", "Call +33612345678 back"),
        ("no placeholders", "no placeholders"),
        ("", ""),
    ],
)
def test_render(template: str, expected: str) -> None:
    assert render(template, VALUES) == expected


@pytest.mark.parametrize(
    "attack",
    [
        "{0.__class__}",
        "{a.__class__.__mro__}",
        "{a[0]}",
        "{a.b}",
        "{a!r}",
        "{a:>10}",
        "{__import__('os')}",
        "{a()}",
        "{ a }",
        "{0}",
        "{}",
    ],
)
def test_injection_attempts_stay_text(attack: str) -> None:
    assert render(attack, VALUES) == attack
    assert names(attack) == set()


def test_names() -> None:
    assert names("Hi {first_name}, call {caller} about {order_id}") == {
        "first_name",
        "caller",
        "order_id",
    }
    assert names("{{escaped}} {real}") == {"real"}


def test_nested_data_is_rendered_keys_and_all() -> None:
    data = {"to_{name}": ["{n}", {"k": "{missing}"}, 5, None], "plain": True}
    assert render_data(data, VALUES) == {"to_Ada": ["3", {"k": ""}, 5, None], "plain": True}
    assert names_in_data(data) == {"name", "n", "missing"}
    assert names_in_data([]) == set()
    assert names_in_data(7) == set()


@given(st.text())
def test_render_never_raises_and_never_evaluates(template: str) -> None:
    out = render(template, VALUES)
    assert isinstance(out, str)
    # whatever the text, only bare names are substituted, and only by str()
    for name in names(template):
        assert name.isidentifier()


@given(st.text())
def test_escaped_text_comes_back_exactly(text: str) -> None:
    escaped = text.replace("{", "{{").replace("}", "}}")
    assert render(escaped, VALUES) == text
    assert names(escaped) == set()


@given(st.text(alphabet=st.characters(blacklist_characters="{}")))
def test_text_without_braces_is_untouched(text: str) -> None:
    assert render(text, VALUES) == text


@given(
    st.lists(
        st.one_of(
            st.text(alphabet=st.characters(blacklist_characters="{}"), max_size=5),
            st.sampled_from(["{name}", "{n}", "{missing}", "{{", "}}"]),
        ),
        max_size=8,
    )
)
def test_rendering_is_piecewise(pieces: list[str]) -> None:
    """Rendering a concatenation renders each piece (no piece reaches into the next)."""
    expected = "".join(render(p, VALUES) for p in pieces)
    assert render("".join(pieces), VALUES) == expected


def test_lists_and_objects_read_naturally_in_prompts() -> None:
    """A list mapped from an HTTP answer is spoken as a list, never as a Python repr."""
    values = {"days": ["Monday", "Tuesday"], "open": True, "hours": {"mon": "9-18"}, "n": 3}
    assert render("Open {days}", values) == "Open Monday, Tuesday"
    assert render("{open} {n}", values) == "true 3"
    assert render("{hours}", values) == '{"mon": "9-18"}'
