"""One answer budget for every driver: the effects of one callback share it.

CALLR waits 5 seconds for each answer, so the callback server gives all the effects of one
callback (HTTP requests, Python functions, chained without a command in between) a budget from
the request's arrival (``DEFAULT_ANSWER_BUDGET_MS``, 4 s). ``simulate()``, scenario tests and the
server apply it through this code, so two chained 2.5 s lookups take the same timeout path in a
test as on a live call, and a node's error says how long it was really given.

>>> ticks = iter([0.0, 0.0, 2.5, 2.5])
>>> budget = AnswerBudget(4000, clock=lambda: next(ticks))
>>> from flowbuilder.effects import PythonCall
>>> first = budget.fit(PythonCall("m:f", {}, {}, timeout_ms=3000))
>>> first.timeout_ms
3000
>>> second = budget.fit(PythonCall("m:g", {}, {}, timeout_ms=3000))  # 2.5 s already spent
>>> second.timeout_ms
1500
>>> budget.settle(second, EffectResult(timed_out=True))
EffectResult(status=None, data=None, error='', timed_out=True, limit_ms=1500, budget_ms=4000)
>>> budget.settle(second, EffectResult(timed_out=True)).budget_note(3000)
": the callback's 4000 ms answer budget was nearly spent (the node allows 3000 ms)"
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass, field, replace
from typing import Final

from flowbuilder.callr.constants import DEFAULT_ANSWER_BUDGET_MS
from flowbuilder.effects import Effect, EffectResult

#: Below this much of the budget left, an effect is not started: it takes its timeout at once.
MIN_EFFECT_MS: Final = 50


@dataclass
class AnswerBudget:
    """What is left of one callback's answer budget, read on *clock* (seconds)."""

    limit_ms: int = DEFAULT_ANSWER_BUDGET_MS
    clock: Callable[[], float] = time.perf_counter
    started: float = field(default=-1.0)

    def __post_init__(self) -> None:
        if self.started < 0:
            self.started = self.clock()

    def left_ms(self) -> int:
        return int(self.limit_ms - (self.clock() - self.started) * 1000)

    def fit(self, effect: Effect) -> Effect | EffectResult:
        """*effect* with its deadline cut to what is left of the budget; or, with too little
        left to start it, its result at once (timed out, saying why)."""
        left = self.left_ms()
        if left < MIN_EFFECT_MS:
            return EffectResult(timed_out=True, limit_ms=max(0, left), budget_ms=self.limit_ms)
        return replace(effect, timeout_ms=left) if effect.timeout_ms > left else effect

    def settle(self, effect: Effect, result: EffectResult) -> EffectResult:
        """*result* of *effect* (as :meth:`fit` gave it), saying how long it was given when it
        timed out: the node's error then tells the truth."""
        if not result.timed_out:
            return result
        return replace(result, limit_ms=effect.timeout_ms, budget_ms=self.limit_ms)
