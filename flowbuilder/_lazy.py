"""Package attributes imported on first use, so that importing a package stays cheap.

``import flowbuilder`` (and every ``flowbuilder.x`` import, which runs the package first) must
not pay for tornado, httpx or ipywidgets: the pure core, the CLI's ``--help`` and exported flows
need none of them. A package names its heavy attributes and the module that defines each::

    __getattr__, __dir__ = lazy_attributes(__name__, {"serve": "flowbuilder.server.runner"})

and imports them under ``TYPE_CHECKING`` too, so type checkers and editors still see them.
"""

from __future__ import annotations

import importlib
import sys
import types
from collections.abc import Callable, Iterable, Mapping
from typing import Any


def lazy_attributes(
    package: str, lazy: Mapping[str, str]
) -> tuple[Callable[[str], Any], Callable[[], list[str]]]:
    """The module-level ``__getattr__`` and ``__dir__`` for *package*: *lazy* maps each name to
    the module it is imported from on first use (then kept in the package, like any import)."""

    def __getattr__(name: str) -> Any:
        module = lazy.get(name)
        if module is None:
            raise AttributeError(f"module {package!r} has no attribute {name!r}")
        value = getattr(importlib.import_module(module), name)
        setattr(sys.modules[package], name, value)
        return value

    def __dir__() -> list[str]:  # tab completion: the public names, lazy ones too
        names = vars(sys.modules[package])
        public = names.get("__all__")
        if public is None:
            return sorted({*names, *lazy})
        return sorted({*public, *(n for n in names if n.startswith("__"))})

    return __getattr__, __dir__


class _Package(types.ModuleType):
    """A package whose public functions share their names with the modules defining them."""

    _shadowing: frozenset[str] = frozenset()

    def __setattr__(self, name: str, value: Any) -> None:
        # the import system sets each submodule on its package once loaded; for these names the
        # package keeps exporting the function (as it did when it imported them eagerly)
        if name in self._shadowing and isinstance(value, types.ModuleType):
            value = getattr(value, name)
        super().__setattr__(name, value)


def functions_over_submodules(package: str, names: Iterable[str]) -> None:
    """Make ``package.name`` stay the function *name* when its submodule ``package.name`` is
    imported (``flowbuilder.validate`` is the function, its module ``flowbuilder.validate``)."""
    module = sys.modules[package]
    module.__class__ = _Package  # documented: "Customizing module attribute access"
    object.__setattr__(module, "_shadowing", frozenset(names))
