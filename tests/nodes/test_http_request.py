"""``http_request``: a real JSON API on loopback (Tornado, in a thread), through the engine.

Every scenario is a simulated call whose request is performed for real by the effect runner:
JSON mapping, templated URL / headers / body, non-2xx, non-JSON, a slow endpoint, a refused
connection.
"""

from __future__ import annotations

import asyncio
import json
import socket
import threading
from collections.abc import Iterator
from typing import Any

import pytest
import tornado.httpserver
import tornado.netutil
import tornado.web

from flowbuilder import Flow, simulate, validate
from flowbuilder.compiler import compile
from flowbuilder.errors import FlowValidationError, NodeConfigError

CUSTOMER = {
    "data": {"customer": {"name": "Ada Lovelace", "tier": "gold", "balance": 12.5}},
    "items": [{"id": 7}, {"id": 8}],
}


class Customers(tornado.web.RequestHandler):
    def get(self) -> None:
        phone = self.get_query_argument("phone", "")
        self.write({**CUSTOMER, "phone": phone})


class Echo(tornado.web.RequestHandler):
    """Answers what it received, so a test sees the request exactly as sent."""

    def _echo(self, *args: str) -> None:
        body = self.request.body.decode()
        self.write(
            {
                "method": self.request.method,
                "path": self.request.path,
                "query": {k: self.get_query_argument(k) for k in self.request.query_arguments},
                "headers": dict(self.request.headers),
                "body": json.loads(body) if body else None,
            }
        )

    get = post = put = patch = delete = _echo


class Missing(tornado.web.RequestHandler):
    def get(self) -> None:
        self.set_status(404)
        self.write({"error": "no such customer"})


class Broken(tornado.web.RequestHandler):
    def get(self) -> None:
        self.set_status(500)
        self.set_header("Content-Type", "text/plain")
        self.write("internal error")


class Html(tornado.web.RequestHandler):
    def get(self) -> None:
        self.set_header("Content-Type", "text/html")
        self.write("<html><body>maintenance</body></html>")


class Empty(tornado.web.RequestHandler):
    def get(self) -> None:
        self.set_status(204)


class Slow(tornado.web.RequestHandler):
    async def get(self) -> None:
        await asyncio.sleep(1.0)
        self.write({"late": True})


class Big(tornado.web.RequestHandler):
    """``size`` bytes of JSON, with a Content-Length or (``chunked=1``) streamed without one."""

    async def get(self) -> None:
        size = int(self.get_query_argument("size"))
        self.set_header("Content-Type", "application/json")
        if self.get_query_argument("chunked", ""):
            self.write(b'["')
            sent = 0
            while sent < size:
                self.write(b"x" * 65536)
                await self.flush()
                sent += 65536
            self.write(b'"]')
        else:
            self.write(b'["' + b"x" * (size - 4) + b'"]')


class Api:
    """A Tornado app on 127.0.0.1 with its own event loop in a thread."""

    def __init__(self) -> None:
        self.loop = asyncio.new_event_loop()
        self.ready = threading.Event()
        self.thread = threading.Thread(target=self._run, name="test-api", daemon=True)
        self.port = 0
        self.server: tornado.httpserver.HTTPServer | None = None

    def _run(self) -> None:
        asyncio.set_event_loop(self.loop)
        app = tornado.web.Application(
            [
                (r"/customers", Customers),
                (r"/echo.*", Echo),
                (r"/missing", Missing),
                (r"/broken", Broken),
                (r"/html", Html),
                (r"/empty", Empty),
                (r"/slow", Slow),
                (r"/big", Big),
            ]
        )
        sockets = tornado.netutil.bind_sockets(0, "127.0.0.1")
        self.port = sockets[0].getsockname()[1]
        self.server = tornado.httpserver.HTTPServer(app)
        self.server.add_sockets(sockets)
        self.loop.call_soon(self.ready.set)
        self.loop.run_forever()

    def start(self) -> str:
        self.thread.start()
        assert self.ready.wait(5), "the test API did not start"
        return f"http://127.0.0.1:{self.port}"

    def stop(self) -> None:
        async def shutdown() -> None:
            assert self.server is not None
            self.server.stop()
            await self.server.close_all_connections()
            tasks = [t for t in asyncio.all_tasks() if t is not asyncio.current_task()]
            for task in tasks:
                task.cancel()
            await asyncio.gather(*tasks, return_exceptions=True)

        asyncio.run_coroutine_threadsafe(shutdown(), self.loop).result(5)
        self.loop.call_soon_threadsafe(self.loop.stop)
        self.thread.join(5)
        self.loop.close()


@pytest.fixture(scope="module")
def api() -> Iterator[str]:
    server = Api()
    url = server.start()
    yield url
    server.stop()


