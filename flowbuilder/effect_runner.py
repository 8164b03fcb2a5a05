"""Performing effects (HTTP requests, Python functions) with deadlines: the I/O edge of nodes.

Used by the callback server (async) and by in-process drivers such as ``simulate()`` (sync). A
late effect gives ``EffectResult(timed_out=True)``; any failure gives a one-line ``error``.
Nothing a flow's effects do can stop or stall the process that performs them:

- **Python functions** run in daemon threads, in lanes: one function runs at most
  :data:`MAX_PER_FUNCTION` calls at once and all functions together :data:`MAX_THREADS`. A call
  past either limit is refused at once (``busy: ...``, the node's ``error`` outcome) instead of
  queueing behind slow calls, so a function that hangs fills its own lane and nothing else. A
  lane slot is freed when the function returns, not when its caller stops waiting. Whatever the
  function raises, ``SystemExit`` and ``KeyboardInterrupt`` included, is its error outcome. Only
  functions the flow's trust allows are imported (:mod:`flowbuilder.trust`).
- **HTTP requests** go only to addresses the policy allows (:func:`address_problem`): the host
  is resolved here, every address it resolves to is checked, and the connection is made to the
  address checked (so a DNS answer that changes in between cannot redirect it). Redirects are
  not followed. The answer is streamed and refused past the node's ``max_bytes``.
"""

from __future__ import annotations

import asyncio
import concurrent.futures
import ipaddress
import json
import socket
import threading
from collections.abc import Callable, Iterable
from typing import TYPE_CHECKING, Any, Final

from flowbuilder.callr.nesting import too_deep
from flowbuilder.effects import Effect, EffectResult, HttpRequest, PythonCall
from flowbuilder.trust import TRUSTED

if TYPE_CHECKING:
    import httpx  # imported where requests are made: simulate() and scenarios rarely need it

#: Calls of one Python function running at once; one more is refused as busy.
MAX_PER_FUNCTION: Final = 8
#: Python function calls running at once, all functions together.
MAX_THREADS: Final = 32
#: What a function may return, encoded as JSON (it rides in CALLR's variables on every POST).
RESULT_MAX_BYTES: Final = 64 * 1024
#: Nesting allowed in a function's result or an HTTP answer, well inside what callbacks carry.
RESULT_MAX_DEPTH: Final = 32

PRIVATE_HINT: Final = "set the flow setting allow_private_network to reach it"
# cloud metadata services: always refused, whatever the flow allows
_METADATA: Final = frozenset(
    ipaddress.ip_address(a)
    for a in (
        "169.254.169.254",  # AWS, GCP, Azure, OpenStack, DigitalOcean...
        "169.254.170.2",  # AWS ECS task credentials
        "fd00:ec2::254",  # AWS IMDS over IPv6
        "100.100.100.200",  # Alibaba Cloud
        "192.0.0.192",  # Oracle Cloud
    )
)
_NAT64: Final = ipaddress.ip_network("64:ff9b::/96")
_IPV4_COMPATIBLE: Final = ipaddress.ip_network("::/96")


def resolve(target: str) -> Callable[..., Any]:
    """``pkg.mod:func`` -> the function, under the trust of a flow built in code; raises
    ValueError with a one-line reason (refused modules included)."""
    return TRUSTED.resolve(target)


# -- addresses -----------------------------------------------------------------------------------


def _embedded_ipv4(ip: ipaddress.IPv6Address) -> ipaddress.IPv4Address | None:
    """The IPv4 address an IPv6 one carries (mapped, 6to4, NAT64, IPv4-compatible), if any."""
    if ip.ipv4_mapped is not None:
        return ip.ipv4_mapped
    if ip.sixtofour is not None:
        return ip.sixtofour
    if ip in _NAT64 or (ip in _IPV4_COMPATIBLE and int(ip) > 1):
        return ipaddress.IPv4Address(int(ip) & 0xFFFFFFFF)
    return None


