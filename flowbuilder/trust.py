"""Which Python functions a flow's ``python`` nodes may call: the operator decides, never the flow.

A ``python`` node names a function by import path (``package.module:function``). Calling it runs
code, so where the flow came from matters:

- a flow built in your own Python code is trusted as that code is (:data:`TRUSTED`);
- a flow read from a file (``Flow.load``, ``Flow.from_json``/``from_dict``, ``serve(path)``,
  an exported module, every CLI command) may call functions only from the modules the operator
  allows: ``--allow MODULE`` on the command line, the ``FLOWBUILDER_ALLOW`` environment variable
  (modules separated by commas or spaces), or ``allow=[...]`` in Python. Nothing in the file
  itself can widen that list. :data:`DEFAULT_ALLOWED` (the sample functions the tutorials use)
  is always allowed.

Either way the standard library's process, OS, file, network and import machinery
(:data:`ALWAYS_REFUSED`: ``os``, ``subprocess``, ``sys``, ``builtins``, ``importlib``, ...) is
refused, and so is any attribute path that reaches it (``mymodule:os.system``, a function
imported from ``subprocess``, ``sys:modules.update``) or goes through dunder attributes.
Allowing a module allows its submodules.

A policy is plain data (:class:`Trust`) carried by the Flow, the compiled Program and each
``PythonCall`` effect, so whatever performs the call knows what it may import.

>>> policy = Trust.for_file("shared.json", allow=["crm"], env={})
>>> policy.problem("crm.lookup:by_number") is None
True
>>> print(policy.problem("helpers:greet"))  # doctest: +ELLIPSIS
module 'helpers' is not allowed for a flow from shared.json; allow it with --allow helpers, ...
>>> print(TRUSTED.problem("os:system"))
'os' is never allowed: python nodes cannot reach the process, OS or import machinery
"""

from __future__ import annotations

import builtins
import importlib
import os
import re
import sys
import types
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from typing import Any, Final

from flowbuilder.errors import FlowError

ENV_VAR: Final = "FLOWBUILDER_ALLOW"

#: Modules every policy allows: the harmless sample functions of the tutorials.
DEFAULT_ALLOWED: Final = frozenset({"flowbuilder.examples"})

#: Top-level modules no flow may call into, whoever allows them: running processes, the OS,
#: files, sockets, the interpreter and its import machinery, (un)pickling. Top-level names
#: starting with ``_`` (the interpreter's C internals: ``_posixsubprocess``, ``_io``...) too.
ALWAYS_REFUSED: Final = frozenset(
    {
        "asyncio",
        "atexit",
        "bdb",
        "builtins",
        "code",
        "codecs",
        "codeop",
        "concurrent",
        "copyreg",
        "ctypes",
        "dill",
        "cloudpickle",
        "distutils",
        "ensurepip",
        "faulthandler",
        "fcntl",
        "fileinput",
        "ftplib",
        "gc",
        "getpass",
        "glob",
        "grp",
        "http",
        "httpx",
        "imaplib",
        "imp",
        "importlib",
        "inspect",
        "io",
        "marshal",
        "mmap",
        "multiprocessing",
        "nt",
        "ntpath",
        "os",
        "pathlib",
        "pdb",
        "pickle",
        "pickletools",
        "pip",
        "pkgutil",
        "platform",
        "poplib",
        "posix",
        "posixpath",
        "pty",
        "pwd",
        "requests",
        "resource",
        "runpy",
        "select",
        "selectors",
        "setuptools",
        "shelve",
        "shutil",
        "signal",
        "site",
        "smtplib",
        "socket",
        "socketserver",
        "ssl",
        "subprocess",
        "sys",
        "sysconfig",
        "tarfile",
        "telnetlib",
        "tempfile",
        "termios",
        "threading",
        "trace",
        "tty",
        "urllib",
        "venv",
        "webbrowser",
        "xmlrpc",
        "zipfile",
        "zipimport",
    }
)
#: flowbuilder's own modules are not callable from a flow (serving, loading, exporting...),
#: except the sample functions.
_OWN_PACKAGE: Final = "flowbuilder"

_NAME = r"[A-Za-z_][A-Za-z0-9_]*"
MODULE_NAME: Final = re.compile(rf"{_NAME}(?:\.{_NAME})*\Z")
_SPLIT = re.compile(r"[\s,]+")


def _inside(module: str, package: str) -> bool:
    return module == package or module.startswith(package + ".")


def refusal(module: str) -> str | None:
    """Why *module* can never be called into, or None.

    >>> refusal("os.path"), refusal("_io"), refusal("flowbuilder.server"), refusal("crm")
    ('os', '_io', 'flowbuilder', None)
    """
    top = module.partition(".")[0]
    if top in ALWAYS_REFUSED or top.startswith("_"):
        return top
    if _inside(module, _OWN_PACKAGE) and not any(_inside(module, m) for m in DEFAULT_ALLOWED):
        return _OWN_PACKAGE
    return None


def allow_list(value: str | Iterable[str] | None) -> frozenset[str]:
    """Module names from an ``--allow`` list or ``FLOWBUILDER_ALLOW`` text; ValueError, in one
    line, for a name that is not a module name or that can never be allowed.

    >>> sorted(allow_list("crm, billing.api  tools"))
    ['billing.api', 'crm', 'tools']
    """
    if value is None:
        return frozenset()
    items = [value] if isinstance(value, str) else list(value)
    found: set[str] = set()
    for item in items:
        if not isinstance(item, str):
            raise ValueError(f"allow: module names are text, got {item!r}")
        found |= _checked_names(item)
    return frozenset(found)


