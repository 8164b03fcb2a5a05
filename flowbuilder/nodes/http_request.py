"""``http_request``: call a JSON web API during the call and map its answer into variables.

The request is an *effect*: the node asks the driver (callback server, ``simulate()``) to perform
it with a deadline and picks its outcome from the result, so the engine itself does no I/O.

- ``success``: a 2xx answer whose body is JSON (or empty); ``map`` copies values out of it by
  dotted path (``data.customer.name``; a number indexes a list: ``items.0.id``). A path that is
  not in the answer sets its variable to ``""`` and the trace says so.
- ``failed``: connection refused, a non-2xx status, a body that is not JSON, an answer over
  ``max_bytes`` (1 MiB by default), or an address the flow may not reach.
- ``timeout``: no answer within ``timeout_ms``.

Addresses: link-local and cloud metadata addresses (``169.254.169.254``, ``fd00:ec2::254``...)
are always refused; loopback and private ones (``127.0.0.1``, ``10.x``, ``192.168.x``, ``fc00::/7``)
unless the flow setting ``allow_private_network`` is true (``flow.configure(
allow_private_network=True)``: an API on your own network, or a test server on loopback). The
check is made on the addresses the host name resolves to, and the connection goes to the address
checked. Redirects are not followed.

``http_status`` is set on every outcome (``0`` when no answer came) and ``http_error`` says what
went wrong on ``failed`` and ``timeout``.

Templates: ``{variable}`` values put into the URL are percent-encoded (``{account}`` holding
``a/b`` becomes ``a%2Fb``), except a placeholder that starts the URL (a base URL such as
``{api}/customers``). The body is JSON as written; placeholders are filled in only *inside JSON
strings* and escaped there, so ``{"account": "{account}"}`` is always valid JSON whatever the
caller typed. Header values are templates too.

CALLR waits at most 5 seconds for each answer and the server needs part of that, so a
``timeout_ms`` over 4000 is refused by validation and over 3000 draws a warning.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from typing import Any, Final, Literal
from urllib.parse import quote, urlsplit

from flowbuilder import template
from flowbuilder.effects import HTTP_MAX_BYTES, EffectResult, HttpRequest
from flowbuilder.nodes._base import (
    Action,
    Context,
    Fail,
    Go,
    NodeKind,
    NodeSpec,
    Param,
    Perform,
    Result,
    register,
)

METHODS: Final = ("GET", "POST", "PUT", "PATCH", "DELETE")
STATUS_VARIABLE: Final = "http_status"
ERROR_VARIABLE: Final = "http_error"
#: The largest answer a node may be configured to read.
MAX_BYTES_LIMIT: Final = 16 * 1024 * 1024
#: Above this an effect risks CALLR's 5-second answer window (the server needs time too).
WINDOW_ERROR_MS: Final = 4000
WINDOW_WARNING_MS: Final = 3000
_HEADER_NAME = re.compile(r"[!#$%&'*+.^_`|~0-9A-Za-z-]+\Z")
_PATH_SEGMENT = re.compile(r"[^.\s]+")
_INDEX = re.compile(r"[0-9]+")


def window_advice(timeout_ms: Any) -> list[tuple[Literal["error", "warning"], str, str]]:
    """CALLR's answer window, for every node that performs an effect during a callback."""
    if not isinstance(timeout_ms, int) or isinstance(timeout_ms, bool):
        return []
    if timeout_ms > WINDOW_ERROR_MS:
        return [
            (
                "error",
                "timeout_ms",
                f"{timeout_ms} ms would break CALLR's 5-second answer window (the server needs "
                f"time too); use at most {WINDOW_ERROR_MS} ms",
            )
        ]
    if timeout_ms > WINDOW_WARNING_MS:
        return [
            (
                "warning",
                "timeout_ms",
                f"{timeout_ms} ms leaves little of CALLR's 5-second answer window; "
                f"{WINDOW_WARNING_MS} ms or less is safer",
            )
        ]
    return []


@dataclass(frozen=True, slots=True)
class _Prepared:
    url_names: frozenset[str]
    url_base: str  # a placeholder that starts the URL: inserted as is, not percent-encoded
    headers: tuple[tuple[str, str], ...]
    body: Any  # parsed JSON, rendered per call when templated
    body_text: str | None  # the body when it holds no placeholder (rendered once)
    mapping: tuple[tuple[str, str, tuple[str, ...]], ...]  # (variable, path, segments)
    templated: bool


