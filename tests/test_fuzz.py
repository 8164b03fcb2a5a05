"""Fuzzing the servers as an attacker would: hypothesis draws callbacks and JSON-RPC requests (valid
and not, deep, huge, odd types, odd headers, chunked) and sends them over raw sockets to
``flowbuilder serve`` and ``flowbuilder sandbox``, each in a process of its own on loopback.

Whatever is sent: never a 5xx, never a dropped connection, the process alive, and its memory
bounded. A few thousand cases in the normal run; ``pytest --soak`` (or
``FLOWBUILDER_FUZZ_SCALE=N``) multiplies them. ``benchmarks/fuzz.py`` reports the same figures
over 20,000 requests, with the replays.
"""

from __future__ import annotations

import json
import os
import string
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "benchmarks"))

import itertools

import hostile  # the servers' processes, raw connections and requests

pytestmark = pytest.mark.slow
#: What the fuzzed servers may grow by over this module (they start near 50 MiB).
RSS_GROWTH_LIMIT_MIB = 50


def _scale(config: pytest.Config) -> int:
    scale = int(os.environ.get("FLOWBUILDER_FUZZ_SCALE", "1"))
    return scale * 20 if config.getoption("--soak") else scale


def examples(request: pytest.FixtureRequest, n: int) -> Any:
    return settings(
        max_examples=n * _scale(request.config),
        deadline=None,
        database=None,
        suppress_health_check=[
            HealthCheck.function_scoped_fixture,
            HealthCheck.too_slow,
            HealthCheck.data_too_large,
            HealthCheck.large_base_example,
        ],
    )


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[hostile.Process]:
    with hostile.serve_process(tmp_path_factory.mktemp("serve")) as process:
        with hostile.Connection(process.host, process.port) as conn:
            for _ in range(100):  # warm: imports, caches, the HTTP client
                conn.send(hostile.post(hostile.callback()))
        process.baseline = process.rss_mib()  # type: ignore[attr-defined]
        yield process


@pytest.fixture(scope="module")
def sandbox(tmp_path_factory: pytest.TempPathFactory) -> Iterator[hostile.Process]:
    with hostile.sandbox_process(tmp_path_factory.mktemp("sandbox")) as process:
        with hostile.Connection(process.host, process.port) as conn:
            for _ in range(50):
                conn.send(hostile.rpc("apps.get_dids", []))
        process.baseline = process.rss_mib()  # type: ignore[attr-defined]
        yield process


def survives(process: hostile.Process, request: hostile.Request) -> hostile.Response:
    with hostile.Connection(process.host, process.port) as conn:
        response = conn.send(request)
    assert not response.dropped, f"the connection was dropped: {request.encode()[:300]!r}"
    assert response.status < 500, (response.status, response.body[:300], request.encode()[:300])
    assert process.alive
    return response


# -- callbacks -----------------------------------------------------------------------------------

_ODD = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(),
    st.floats(allow_nan=False),
    st.text(max_size=20),
    st.lists(st.integers(), max_size=3),
    st.dictionaries(st.text(max_size=5), st.integers(), max_size=3),
)
_TEXT = st.text(max_size=80) | st.sampled_from(["", "\x1b[2J\x07\r\n", "\u202e", "a" * 200 + "!"])
_VARIABLES = st.recursive(
    st.none() | st.booleans() | st.integers() | st.text(max_size=30),
    lambda inner: (
        st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=8), inner, max_size=4)
    ),
    max_leaves=20,
)
_FIELDS: dict[str, st.SearchStrategy[Any]] = {
    "app": st.sampled_from([hostile.APP, "5A5B5C5D"]) | _TEXT,
    "callid": st.integers(min_value=0, max_value=2**64) | _ODD,
    "request_hash": st.none() | st.sampled_from(["4260XMAQ"]) | _TEXT,
    "cli_name": _TEXT,
    "cli_number": st.sampled_from(["+33612345678", ""]) | _TEXT,
    "date_started": st.just("2026-01-01 10:00:00") | _TEXT,
    "number": st.just("+33912345678") | _TEXT,
    "command": st.sampled_from(["", "play", "read", "dialout", "hangup", "record"]) | _TEXT,
    "command_id": st.integers(min_value=-5, max_value=2**64) | _ODD,
    "command_result": st.sampled_from(["", "0", "1", "TIMEOUT", "ANSWER"]) | _TEXT,
    "command_error": st.sampled_from(["", "INVALID_PARAM_FORMAT"]) | _TEXT,
    "call_status": st.sampled_from(["UP", "INCOMING_CALL", "HANGUP", "BUSY", "RINGING"]) | _TEXT,
    "cdr_field": _TEXT,
    "variables": st.dictionaries(st.text(max_size=10), _VARIABLES, max_size=5) | _ODD,
}


