"""The callback server: CALLR's REAL-TIME (REALTIME10) URL, answering through the engine.

>>> import flowbuilder as fb
>>> from flowbuilder.examples import support_line
>>> with fb.serve(support_line(), name="doctest") as server:
...     server.running, server.url.startswith("http://127.0.0.1:")
(True, True)
>>> server.running
False

``serve(flow)`` starts a Tornado TCP server (HTTP/1.1 parsed by httptools,
:mod:`~flowbuilder.server.http1`) in a background thread with its own event loop and
returns a :class:`ServerHandle` at once: in a notebook (never blocking the kernel's loop), in a
script or a thread (also a context manager), and behind ``flowbuilder serve FLOW`` on the command
line. One code path serves them all. The handle shows its URL, status and the calls in progress,
keeps an :class:`EventLog` of every request (with live subscribers), hot-reloads with
``update(flow)`` (calls in progress finish on the version they started on) and stops with
``stop()``. Serving again under the same name (by default the flow's name) or on the same port
replaces the previous server cleanly.

Routing: a single flow answers callbacks for any app hash unless ``app=`` binds it to one; serve
several apps with ``serve({"4346423A": flow_a, "5A5B5C5D": flow_b})`` or ``handle.add(flow,
app=...)``, or at several URL paths with ``handle.add(flow, path="/other")``.

Security: with ``login``/``password`` (the REALTIME10 app's own, sent by CALLR as HTTP Basic
auth) other requests get 401. Bodies over ``max_body_bytes`` get 413, non-JSON content 415, other
methods 405, a malformed callback 400 with one line saying which field is wrong, an unknown app
404; a request head over 64 KiB 431, a request not received whole within 30 s 408, anything
that is not valid HTTP/1.x 400. Once a request is a live call it always gets a CALLR answer:
tampered state, a bug in node code, a failing or slow effect lead to the flow's error path or
the safe fallback (an apology, then a hang-up), never a 500 or dead air. Secrets and
Authorization headers are never logged.

A public URL for a real CALLR account
-------------------------------------
CALLR must reach the server from the internet. Bind locally and put a tunnel or a reverse proxy
in front, then tell ``serve()`` the public address so that ``handle.url`` (what you give
``apps.create``/``apps.edit`` as the app's ``url``) is right::

    server = fb.serve(flow, port=8080, login="callr", password=os.environ["CB_PASSWORD"],
                      public_url="https://ivr.example.com/callr")

- a tunnel: ``cloudflared tunnel --url http://127.0.0.1:8080`` or ``ngrok http 8080`` prints an
  https address; pass it as ``public_url`` (add the path you serve at, if not ``/``);
- a reverse proxy (nginx, Caddy) terminating TLS: ``proxy_pass http://127.0.0.1:8080;`` and
  ``public_url="https://your.host/callr"``; keep the server bound to 127.0.0.1;
- several processes behind a load balancer: give them the same ``secret`` (state is signed and
  rides in the call's variables, so any process can answer any callback).

Use HTTPS and a password: the callback carries the caller's number. The CLI:
``flowbuilder serve flow.json --port 8080 --login callr --public-url https://...`` (password and
secret from ``FLOWBUILDER_PASSWORD``/``FLOWBUILDER_SECRET`` or the options).
"""

from typing import TYPE_CHECKING

from flowbuilder._lazy import lazy_attributes

if TYPE_CHECKING:
    from flowbuilder.callr.constants import DEFAULT_ANSWER_BUDGET_MS
    from flowbuilder.server.calls import ActiveCall
    from flowbuilder.server.command import main
    from flowbuilder.server.events import Event, EventLog
    from flowbuilder.server.runner import (
        DEFAULT_MAX_BODY_BYTES,
        ServerHandle,
        running_servers,
        serve,
        stop_all,
    )

# Imported on first use (tornado is heavy): ``flowbuilder serve --help`` and the CLI's parser
# load flowbuilder.server.command only.
__getattr__, __dir__ = lazy_attributes(
    __name__,
    {
        "main": "flowbuilder.server.command",
        "Event": "flowbuilder.server.events",
        "EventLog": "flowbuilder.server.events",
        "ActiveCall": "flowbuilder.server.calls",
        "DEFAULT_ANSWER_BUDGET_MS": "flowbuilder.callr.constants",
        "DEFAULT_MAX_BODY_BYTES": "flowbuilder.server.runner",
        "ServerHandle": "flowbuilder.server.runner",
        "running_servers": "flowbuilder.server.runner",
        "serve": "flowbuilder.server.runner",
        "stop_all": "flowbuilder.server.runner",
    },
)

__all__ = [
    "DEFAULT_ANSWER_BUDGET_MS",
    "DEFAULT_MAX_BODY_BYTES",
    "ActiveCall",
    "Event",
    "EventLog",
    "ServerHandle",
    "main",
    "running_servers",
    "serve",
    "stop_all",
]
