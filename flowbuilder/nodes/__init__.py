"""Node kinds: one module each, named as its kind, imported the first time the kind is used
(:class:`~flowbuilder.nodes._base.Registry`).

Adding a kind: write its module here, add its engine scenario test.
"""

import pkgutil
from typing import Final

#: Every kind flowbuilder ships: the modules ``flowbuilder.nodes.<name>`` (a listing of this
#: folder, not an import of them).
KINDS: Final = tuple(
    sorted(m.name for m in pkgutil.iter_modules(__path__) if not m.name.startswith("_"))
)

from flowbuilder.nodes._base import REGISTRY, NodeKind, Param, get_kind, kinds  # noqa: E402

__all__ = ["KINDS", "REGISTRY", "NodeKind", "Param", "get_kind", "kinds"]