@st.composite
def callbacks(draw: st.DrawFn) -> dict[str, Any]:
    """Valid-ish callbacks: each field well-formed or odd, some missing, some extra."""
    body = hostile.callback()
    for name, strategy in _FIELDS.items():
        if draw(st.integers(0, 3)) == 0:
            body[name] = draw(strategy)
    for name in draw(st.lists(st.sampled_from(sorted(body)), max_size=2)):
        body.pop(name, None)
    if draw(st.booleans()):
        body[draw(st.sampled_from(["extra", "_fb", "__proto__"]))] = draw(_ODD)
    return body


def _deep(levels: int, opener: bytes) -> bytes:
    closer = b"]" if opener == b"[" else b"}"
    return opener * levels + b"0" + closer * levels


@st.composite
def bodies(draw: st.DrawFn) -> bytes:
    kind = draw(st.sampled_from(["callback", "deep", "deep_variables", "huge", "bytes", "cut"]))
    body = draw(callbacks())
    text = json.dumps(body).encode()
    if kind == "deep":
        return _deep(draw(st.sampled_from([64, 65, 990, 1100, 20_000])), b"[")
    if kind == "deep_variables":
        levels = draw(st.integers(60, 900))
        return (
            json.dumps(hostile.callback()).encode()[:-3]
            + b'{"x":'
            + _deep(levels, b'{"a":')
            + b"}}"
        )
    if kind == "huge":
        name = draw(st.sampled_from(sorted(hostile.callback())))
        body[name] = "x" * draw(st.sampled_from([65, 257, 8193, 60_000, 250_000]))
        return json.dumps(body).encode()
    if kind == "bytes":
        return draw(st.binary(max_size=500))
    if kind == "cut":
        return text[: draw(st.integers(0, len(text)))]
    return text


_HEADER_VALUE = st.text(alphabet=string.printable[:95], max_size=60)


@st.composite
def requests(draw: st.DrawFn) -> hostile.Request:
    body = draw(bodies())
    headers: dict[str, str] = {}
    content_type = draw(
        st.sampled_from(
            ["application/json", "application/json; charset=utf-8", "text/plain", "", None]
        )
        | _HEADER_VALUE
    )
    if content_type is not None:
        headers["Content-Type"] = content_type
    auth = draw(st.sampled_from(["good", "none", "wrong", "odd"]))
    if auth == "good":
        headers["Authorization"] = hostile.AUTH_HEADER
    elif auth == "wrong":
        headers["Authorization"] = "Basic Zm9vOmJhcg=="
    elif auth == "odd":
        headers["Authorization"] = draw(_HEADER_VALUE)
    for _ in range(draw(st.integers(0, 2))):
        name = draw(st.sampled_from(["X-Forwarded-For", "Expect", "Accept-Encoding", "X-Odd"]))
        headers[name] = draw(_HEADER_VALUE)
    method = draw(st.sampled_from(["POST"] * 6 + ["GET", "PUT", "DELETE", "OPTIONS"]))
    path = draw(st.sampled_from(["/", "/", "/x", "//", "/?a=1"]))
    request = hostile.Request(method=method, path=path, headers=headers, body=body)
    if method == "POST" and body and draw(st.booleans()):
        cuts = sorted(draw(st.lists(st.integers(1, max(1, len(body) - 1)), max_size=4)))
        edges = [0, *cuts, len(body)]
        request.chunks = [body[a:b] for a, b in itertools.pairwise(edges)]
        request.body = b""
    return request


def test_hostile_callbacks_get_an_answer_never_a_5xx(
    server: hostile.Process, request: pytest.FixtureRequest
) -> None:
    seen: dict[int, int] = {}

    @examples(request, 1500)
    @given(requests())
    def check(sent: hostile.Request) -> None:
        response = survives(server, sent)
        seen[response.status] = seen.get(response.status, 0) + 1

    check()
    assert seen.get(200, 0) > 0
    assert seen.get(400, 0) > 0


def test_callbacks_of_a_real_call_with_odd_results_always_get_a_command(
    server: hostile.Process, request: pytest.FixtureRequest
) -> None:
    @examples(request, 300)
    @given(st.lists(_TEXT, min_size=1, max_size=6))
    def check(results: list[str]) -> None:
        with hostile.Connection(server.host, server.port) as conn:
            body = hostile.callback()
            answer = conn.send(hostile.post(body)).json()
            for result in results:
                body = hostile.next_post(body, answer, result)
                response = conn.send(hostile.post(body))
                assert response.status == 200
                assert not response.dropped
                if not response.body:
                    return
                answer = response.json()
                assert answer["command"]

    check()


def test_a_body_over_the_limit_sized_or_chunked_is_a_413_and_the_connection_lives(
    server: hostile.Process,
) -> None:
    with hostile.Connection(server.host, server.port) as conn:
        for request in (
            hostile.post(b"{" + b" " * (400 * 1024) + b"}"),
            hostile.Request(
                headers={"Content-Type": "application/json", "Authorization": hostile.AUTH_HEADER},
                chunks=[b" " * 65536] * 8,
            ),
        ):
            response = conn.send(request)
            assert response.status == 413
        assert conn.send(hostile.post(hostile.callback())).status == 200


# -- JSON-RPC ------------------------------------------------------------------------------------