def address_problem(address: str, *, allow_private_network: bool = False) -> str | None:
    """Why an http_request may not connect to *address* (an IP), or None.

    Link-local and cloud metadata addresses, multicast, broadcast and unspecified ones are
    always refused; loopback, private and other non-public ones unless *allow_private_network*.

    >>> print(address_problem("169.254.169.254", allow_private_network=True))
    cloud metadata address 169.254.169.254
    >>> print(address_problem("::ffff:127.0.0.1"))
    loopback address 127.0.0.1; set the flow setting allow_private_network to reach it
    >>> address_problem("10.1.2.3", allow_private_network=True) is None
    True
    """
    try:
        ip: ipaddress.IPv4Address | ipaddress.IPv6Address = ipaddress.ip_address(
            address.split("%", 1)[0]  # an IPv6 zone (fe80::1%eth0)
        )
    except ValueError:
        return f"{address!r} is not an IP address"
    if isinstance(ip, ipaddress.IPv6Address):
        ip = _embedded_ipv4(ip) or ip
    if ip in _METADATA:
        return f"cloud metadata address {ip}"
    if ip.is_link_local:
        return f"link-local address {ip}"
    if ip.is_multicast or ip.is_unspecified or ip == ipaddress.IPv4Address("255.255.255.255"):
        return f"{ip}, which is not a host address"
    if allow_private_network:
        return None
    if ip.is_loopback:
        return f"loopback address {ip}; {PRIVATE_HINT}"
    if ip.is_private:
        return f"private address {ip}; {PRIVATE_HINT}"
    if not ip.is_global or ip.is_reserved:
        return f"non-public address {ip}; {PRIVATE_HINT}"
    return None


def _first_allowed(effect: HttpRequest, host: str, infos: Iterable[Any]) -> str:
    """The address to connect to; ValueError when any address *host* resolves to is refused
    (a host that resolves to a private address besides public ones is not to be trusted)."""
    addresses = list(dict.fromkeys(str(info[4][0]) for info in infos))
    if not addresses:
        raise ValueError(f"{host} has no address")
    for address in addresses:
        problem = address_problem(address, allow_private_network=effect.allow_private_network)
        if problem is not None:
            named = f"{host} resolves to {problem}" if _bare(host) != address else problem
            raise ValueError(f"refused: {named}")
    return addresses[0]


def _bare(host: str) -> str:
    return host[1:-1] if host.startswith("[") else host


def _target(effect: HttpRequest) -> tuple[Any, str, int]:
    """(httpx URL, host, port) of the request; ValueError for a URL httpx cannot use."""
    import httpx

    try:
        url = httpx.URL(effect.url)
    except (httpx.InvalidURL, TypeError, ValueError) as exc:
        raise ValueError(f"not a usable URL: {exc}") from None
    if url.scheme not in ("http", "https") or not url.host:
        raise ValueError("not an http(s) URL")
    port = url.port or (443 if url.scheme == "https" else 80)
    return url, url.host, port


def _pinned(effect: HttpRequest, url: Any, host: str, address: str) -> dict[str, Any]:
    """The request, sent to *address* while it still names *host* (Host header, TLS SNI and
    certificate check), so the connection goes where the check said it may."""
    headers = dict(effect.headers)
    extensions: dict[str, Any] = {}
    if address != host:
        if not any(k.lower() == "host" for k in headers):
            headers["Host"] = url.netloc.decode("ascii")
        if url.scheme == "https":
            extensions["sni_hostname"] = host
        url = url.copy_with(host=address)
    return {
        "method": effect.method,
        "url": url,
        "headers": headers,
        "content": effect.body.encode() if effect.body is not None else None,
        "timeout": effect.timeout_ms / 1000,
        "extensions": extensions,
    }


# -- HTTP answers --------------------------------------------------------------------------------


def _declared_too_big(response: httpx.Response, max_bytes: int) -> EffectResult | None:
    declared = response.headers.get("Content-Length", "")
    if declared.isascii() and declared.isdigit() and int(declared) > max_bytes:
        return _too_big(response.status_code, max_bytes)
    return None


def _too_big(status: int, max_bytes: int) -> EffectResult:
    return EffectResult(status=status, error=f"the answer is over {max_bytes} bytes; refused")