@register
class HttpRequestKind(NodeKind):
    name = "http_request"
    title = "HTTP request"
    description = "Call a JSON web API and put parts of its answer into variables."
    category = "Integrations"
    color = "#72b7b2"
    icon = "⇄"
    params = (
        Param("method", "choice", "GET", "HTTP method.", choices=METHODS),
        Param(
            "url",
            "text",
            "",
            "http(s) URL with {variables}, e.g. https://crm.example.com/customers?phone={caller}; "
            "values are percent-encoded.",
            required=True,
            template=True,
            max=2000,
            example="https://crm.example.com/customers?phone={caller}",
        ),
        Param(
            "headers",
            "mapping",
            {},
            "Request headers: {'Authorization': 'Bearer {token}'}; values accept {variables}.",
            template=True,
            key=Param("header", "text", "", "Header name, e.g. Authorization."),
            item=Param("value", "text", "", "Value; {variables} allowed.", template=True),
        ),
        Param(
            "body",
            "text",
            "",
            'JSON body (empty for none): {"account": "{account}"}; placeholders go inside '
            "JSON strings and are escaped.",
            template=True,
            max=20000,
        ),
        Param(
            "timeout_ms",
            "int",
            2000,
            "How long to wait for the answer; at most 4000 to stay inside CALLR's 5 s window.",
            min=100,
            max=10000,
            unit="ms",
        ),
        Param(
            "max_bytes",
            "int",
            HTTP_MAX_BYTES,
            "The largest answer read; a longer one is refused and leaves through failed.",
            min=1,
            max=MAX_BYTES_LIMIT,
            unit="bytes",
        ),
        Param(
            "map",
            "mapping",
            {},
            "Variables to set from the JSON answer: {'customer': 'data.customer.name', "
            "'first_order': 'orders.0.id'}.",
            key=Param("variable", "variable", "", "Variable to set."),
            item=Param("path", "text", "", "Where in the answer, e.g. data.customer.name."),
        ),
    )
    static_outcomes = ("success", "failed", "timeout")
    failure_outcomes = ("failed", "timeout")
    waits_on_caller = False
    makes_http_requests = True
    effect_timeout_param = "timeout_ms"

    # declaration ----------------------------------------------------------------------------

    def check_values(self, params: Mapping[str, Any]) -> list[tuple[str, str]]:
        problems: list[tuple[str, str]] = []
        url = params["url"]
        if not url.startswith("{") and not _is_http_url(url):
            problems.append(("url", f"must be an http:// or https:// URL, got {url!r}"))
        for key, value in params["headers"].items():
            where = f"headers.{key}"
            if not _HEADER_NAME.match(key):
                problems.append((where, "is not a valid header name"))
            elif not isinstance(value, str) or "\r" in value or "\n" in value:
                problems.append((where, "must be one line of text"))
        if params["body"]:
            try:
                json.loads(params["body"])
            except ValueError as exc:
                detail = exc.msg if isinstance(exc, json.JSONDecodeError) else str(exc)
                where = (
                    f" (line {exc.lineno}, column {exc.colno})"
                    if isinstance(exc, json.JSONDecodeError)
                    else ""
                )
                problems.append(
                    (
                        "body",
                        f"is not JSON: {detail}{where}; put placeholders inside strings, "
                        'e.g. {"account": "{account}"}',
                    )
                )
        for variable, path in params["map"].items():
            where = f"map.{variable}"
            if not template.VARIABLE_NAME.match(variable) or variable.startswith("_"):
                problems.append((where, "is not a variable name (letters, digits, _)"))
            elif not isinstance(path, str) or not _split_path(path):
                problems.append(
                    (where, f"must be a dotted path like 'data.customer.name', got {path!r}")
                )
        return problems

    def advice(
        self, params: Mapping[str, Any], *, subflows: Mapping[str, Any] | None = None
    ) -> list[tuple[Literal["error", "warning"], str, str]]:
        found = window_advice(params.get("timeout_ms"))
        if params.get("method") in ("GET", "DELETE") and params.get("body"):
            found.append(
                (
                    "warning",
                    "body",
                    f"{params['method']} requests usually have no body; many servers ignore it",
                )
            )
        return found

    def variables_set(self, params: Mapping[str, Any]) -> set[str]:
        mapping = params.get("map")
        names = {str(k) for k in mapping} if isinstance(mapping, dict) else set()
        return names | {STATUS_VARIABLE, ERROR_VARIABLE}

    def variables_set_by(self, params: Mapping[str, Any], outcome: str) -> set[str]:
        if outcome in self.failure_outcomes:  # the answer's values come with success only
            return {STATUS_VARIABLE, ERROR_VARIABLE}
        return self.variables_set(params) - {ERROR_VARIABLE}

    def template_texts(self, params: Mapping[str, Any]) -> Iterator[tuple[str, str]]:
        for field, text in super().template_texts(params):
            if field != "body":
                yield field, text
        try:  # the body's braces are JSON's: only the strings inside it are templates
            body = json.loads(params.get("body") or "null")
        except (TypeError, ValueError):  # not JSON: check_values says so
            return
        for text in template.texts_in_data(body):
            yield "body", text

    def prepare(self, params: Mapping[str, Any]) -> Any:
        url = params["url"]
        lead = re.match(r"\{(" + template.NAME + r")\}", url)
        body = json.loads(params["body"]) if params["body"] else None
        body_names = template.names_in_data(body)
        headers = tuple(params["headers"].items())
        return _Prepared(
            url_names=frozenset(template.names(url)),
            url_base=lead.group(1) if lead else "",
            headers=headers,
            body=body,
            body_text=None if body is None or body_names else _dumps(body),
            mapping=tuple(
                (variable, path, _split_path(path)) for variable, path in params["map"].items()
            ),
            templated=bool(
                template.names(url) or body_names or template.names_in_data(dict(headers))
            ),
        )

    # run time -------------------------------------------------------------------------------

    def start(self, node: NodeSpec, ctx: Context) -> Action:
        p, prep = node.params, node.prepared
        assert isinstance(prep, _Prepared)
        scope = ctx.scope() if prep.templated else {}
        url = p["url"]
        if prep.url_names:
            encoded = {
                name: _text(scope.get(name)) if name == prep.url_base else _encode(scope.get(name))
                for name in prep.url_names
            }
            url = template.render(url, encoded)
        if not _is_http_url(url):
            ctx.variables[STATUS_VARIABLE] = 0
            ctx.variables[ERROR_VARIABLE] = f"not an http(s) URL: {url!r}"
            ctx.note(ctx.variables[ERROR_VARIABLE])
            return Go("failed")
        headers = {k: " ".join(template.render(v, scope).splitlines()) for k, v in prep.headers}
        lower = {k.lower() for k in headers}
        if "accept" not in lower:
            headers["Accept"] = "application/json"
        body = prep.body_text
        if prep.body is not None:
            if body is None:
                body = _dumps(template.render_data(prep.body, scope))
            if "content-type" not in lower:
                headers["Content-Type"] = "application/json"
        return Perform(
            HttpRequest(
                p["method"],
                url,
                headers,
                body,
                p["timeout_ms"],
                max_bytes=p["max_bytes"],
                allow_private_network=ctx.settings.get("allow_private_network") is True,
            )
        )

    def resume(self, node: NodeSpec, ctx: Context, result: Result) -> Action:
        if not isinstance(result, EffectResult):
            return Fail("http_request got a command result instead of its HTTP answer")
        variables = ctx.variables
        variables[STATUS_VARIABLE] = result.status or 0
        if result.timed_out:
            timeout = node.params["timeout_ms"]
            variables[ERROR_VARIABLE] = (
                f"no answer within {result.given_ms(timeout)} ms{result.budget_note(timeout)}"
            )
            return Go("timeout")
        if result.error:
            variables[ERROR_VARIABLE] = result.error
            ctx.note(result.error)
            return Go("failed")
        variables.pop(ERROR_VARIABLE, None)
        for variable, path, segments in node.prepared.mapping:
            found, value = _dig(result.data, segments)
            if not found:
                ctx.note(f"map.{variable}: {path!r} is not in the answer; set to ''")
                value = ""
            variables[variable] = value
        return Go("success")


def _is_http_url(url: str) -> bool:
    try:
        parts = urlsplit(url)
    except ValueError:
        return False
    return parts.scheme in ("http", "https") and bool(parts.netloc) and not re.search(r"\s", url)


def _split_path(path: str) -> tuple[str, ...]:
    """``"a.0.b"`` -> ``("a", "0", "b")``; ``()`` when the path is malformed."""
    segments = tuple(path.split("."))
    return segments if all(_PATH_SEGMENT.fullmatch(s) for s in segments) else ()


def _dig(data: Any, segments: tuple[str, ...]) -> tuple[bool, Any]:
    for segment in segments:
        if isinstance(data, dict) and segment in data:
            data = data[segment]
        elif isinstance(data, list) and _INDEX.fullmatch(segment) and int(segment) < len(data):
            data = data[int(segment)]
        else:
            return False, None
    return True, data


def _text(value: Any) -> str:
    return "" if value is None else str(value)


def _encode(value: Any) -> str:
    return quote(_text(value), safe="")


def _dumps(data: Any) -> str:
    return json.dumps(data, ensure_ascii=False, separators=(",", ":"))