_RPC_PARAM = st.one_of(
    _ODD,
    st.sampled_from(["REALTIME10", hostile.APP, "²", "http://[::1", "+447890123456"]),
    st.fixed_dictionaries(
        {}, optional={"url": _TEXT | st.just("http://127.0.0.1:9/"), "login": _ODD, "x": _ODD}
    ),
    st.fixed_dictionaries({}, optional={"number": _TEXT, "timeout": _ODD, "cli": _ODD}),
)


@st.composite
def rpc_requests(draw: st.DrawFn) -> hostile.Request:
    kind = draw(st.sampled_from(["call", "call", "call", "envelope", "deep", "bytes", "auth"]))
    if kind == "call":
        method = draw(st.sampled_from(hostile.RPC_METHODS) | st.text(max_size=20))
        params = draw(st.lists(_RPC_PARAM, max_size=4))
        return hostile.rpc(method, params, draw(st.integers() | st.text(max_size=5)))
    request = hostile.rpc("apps.get_list", [])
    if kind == "envelope":
        request.body = json.dumps(
            draw(st.dictionaries(st.sampled_from(["jsonrpc", "id", "method", "params"]), _ODD))
        ).encode()
    elif kind == "deep":
        levels = draw(st.sampled_from([65, 300, 990, 5000, 100_000]))
        request.body = b'{"jsonrpc": "2.0", "id": 1, "method": "apps.get", "params": '
        request.body += _deep(levels, draw(st.sampled_from([b"[", b'{"a":'])))
        request.body += b"}"
    elif kind == "bytes":
        request.body = draw(st.binary(max_size=400))
    else:
        request.headers["Authorization"] = draw(_HEADER_VALUE)
    return request


@st.composite
def control_requests(draw: st.DrawFn) -> hostile.Request:
    method, path = draw(
        st.sampled_from(
            [
                ("GET", "/sandbox/calls"),
                ("POST", "/sandbox/call_in"),
                ("PUT", "/sandbox/callees/+447890123456"),
                ("PUT", "/sandbox/callees/x"),
            ]
        )
        | st.tuples(
            st.just("GET"),
            st.text(alphabet="0123456789²x", max_size=25).map(
                lambda key: "/sandbox/calls/" + (key or "0")
            ),
        )
    )
    body = b""
    if method != "GET":
        body = draw(
            st.sampled_from([b"", b"{}", b"[]", _deep(5000, b"[")])
            | st.binary(max_size=200)
            | st.dictionaries(
                st.sampled_from(["did", "from", "script", "wait", "presses"]), _ODD
            ).map(lambda d: json.dumps(d).encode())
        )
    return hostile.Request(
        method=method,
        path=path.encode("utf-8").decode("latin-1") if method == "GET" else path,
        headers={"Authorization": f"Api-Key {hostile.API_KEY}"},
        body=body,
    )


def test_hostile_json_rpc_gets_a_json_rpc_answer_never_a_5xx(
    sandbox: hostile.Process, request: pytest.FixtureRequest
) -> None:
    @examples(request, 800)
    @given(rpc_requests())
    def check(sent: hostile.Request) -> None:
        response = survives(sandbox, sent)
        if response.status == 200:
            assert "jsonrpc" in response.json()

    check()


def test_hostile_control_requests_get_a_4xx_never_a_5xx(
    sandbox: hostile.Process, request: pytest.FixtureRequest
) -> None:
    @examples(request, 200)
    @given(control_requests())
    def check(sent: hostile.Request) -> None:
        survives(sandbox, sent)

    check()


# -- memory, once everything above has run ------------------------------------------------------


def test_memory_stayed_bounded(server: hostile.Process, sandbox: hostile.Process) -> None:
    grown = server.rss_mib() - server.baseline  # type: ignore[attr-defined]
    sandbox_grown = sandbox.rss_mib() - sandbox.baseline  # type: ignore[attr-defined]
    assert grown < RSS_GROWTH_LIMIT_MIB, f"the server grew {grown:.1f} MiB"
    assert sandbox_grown < RSS_GROWTH_LIMIT_MIB, f"the sandbox grew {sandbox_grown:.1f} MiB"
    assert server.alive
    assert sandbox.alive


def test_the_fuzz_benchmark_prints_its_figures() -> None:
    """``benchmarks/fuzz.py --quick``: one JSON object on the last line, the goals met."""
    import subprocess

    script = Path(__file__).resolve().parents[1] / "benchmarks" / "fuzz.py"
    done = subprocess.run(
        [sys.executable, str(script), "--quick"], capture_output=True, text=True, timeout=300
    )
    assert done.returncode == 0, done.stderr
    figures = json.loads(done.stdout.strip().splitlines()[-1])
    for key in ("requests", "status_counts", "five_xx", "dropped", "rss_growth_mib"):
        assert key in figures
    assert figures["requests"] == sum(figures["status_counts"].values())
    assert figures["five_xx"] == figures["dropped"] == 0
    assert figures["rpc_five_xx"] == figures["rpc_dropped"] == 0
    assert figures["replays_attempted"] > 0
    assert figures["replays_accepted"] == 0