def _http_result(status: int, content: bytes) -> EffectResult:
    success = 200 <= status < 300
    data: Any = None
    if content:
        if too_deep(content, RESULT_MAX_DEPTH):
            return EffectResult(
                status=status, error=f"the answer nests deeper than {RESULT_MAX_DEPTH} levels"
            )
        try:
            data = json.loads(content)
        except (ValueError, UnicodeDecodeError, RecursionError):
            if success:
                return EffectResult(status=status, error="the answer is not JSON")
    if not success:
        return EffectResult(status=status, data=data, error=f"HTTP {status}")
    return EffectResult(status=status, data=data)


def _http_failure(exc: Exception) -> EffectResult:
    """A request that got no answer: past its deadline, or an HTTP-level failure."""
    import httpx

    if isinstance(exc, TimeoutError | httpx.TimeoutException):
        return EffectResult(timed_out=True)
    return EffectResult(error=_one_line_error(exc))


def _http_sync(effect: HttpRequest, client: httpx.Client) -> EffectResult:
    import httpx

    try:
        url, host, port = _target(effect)
        infos = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)
        address = _first_allowed(effect, host, infos)
    except (ValueError, OSError) as exc:
        return EffectResult(error=_one_line(exc))
    try:
        with client.stream(**_pinned(effect, url, host, address), follow_redirects=False) as r:
            refused = _declared_too_big(r, effect.max_bytes)
            if refused is not None:
                return refused
            content = bytearray()
            for chunk in r.iter_bytes():
                content += chunk
                if len(content) > effect.max_bytes:
                    return _too_big(r.status_code, effect.max_bytes)
            return _http_result(r.status_code, bytes(content))
    except (TimeoutError, httpx.HTTPError) as exc:
        return _http_failure(exc)


async def _http_async(effect: HttpRequest, client: httpx.AsyncClient) -> EffectResult:
    import httpx

    try:
        url, host, port = _target(effect)
        loop = asyncio.get_running_loop()
        infos = await loop.getaddrinfo(host, port, type=socket.SOCK_STREAM)
        address = _first_allowed(effect, host, infos)
    except (ValueError, OSError) as exc:
        return EffectResult(error=_one_line(exc))
    try:
        request = _pinned(effect, url, host, address)
        async with client.stream(**request, follow_redirects=False) as r:
            refused = _declared_too_big(r, effect.max_bytes)
            if refused is not None:
                return refused
            content = bytearray()
            async for chunk in r.aiter_bytes():
                content += chunk
                if len(content) > effect.max_bytes:
                    return _too_big(r.status_code, effect.max_bytes)
            return _http_result(r.status_code, bytes(content))
    except (TimeoutError, httpx.HTTPError) as exc:
        return _http_failure(exc)


#: An error text is cut to this: it rides in the call's variables and in the event log.
MAX_ERROR_CHARS: Final = 300


def _shortened(text: str) -> str:
    text = " ".join(text[: MAX_ERROR_CHARS * 2].split())
    return text if len(text) <= MAX_ERROR_CHARS else text[: MAX_ERROR_CHARS - 3] + "..."


def _one_line(exc: BaseException) -> str:
    text = _shortened(str(exc))
    if isinstance(exc, socket.gaierror):
        return f"cannot resolve the host: {text}"
    return text or type(exc).__name__


# -- Python functions ----------------------------------------------------------------------------


class _Lanes:
    """Bounded concurrency per function and overall; past a bound a call is refused, never
    queued. Each call gets a daemon thread of its own, so a function that never returns cannot
    hold up the process's exit either."""

    def __init__(self, per_function: int, total: int) -> None:
        self.per_function = per_function
        self.total = total
        self._lock = threading.Lock()
        self._running: dict[str, int] = {}
        self._count = 0

    def running(self, target: str | None = None) -> int:
        with self._lock:
            return self._count if target is None else self._running.get(target, 0)

    def start(
        self, target: str, job: Callable[[], EffectResult]
    ) -> concurrent.futures.Future[EffectResult] | EffectResult:
        """Run *job* in a thread of *target*'s lane, or say why not (``busy: ...``)."""
        with self._lock:
            mine = self._running.get(target, 0)
            if mine >= self.per_function:
                return EffectResult(
                    error=f"busy: {target} is already running {mine} calls; "
                    f"a function runs at most {self.per_function} at once"
                )
            if self._count >= self.total:
                return EffectResult(
                    error=f"busy: {self._count} Python function calls are running, the most "
                    "there may be at once"
                )
            self._running[target] = mine + 1
            self._count += 1
        future: concurrent.futures.Future[EffectResult] = concurrent.futures.Future()

        def run() -> None:
            try:
                if future.set_running_or_notify_cancel():  # False: its caller stopped waiting
                    try:
                        future.set_result(job())
                    except BaseException as exc:  # job() contains everything; TimeoutError
                        future.set_exception(exc)
            finally:
                self._leave(target)

        try:
            threading.Thread(target=run, name=f"fb-effect {target}", daemon=True).start()
        except RuntimeError as exc:  # no thread could be made: the node's error outcome
            self._leave(target)
            return EffectResult(error=f"busy: cannot start a thread ({exc})")
        return future

    def _leave(self, target: str) -> None:
        with self._lock:
            left = self._running[target] - 1
            if left:
                self._running[target] = left
            else:
                del self._running[target]
            self._count -= 1