@pytest.fixture
def refused_url() -> str:
    """A loopback port nothing listens on."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    return f"http://127.0.0.1:{port}/customers"


def lookup(url: str, *, private: bool = True, **params: Any) -> Flow:
    """``req`` calls *url*; each outcome plays what the caller would be told. The test API is
    on loopback: the flow may reach it (allow_private_network) unless *private* is False."""
    flow = Flow("crm").configure(allow_private_network=private)
    flow.add("req", "http_request", url=url, **params)
    flow.add("ok", "play", prompt="Hello {name}, status {http_status}.")
    flow.add("failed", "play", prompt="Lookup failed: {http_status} {http_error}.")
    flow.add("slow", "play", prompt="Lookup timed out: {http_error}.")
    flow.add("bye", "hangup")
    flow.connect("req", "ok", "success").connect("req", "failed", "failed")
    flow.connect("req", "slow", "timeout")
    for node in ("ok", "failed", "slow"):
        flow.connect(node, "bye")
    return flow


# -- success -------------------------------------------------------------------------------------


def test_json_answer_is_mapped_into_variables(api: str, callr) -> None:
    flow = lookup(
        f"{api}/customers?phone={{caller}}",
        map={
            "name": "data.customer.name",
            "tier": "data.customer.tier",
            "balance": "data.customer.balance",
            "second_item": "items.1.id",
            "phone": "phone",
        },
    )
    call = callr(flow, caller="+33612345678")

    reply = call.start()

    assert reply.trace.path == ("req", "ok")
    assert call.variables == {
        "name": "Ada Lovelace",
        "tier": "gold",
        "balance": 12.5,
        "second_item": 8,
        "phone": "+33612345678",  # the + was percent-encoded in the URL and decoded by the server
        "http_status": 200,
    }


def test_the_caller_hears_mapped_values(api: str) -> None:
    t = simulate(lookup(f"{api}/customers", map={"name": "data.customer.name"}))

    assert t.heard == ["Hello Ada Lovelace, status 200."]
    assert t.path == ["req", "ok", "bye"]


def test_a_path_missing_from_the_answer_sets_an_empty_value_and_says_so(api: str, callr) -> None:
    flow = lookup(f"{api}/customers", map={"name": "data.customer.nickname", "x": "items.5.id"})
    call = callr(flow)

    reply = call.start()

    assert reply.trace.path == ("req", "ok")
    assert call.variables["name"] == ""
    assert call.variables["x"] == ""
    assert reply.trace.warning == (
        "req: map.name: 'data.customer.nickname' is not in the answer; set to ''; "
        "req: map.x: 'items.5.id' is not in the answer; set to ''"
    )


def test_an_empty_2xx_answer_is_a_success(api: str) -> None:
    t = simulate(lookup(f"{api}/empty"))

    assert t.heard == ["Hello , status 204."]


def test_templates_fill_url_headers_and_json_body_safely(api: str, callr) -> None:
    flow = lookup(
        f"{api}/echo/{{account}}?q={{query}}",
        method="POST",
        headers={"Authorization": "Bearer {token}", "X-Caller": "{caller}"},
        body='{"account": "{account}", "name": "{name}", "fixed": [1, {"deep": true}]}',
        map={"sent": "body", "auth": "headers.Authorization", "path": "path", "query": "query.q"},
    )
    call = callr(flow, caller="+33611111111")
    name = 'Ada "Countess" \\ Lovelace\n'

    call.start({"account": "a/b c", "query": "x&y=z", "token": "t0k", "name": name})

    v = call.variables
    assert v["path"] == "/echo/a%2Fb%20c"  # values are percent-encoded in the URL
    assert v["query"] == "x&y=z"
    assert v["auth"] == "Bearer t0k"
    assert v["sent"] == {"account": "a/b c", "name": name, "fixed": [1, {"deep": True}]}


def test_json_content_type_and_accept_are_sent_unless_given(api: str, callr) -> None:
    flow = lookup(
        f"{api}/echo",
        method="PUT",
        body='{"a": 1}',
        headers={"accept": "application/vnd.api+json"},
        map={"ct": "headers.Content-Type", "accept": "headers.Accept", "method": "method"},
    )
    call = callr(flow)

    call.start()

    assert call.variables["ct"] == "application/json"
    assert call.variables["accept"] == "application/vnd.api+json"
    assert call.variables["method"] == "PUT"


@pytest.mark.parametrize("method", ["GET", "POST", "PUT", "PATCH", "DELETE"])
def test_every_method_reaches_the_server(api: str, callr, method: str) -> None:
    call = callr(lookup(f"{api}/echo", method=method, map={"method": "method"}))

    call.start()

    assert call.variables["method"] == method


def test_a_base_url_variable_is_inserted_as_is(api: str, callr) -> None:
    call = callr(lookup("{api}/customers?phone={caller}", map={"phone": "phone"}))

    reply = call.start({"api": api})

    assert reply.trace.path == ("req", "ok")
    assert call.variables["phone"] == "+33612345678"


# -- failures ------------------------------------------------------------------------------------


def test_a_non_2xx_answer_leaves_through_failed(api: str, callr) -> None:
    call = callr(lookup(f"{api}/missing", map={"name": "error"}))

    reply = call.start()

    assert reply.trace.path == ("req", "failed")
    assert call.variables["http_status"] == 404
    assert call.variables["http_error"] == "HTTP 404"
    assert "name" not in call.variables  # a failed answer is not mapped


def test_a_non_json_answer_leaves_through_failed(api: str) -> None:
    html = simulate(lookup(f"{api}/html"))
    broken = simulate(lookup(f"{api}/broken"))

    assert html.heard == ["Lookup failed: 200 the answer is not JSON."]
    assert broken.heard == ["Lookup failed: 500 HTTP 500."]


def test_a_slow_endpoint_leaves_through_timeout(api: str, callr) -> None:
    call = callr(lookup(f"{api}/slow", timeout_ms=200))

    reply = call.start()

    assert reply.trace.path == ("req", "slow")
    assert call.variables["http_status"] == 0
    assert call.variables["http_error"] == "no answer within 200 ms"


def test_a_refused_connection_leaves_through_failed(refused_url: str) -> None:
    t = simulate(lookup(refused_url))

    assert t.path == ["req", "failed", "bye"]
    assert t.heard[0].startswith("Lookup failed: 0 ConnectError")
    assert t.status == "completed"


def test_a_rendered_url_that_is_not_http_fails_without_a_request(callr) -> None:
    call = callr(lookup("{api}/customers"))

    reply = call.start({"api": "file:///etc"})

    assert reply.trace.path == ("req", "failed")
    assert call.variables["http_error"] == "not an http(s) URL: 'file:///etc/customers'"


def test_an_unconnected_failure_hangs_up_cleanly(refused_url: str) -> None:
    flow = Flow("bare").add("req", "http_request", url=refused_url)

    t = simulate(flow)

    assert t.path == ["req"]
    assert t.status == "completed"


# -- declaration and validation ------------------------------------------------------------------


@pytest.mark.parametrize(
    ("params", "field", "words"),
    [
        ({"url": ""}, "url", "is required"),
        ({"url": "ftp://example.com/x"}, "url", "must be an http:// or https:// URL"),
        ({"url": "example.com/x"}, "url", "must be an http:// or https:// URL"),
        ({"url": "https://example.com/a b"}, "url", "must be an http:// or https:// URL"),
        ({"method": "HEAD"}, "method", "must be one of GET, POST"),
        ({"timeout_ms": 50}, "timeout_ms", "between 100 and 10000 ms"),
        ({"headers": {"Bad Header": "x"}}, "headers.Bad Header", "not a valid header name"),
        ({"headers": {"X-A": "a\r\nX-B: b"}}, "headers.X-A", "one line"),
        ({"headers": {"X-A": 5}}, "headers.X-A", "one line"),
        ({"body": '{"a": {account}}'}, "body", "is not JSON: Expecting property name"),
        ({"body": '{"a": 1,\n "b": {b}}'}, "body", "(line 2, column 8); put placeholders inside"),
        ({"map": {"name": "data..name"}}, "map.name", "dotted path"),
        ({"map": {"name": 3}}, "map.name", "dotted path"),
        ({"map": {"_x": "a"}}, "map._x", "not a variable name"),
    ],
)
def test_bad_params_are_refused_naming_the_field(
    params: dict[str, Any], field: str, words: str
) -> None:
    with pytest.raises(NodeConfigError) as caught:
        Flow("h").add("req", "http_request", **{"url": "https://example.com/x", **params})

    assert (caught.value.node_id, caught.value.field) == ("req", field)
    assert words in str(caught.value)
    assert "\n" not in str(caught.value)


@pytest.mark.parametrize(
    ("timeout_ms", "severity"), [(2000, None), (3000, None), (3001, "warning"), (4001, "error")]
)
def test_timeouts_are_checked_against_callrs_answer_window(
    timeout_ms: int, severity: str | None
) -> None:
    flow = lookup("https://example.com/x", timeout_ms=timeout_ms)

    found = [i for i in validate(flow) if i.field == "timeout_ms"]

    assert [i.severity for i in found] == ([severity] if severity else [])
    if severity == "error":
        assert "would break CALLR's 5-second answer window" in found[0].message
        with pytest.raises(FlowValidationError, match=r"req\.timeout_ms"):
            compile(flow)


def test_a_body_on_a_get_is_a_warning() -> None:
    flow = lookup("https://example.com/x", body='{"a": 1}', map={"name": "a"})

    assert [(i.severity, i.field) for i in validate(flow)] == [("warning", "body")]


def test_status_error_and_mapped_variables_count_as_set() -> None:
    flow = lookup("https://example.com/x", map={"name": "data.name"})

    assert [i for i in validate(flow) if i.severity == "warning"] == []


def test_a_loop_of_requests_never_waits_and_is_refused() -> None:
    flow = Flow("loop").add("a", "http_request", url="https://example.com/")
    flow.connect("a", "a", "failed")

    with pytest.raises(FlowValidationError, match="endless loop"):
        compile(flow)


def test_a_body_without_placeholders_is_encoded_once_at_compile_time() -> None:
    flow = lookup("https://example.com/x", method="POST", body='{ "a" : [1, 2] }')

    prepared = compile(flow).nodes["req"].prepared

    assert prepared.body_text == '{"a":[1,2]}'


# -- what a flow may reach, and how much it reads ------------------------------------------------


def test_loopback_is_refused_unless_the_flow_allows_private_networks(api: str, callr) -> None:
    port = api.rsplit(":", 1)[1]
    for url in (f"{api}/customers", f"http://localhost:{port}/customers"):
        call = callr(lookup(url, private=False, map={"name": "data.customer.name"}))

        reply = call.start()

        assert reply.trace.path == ("req", "failed")
        assert call.variables["http_status"] == 0
        error = call.variables["http_error"]
        assert error.startswith("refused: ")
        assert "loopback address 127.0.0.1; set the flow setting allow_private_network" in error
        assert error in (reply.trace.warning or "")
    allowed = callr(lookup(f"{api}/customers", map={"name": "data.customer.name"}))
    allowed.start()
    assert allowed.variables["name"] == "Ada Lovelace"


@pytest.mark.parametrize(
    ("url", "words"),
    [
        ("http://169.254.169.254/latest/meta-data/", "cloud metadata address 169.254.169.254"),
        ("http://[fd00:ec2::254]/latest/meta-data/", "cloud metadata address fd00:ec2::254"),
        ("http://169.254.10.1/", "link-local address 169.254.10.1"),
        ("http://[fe80::1]/", "link-local address fe80::1"),
        ("http://[::ffff:169.254.169.254]/", "cloud metadata address 169.254.169.254"),
        ("http://0.0.0.0/", "0.0.0.0, which is not a host address"),
    ],
)
def test_metadata_and_link_local_addresses_are_refused_always(callr, url: str, words: str) -> None:
    call = callr(lookup(url, private=True))

    reply = call.start()

    assert reply.trace.path == ("req", "failed")
    assert call.variables["http_error"] == f"refused: {words}"


@pytest.mark.parametrize(
    "url",
    [
        "http://2130706433/",  # 127.0.0.1 written as one number
        "http://127.1/",
        "http://[::1]/",
        "http://10.0.0.1/",
        "http://192.168.1.1/",
        "http://100.64.0.1/",
    ],
)
def test_private_addresses_in_any_spelling_are_refused_by_default(callr, url: str) -> None:
    call = callr(lookup(url, private=False))

    call.start()

    assert "allow_private_network" in call.variables["http_error"]


def test_the_connection_goes_to_the_checked_address_under_the_host_name(api: str, callr) -> None:
    port = api.rsplit(":", 1)[1]
    call = callr(lookup(f"http://localhost:{port}/echo", map={"host": "headers.Host"}))

    call.start()

    assert call.variables["host"] == f"localhost:{port}"


@pytest.mark.parametrize("chunked", ["", "1"])
def test_an_answer_over_max_bytes_is_refused(api: str, callr, chunked: str) -> None:
    over = 2 * 1024 * 1024
    call = callr(lookup(f"{api}/big?size={over}&chunked={chunked}", map={"x": "0"}))

    reply = call.start()

    assert reply.trace.path == ("req", "failed")
    assert call.variables["http_error"] == "the answer is over 1048576 bytes; refused"
    bigger = callr(lookup(f"{api}/big?size={over}&chunked={chunked}", max_bytes=4 * 1024 * 1024))
    assert bigger.start().trace.path == ("req", "ok")


def test_max_bytes_is_bounded() -> None:
    with pytest.raises(NodeConfigError, match="between 1 and 16777216 bytes"):
        Flow("h").add("req", "http_request", url="https://example.com/", max_bytes=10**9)


def test_allow_private_network_is_a_saved_flow_setting() -> None:
    flow = Flow("s").configure(allow_private_network=True)

    assert Flow.from_json(flow.to_json()).settings["allow_private_network"] is True
    assert Flow("d").settings["allow_private_network"] is False
