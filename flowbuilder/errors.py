"""Every exception flowbuilder raises.

::

    FlowbuilderError
    ├─ FlowError                 user-fixable flow problems: .node_id, .field
    │  ├─ NodeConfigError        a parameter value is refused
    │  ├─ FlowValidationError    .issues (compile() found errors)
    │  └─ UnknownNodeKindError
    ├─ ExportError
    ├─ ScenarioError             a scenarios file is malformed: names the scenario and field
    ├─ CallbackError             bad callback input; .status is the HTTP status to answer
    │  └─ CallbackAuthError
    └─ CallrError                .method
       ├─ CallrTransportError    network, timeout (the httpx error is chained)
       ├─ CallrProtocolError     malformed JSON-RPC envelope, non-JSON body
       ├─ CallrAuthError         HTTP 401/403: the credentials were refused
       └─ CallrApiError          .code .message .data, as CALLR sent them

Messages are one line and name where the problem is, never a credential.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from flowbuilder.validate import Issue


class FlowbuilderError(Exception):
    """Base of every flowbuilder exception."""


class FlowError(FlowbuilderError):
    """A problem in a flow that the user can fix; names the node and field when known."""

    def __init__(self, message: str, *, node_id: str | None = None, field: str | None = None):
        self.node_id = node_id
        self.field = field
        where = ".".join(p for p in (node_id, field) if p)
        super().__init__(f"{where}: {message}" if where else message)
        self.reason = message


class NodeConfigError(FlowError):
    """A node parameter value is out of bounds, of the wrong type, or unknown."""


class UnknownNodeKindError(FlowError):
    """A node names a kind that is not registered."""


class FlowValidationError(FlowError):
    """compile() refused a flow; ``.issues`` lists every error (and warning) found."""

    def __init__(self, issues: Sequence[Issue]):
        self.issues = list(issues)
        errors = [i for i in self.issues if i.severity == "error"]
        first = errors[0] if errors else None
        more = f" (and {len(errors) - 1} more)" if len(errors) > 1 else ""
        text = f"{first}{more}" if first else "flow is invalid"
        # the issue's text already says where; FlowError would prefix it a second time
        FlowbuilderError.__init__(self, text)
        self.node_id = first.node_id if first else None
        self.field = first.field if first else None
        self.reason = text


class ExportError(FlowbuilderError):
    """A flow could not be exported or imported back."""


class ScenarioError(FlowbuilderError):
    """A scenarios file (behaviour tests of a flow) cannot be read; the message says where."""


class CallbackError(FlowbuilderError):
    """A callback POST is unusable; ``status`` is the HTTP status to answer with."""

    def __init__(self, message: str, status: int = 400):
        super().__init__(message)
        self.status = status


class CallbackAuthError(CallbackError):
    """The callback's HTTP Basic credentials do not match the app's."""

    def __init__(self, message: str = "authentication required"):
        super().__init__(message, status=401)


class CallrError(FlowbuilderError):
    """A CALLR JSON-RPC call failed; ``method`` names the call."""

    def __init__(self, message: str, *, method: str | None = None):
        self.method = method
        super().__init__(f"{method}: {message}" if method else message)


class CallrTransportError(CallrError):
    """The request did not complete: connection refused, timeout, reset."""


class CallrProtocolError(CallrError):
    """The answer is not a JSON-RPC 2.0 envelope."""


class CallrAuthError(CallrError):
    """CALLR refused the credentials (HTTP 401 or 403)."""


class CallrApiError(CallrError):
    """CALLR answered with a JSON-RPC error object."""

    def __init__(self, code: int, message: str, data: Any = None, *, method: str | None = None):
        self.code = code
        self.message = message
        self.data = data
        super().__init__(f"error {code}: {message}", method=method)
