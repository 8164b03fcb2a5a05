"""What names in a flow may look like: node ids, flow names, outcome labels.

One table for the graph, the node kinds and validation (variable names are in
:mod:`flowbuilder.template`).

>>> bool(NODE_ID.match("main_menu")), bool(FLOW_NAME.match("v2.1")), bool(OUTCOME_NAME.match("1"))
(True, True, True)
"""

from __future__ import annotations

import re
from typing import Final

#: A node id: a letter, then letters, digits, _ or -, 64 at most.
NODE_ID: Final = re.compile(r"[A-Za-z][A-Za-z0-9_-]{0,63}\Z")
#: A flow name: letters, digits, _ . or -, 64 at most.
FLOW_NAME: Final = re.compile(r"[A-Za-z0-9_][A-Za-z0-9_.-]{0,63}\Z")
#: The variable holding why a node failed, set before the flow takes its error path.
ERROR_VARIABLE: Final = "last_error"
#: Spoken, then the call is hung up, when nothing else can be done (the flow's
#: ``fallback_message`` setting overrides it).
FALLBACK_MESSAGE: Final = "Sorry, something went wrong. Goodbye."
#: An outcome label (the key of an edge): letters, digits, _ or -, 32 at most.
OUTCOME_NAME: Final = re.compile(r"[A-Za-z0-9_][A-Za-z0-9_-]{0,31}\Z")
