"""What one callback server is made of: its routes, calls, effects, replay guard, events, limits.

Each request's handler (``handler.CallbackRequest``) receives the server's one
:class:`CallbackService`; nothing here is global. Everything but the locked snapshots is used
on the server's thread.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Coroutine
from dataclasses import dataclass, field
from typing import Any, Literal

from flowbuilder.engine import EngineConfig
from flowbuilder.program import Program
from flowbuilder.server.calls import CallBook
from flowbuilder.server.effects import EffectClient
from flowbuilder.server.events import EventLog
from flowbuilder.server.replay import MemoryReplayGuard, ReplayGuard
from flowbuilder.server.routes import Deployment, Routes


class InFlight:
    """Requests being answered; a stopping server waits until there are none."""

    def __init__(self) -> None:
        self.count = 0
        self._idle: asyncio.Event | None = None

    def begin(self) -> None:
        self.count += 1

    def end(self) -> None:
        self.count -= 1
        if self.count == 0 and self._idle is not None:
            self._idle.set()

    async def wait_idle(self, timeout_s: float) -> bool:
        """Wait (on the server's loop) until no request is in flight; False on timeout."""
        if self.count == 0:
            return True
        self._idle = asyncio.Event()
        try:
            await asyncio.wait_for(self._idle.wait(), timeout_s)
        except TimeoutError:
            return False
        finally:
            self._idle = None
        return True


@dataclass(eq=False)
class CallbackService:
    """Everything the callback handler reads and keeps."""

    config: EngineConfig
    events: EventLog
    max_body_bytes: int
    answer_budget_ms: int
    routes: Routes = field(default_factory=Routes)
    calls: CallBook = field(default_factory=CallBook)
    effects: EffectClient = field(default_factory=EffectClient)
    replay: ReplayGuard = field(default_factory=MemoryReplayGuard)
    in_flight: InFlight = field(default_factory=InFlight)
    max_versions: int = 8
    #: answers still being worked out (effects...): kept here, asyncio holds tasks weakly
    tasks: set[asyncio.Task[None]] = field(default_factory=set)

    def start(self, work: Coroutine[Any, Any, None]) -> None:
        """Run *work* on the server's loop, to its end."""
        task = asyncio.get_running_loop().create_task(work)
        if not task.done():  # an eager task may finish right here
            self.tasks.add(task)
            task.add_done_callback(self.tasks.discard)

    #: The time the engine sees (epoch seconds); None: the wall clock; ``"call"``: the call's
    #: ``date_started`` plus how long this server has heard from it. Tests move it to check
    #: business hours; logs, events and call books keep the wall clock.
    clock: Callable[[], float] | Literal["call"] | None = None

    def swap(self, deployment: Deployment, program: Program) -> None:
        """Serve *program* to new calls; calls in progress keep the version they started on."""
        old = deployment.program
        deployment.program = program
        deployment.versions.pop(program.version, None)
        if old.version != program.version:
            deployment.versions[old.version] = old
        self.prune_versions(deployment)

    def prune_versions(self, deployment: Deployment) -> None:
        """Forget older programs no call runs on (and the oldest past ``max_versions``)."""
        live = self.calls.live_versions()
        for version in [v for v in deployment.versions if v not in live]:
            del deployment.versions[version]
        while len(deployment.versions) > self.max_versions:  # oldest first
            del deployment.versions[next(iter(deployment.versions))]

    def prune_all(self) -> None:
        for deployment in self.routes.deployments():
            self.prune_versions(deployment)