LANES: Final = _Lanes(MAX_PER_FUNCTION, MAX_THREADS)


def _python_job(effect: PythonCall) -> Callable[[], EffectResult] | EffectResult:
    """What a lane thread runs for *effect*: import the function (a module's first import runs
    its code: in the thread, not on the caller's loop), call it, check and map its result; or
    at once the result for a target the flow's trust refuses. A TimeoutError the function
    raises is left to the waiter, which treats it as the deadline passing."""
    problem = effect.trust.problem(effect.target)
    if problem is not None:
        return EffectResult(error=problem)

    def job() -> EffectResult:
        try:
            fn = effect.trust.resolve(effect.target)
        except ValueError as exc:
            return EffectResult(error=str(exc))
        try:
            value = fn(facts=dict(effect.facts), variables=dict(effect.variables))
        except TimeoutError:
            raise
        except BaseException as exc:  # SystemExit from an argparse helper must not end the server
            return EffectResult(error=_one_line_error(exc))
        try:
            text = json.dumps(value)
        except (TypeError, ValueError, RecursionError):
            return EffectResult(
                error=f"the function returned {type(value).__name__}, not JSON data"
            )
        if len(text) > RESULT_MAX_BYTES:
            return EffectResult(
                error=f"the function returned {len(text)} bytes of JSON; "
                f"the limit is {RESULT_MAX_BYTES}"
            )
        if too_deep(text, RESULT_MAX_DEPTH):
            return EffectResult(
                error=f"the function returned data nested deeper than {RESULT_MAX_DEPTH} levels"
            )
        return EffectResult(data=value)

    return job


def _one_line_error(exc: BaseException) -> str:
    text = _shortened(str(exc))
    return f"{type(exc).__name__}: {text}" if text else type(exc).__name__


# -- performing ----------------------------------------------------------------------------------


def perform(effect: Effect, *, client: httpx.Client | None = None) -> EffectResult:
    """Perform *effect* synchronously within its deadline."""
    if isinstance(effect, HttpRequest):
        import httpx

        if client is not None:
            return _http_sync(effect, client)
        with httpx.Client() as own:
            return _http_sync(effect, own)
    job = _python_job(effect)
    if isinstance(job, EffectResult):
        return job
    started = LANES.start(effect.target, job)
    if isinstance(started, EffectResult):
        return started
    try:
        return started.result(timeout=effect.timeout_ms / 1000)
    except TimeoutError:  # concurrent.futures.TimeoutError is TimeoutError
        started.cancel()
        return EffectResult(timed_out=True)


async def perform_async(effect: Effect, *, client: httpx.AsyncClient) -> EffectResult:
    """Perform *effect* without blocking the event loop, within its deadline."""
    timeout_s = effect.timeout_ms / 1000
    if isinstance(effect, HttpRequest):
        try:
            return await asyncio.wait_for(_http_async(effect, client), timeout_s)
        except TimeoutError:
            return EffectResult(timed_out=True)
    job = _python_job(effect)
    if isinstance(job, EffectResult):
        return job
    started = LANES.start(effect.target, job)
    if isinstance(started, EffectResult):
        return started
    try:
        return await asyncio.wait_for(asyncio.wrap_future(started), timeout_s)
    except TimeoutError:  # asyncio's TimeoutError is TimeoutError
        return EffectResult(timed_out=True)
