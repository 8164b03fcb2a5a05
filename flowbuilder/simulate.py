"""``simulate(flow, script)``: one call in-process, through the same engine and wire code.

The caller is a :class:`~flowbuilder.phone.SimulatedCall` (CALLR's side, as in the sandbox); each
POST body is rendered and parsed by :mod:`flowbuilder.callr.wire` and answered by
:func:`flowbuilder.engine.step`, exactly as the callback server does, on a simulated clock.

The call starts *at* a moment of your choosing (:mod:`flowbuilder.clock`: ISO 8601 with a zone,
or an aware datetime; by default 2026-01-01 10:00 UTC), and its clock runs with what happens:
a caller who waits 30 s at a menu reaches the next node 30 s later, so a call started at 17:59:50
meets a business-hours check after 18:00. CALLR's ``date_started`` says when it started.

>>> from flowbuilder.flow import Flow
>>> flow = (Flow("hello").add("hi", "play", prompt="Hello {caller}").add("bye", "hangup")
...         .connect("hi", "bye"))
>>> t = simulate(flow, caller="+33100000000")
>>> t.heard, t.path, t.status
(['Hello +33100000000'], ['hi', 'bye'], 'completed')
"""

from __future__ import annotations

import secrets
from collections.abc import Callable, Mapping, Sequence
from dataclasses import replace
from typing import Any

from flowbuilder import engine
from flowbuilder.budget import AnswerBudget
from flowbuilder.callr import wire
from flowbuilder.callr.constants import DEFAULT_ANSWER_BUDGET_MS
from flowbuilder.clock import Moment, date_started, instant
from flowbuilder.compiler import Program, compile
from flowbuilder.effect_runner import perform as perform_effect
from flowbuilder.effects import Effect, EffectResult
from flowbuilder.flow import Flow
from flowbuilder.phone import CallSetup, NextPost, Script, SimulatedCall, Transcript, script_of

DEMO_APP = "4346423A"
START_EPOCH = 1_767_261_600.0  # 2026-01-01 10:00:00 UTC, a Thursday: inside business hours


def simulate(
    flow: Flow | Program,
    script: Script | Mapping[str, Any] | Sequence[str | None] | None = None,
    *,
    press: Sequence[str | None] = (),
    caller: str = "+33612345678",
    number: str = "+33912345678",
    direction: str = "inbound",
    variables: Mapping[str, Any] | None = None,
    subflows: Mapping[str, Flow] | None = None,
    perform: Callable[[Effect], EffectResult] | None = None,
    at: Moment | None = None,
    start_epoch: float | None = None,
    config: engine.EngineConfig | None = None,
    answer_budget_ms: int = DEFAULT_ANSWER_BUDGET_MS,
) -> Transcript:
    """Run one simulated call and return its transcript.

    *script* (or *press*, a shortcut for ``Script(presses=...)``) says what the caller does;
    *direction* ``outbound`` makes it a ``calls.realtime`` call to *number*. Effects are performed
    for real by default (HTTP requests, Python functions); pass *perform* to fake them. *at*: when
    the call starts, ``"2026-03-28T17:59:50+01:00"``, ``"2026-03-29T10:00[Europe/Paris]"`` or an
    aware datetime (*start_epoch*, epoch seconds, is the same for older code); a time without a
    zone raises ValueError. *answer_budget_ms*: the effects of one callback share this budget,
    as on the callback server (:mod:`flowbuilder.budget`), so a test takes the timeout paths a
    live call would.
    """
    if at is not None and start_epoch is not None:
        raise ValueError("give at or start_epoch, not both")
    start = instant(at) if at is not None else START_EPOCH if start_epoch is None else start_epoch
    program = flow if isinstance(flow, Program) else compile(flow, subflows=subflows)
    script = script_of(script) if script is not None else Script(presses=list(press))
    config = config or engine.EngineConfig(secret=secrets.token_bytes(16))
    setup = CallSetup(
        app=DEMO_APP,
        callid=secrets.randbelow(2**40),
        number=number,
        cli_number=caller if direction == "inbound" else "",
        request_hash="SIMULATE" if direction == "outbound" else None,
        date_started=date_started(start),
    )
    call = SimulatedCall(setup, script)
    post: NextPost | None = call.start()
    first = True
    while post is not None:
        callback = wire.parse_callback(wire.render_callback(post.callback))
        if first and variables:
            callback = _with_variables(callback, variables)
            first = False
        outcome = engine.step(program, callback, config=config, now=start + call.clock)
        budget = AnswerBudget(answer_budget_ms)
        reply = engine.run_effects(outcome, perform or perform_effect, budget)
        call.transcript.path.extend(reply.trace.path)
        if reply.trace.error:
            call.transcript.add(call.clock, "error", reply.trace.error)
        if reply.trace.warning:
            call.transcript.add(call.clock, "warning", reply.trace.warning)
        if post.final:
            break
        answer = wire.parse_answer(reply.body) if reply.answer is not None else None
        post = call.on_answer(answer)
    return call.transcript


def _with_variables(callback: wire.Callback, variables: Mapping[str, Any]) -> wire.Callback:
    return replace(callback, variables={**callback.variables, **variables})