def _checked_names(text: str) -> set[str]:
    found: set[str] = set()
    for name in _SPLIT.split(text):
        if not name:
            continue
        if not MODULE_NAME.match(name):
            raise ValueError(f"allow: {name!r} is not a module name like 'package.module'")
        refused = refusal(name)
        if refused is not None:
            raise ValueError(
                f"allow: {name!r} cannot be allowed: python nodes never reach {refused!r} "
                "(process, OS, files, network or import machinery)"
            )
        found.add(name)
    return found


@dataclass(frozen=True)
class Trust:
    """A policy for ``python`` nodes. ``allowed`` None: any module but the refused ones (a flow
    built in code); else only these modules and their submodules. ``source`` names where the
    flow came from, for messages."""

    allowed: frozenset[str] | None = None
    source: str = ""

    @classmethod
    def for_file(
        cls,
        source: str,
        allow: str | Iterable[str] | None = None,
        *,
        env: Mapping[str, str] | None = None,
    ) -> Trust:
        """The policy for a flow read from *source*: :data:`DEFAULT_ALLOWED`, the modules in
        ``FLOWBUILDER_ALLOW`` and *allow*."""
        environ = os.environ if env is None else env
        allowed = DEFAULT_ALLOWED | allow_list(environ.get(ENV_VAR)) | allow_list(allow)
        return cls(allowed, source or "a file")

    @property
    def trusted(self) -> bool:
        """A flow built in code: any module but the refused ones."""
        return self.allowed is None

    def allowing(self, allow: str | Iterable[str] | None) -> Trust:
        """This policy with *allow* added (a trusted policy stays as it is)."""
        extra = allow_list(allow)
        if self.allowed is None or not extra:
            return self
        return Trust(self.allowed | extra, self.source)

    def problem(self, target: str) -> str | None:
        """Why *target* (``module:attr.path``) may not be called, from its name alone (nothing
        is imported), or None."""
        module, _, path = target.partition(":")
        if not MODULE_NAME.match(module) or not path:
            return f"{target!r} is not an import path like 'package.module:function'"
        refused = refusal(module)
        if refused == _OWN_PACKAGE:
            return f"{module!r} is flowbuilder itself; flows may call flowbuilder.examples only"
        if refused is not None:
            return (
                f"{refused!r} is never allowed: python nodes cannot reach the process, OS or "
                "import machinery"
            )
        if any(part.startswith("__") for part in path.split(".")):
            return f"{target!r} goes through a dunder attribute; name a function"
        if self.allowed is not None and not any(_inside(module, m) for m in self.allowed):
            return (
                f"module {module!r} is not allowed for a flow from {self.source}; allow it with "
                f"--allow {module}, {ENV_VAR}={module} or allow=[{module!r}]"
            )
        return None

    def resolve(self, target: str) -> Callable[..., Any]:
        """The function *target* names, imported under this policy; ValueError, in one line,
        when it is refused, cannot be imported or reaches refused machinery."""
        problem = self.problem(target)
        if problem is not None:
            raise ValueError(problem)
        module_name, _, path = target.partition(":")
        try:
            obj: Any = importlib.import_module(module_name)
        except ImportError as exc:
            raise ValueError(f"cannot import {module_name!r}: {exc}") from None
        except Exception as exc:  # the module's own code failed while importing
            raise ValueError(
                f"cannot import {module_name!r}: {type(exc).__name__}: {exc}"
            ) from None
        for part in path.split("."):
            obj = getattr(obj, part, None)
            if obj is None:
                raise ValueError(f"{module_name!r} has no attribute {path!r}")
            reached = self._reaches(obj)
            if reached:
                raise ValueError(f"{target!r} reaches {reached}, which python nodes may not call")
        if not callable(obj):
            raise ValueError(f"{target!r} is not callable")
        return obj  # type: ignore[no-any-return]

    def _reaches(self, obj: Any) -> str:
        """What refused thing *obj* is or belongs to (``""``: nothing)."""
        if any(obj is guarded for guarded in _GUARDED):
            return "the interpreter's own tables"
        for owner in (obj, getattr(obj, "__self__", None)):
            if isinstance(owner, types.ModuleType):
                name = owner.__name__
                if refusal(name) or (
                    self.allowed is not None and not any(_inside(name, m) for m in self.allowed)
                ):
                    return f"module {name!r}"
        home = getattr(obj, "__module__", None)
        if isinstance(home, str) and refusal(home):
            return f"{home!r}"
        return ""

    def __str__(self) -> str:
        if self.allowed is None:
            return "trusted code"
        return f"{self.source}: {', '.join(sorted(self.allowed))}"


def combine(parts: Iterable[tuple[Trust, Iterable[str]]]) -> Trust:
    """One policy for a program made of several flows (a flow and its subflows), from each
    flow's policy and the targets validation approved under it: trusted when every flow is;
    else what the untrusted flows allow plus the modules the trusted ones call, and no more.

    >>> from_file = Trust.for_file("main.json", env={})
    >>> sorted(combine([(from_file, []), (TRUSTED, ["crm:lookup"])]).allowed)
    ['crm', 'flowbuilder.examples']
    """
    allowed: set[str] = set()
    source = ""
    trusted = True
    for policy, targets in parts:
        if policy.allowed is None:
            allowed.update(target.partition(":")[0] for target in targets)
        else:
            trusted = False
            allowed |= policy.allowed
            source = source or policy.source
    return TRUSTED if trusted else Trust(frozenset(allowed), source)


def file_trust(source: str, allow: str | Iterable[str] | None) -> Trust:
    """The trust of a flow read from *source* (FlowError for a module never allowed)."""
    try:
        return Trust.for_file(source, allow)
    except ValueError as exc:
        raise FlowError(f"{source}: {exc}") from None


#: A flow built in code: any function but the refused machinery.
TRUSTED: Final = Trust()
_GUARDED: Final = (sys.modules, vars(builtins), os.environ)
