"""Run a request handler inline when it answers without waiting, as Tornado did before 5.0.

Tornado 6 starts every request's ``RequestHandler._execute`` coroutine as an asyncio Task, which
costs an event-loop turn and a done callback even when the handler never awaits anything: a
quarter of what a bare handler costs (897k instructions per request, 674k inline; see
``benchmarks/server.py``). A callback answered by the engine never waits, so
:class:`EagerApplication` runs the coroutine at once, in the connection's own read loop, and
hands it to a Task only if it suspends (effects; streamed bodies take Tornado's way). Python
3.12's eager task factory does the same for every task; this is that, for 3.11.

It leans on two Tornado internals, unchanged through Tornado 6: ``web._HandlerDelegate`` and
the coroutine ``RequestHandler._execute``. :data:`SUPPORTED` checks them at import (and a test
fails if they change); without them the application behaves exactly like
``tornado.web.Application``, only slower.

Each request runs in a copy of the context, as in a Task of its own. Its first steps run in the
connection's task, though, so code that binds to ``asyncio.current_task()`` before its first
``await`` (``asyncio.timeout``, anyio cancel scopes) must run in a task of its own: the callback
handler starts its effects with ``ensure_future``.
"""

from __future__ import annotations

import asyncio
import contextvars
import inspect
from collections.abc import Awaitable, Coroutine, Generator
from typing import Any, Final

from tornado import web
from tornado.httputil import HTTPServerRequest
from tornado.log import app_log

_Delegate: Any = getattr(web, "_HandlerDelegate", object)

#: Whether this Tornado has the internals eager execution needs (checked, not assumed).
SUPPORTED: Final = (
    _Delegate is not object
    and callable(getattr(_Delegate, "execute", None))
    and inspect.iscoroutinefunction(getattr(web.RequestHandler, "_execute", None))
    and list(inspect.signature(_Delegate.__init__).parameters)
    == ["self", "application", "request", "handler_class", "handler_kwargs", "path_args",
        "path_kwargs"]
)  # fmt: skip


class _Suspended:
    """Awaiting this goes on with a coroutine that already yielded *first* (a future to wait
    on), passing every value and exception through, as if the awaiting task had run it all."""

    __slots__ = ("coroutine", "first")

    def __init__(self, coroutine: Coroutine[Any, Any, None], first: Any) -> None:
        self.coroutine, self.first = coroutine, first

    def __await__(self) -> Generator[Any, Any, None]:
        coroutine, yielded = self.coroutine, self.first
        while True:
            try:
                sent = yield yielded
            except BaseException as exc:  # cancellation included: the coroutine decides
                try:
                    yielded = coroutine.throw(exc)
                except StopIteration:
                    return
            else:
                try:
                    yielded = coroutine.send(sent)
                except StopIteration:
                    return


async def _go_on(suspended: _Suspended) -> None:
    await suspended


class _EagerDelegate(_Delegate):  # type: ignore[misc]
    """Tornado's handler delegate, but a handler that does not wait needs no Task."""

    def execute(self) -> Awaitable[None] | None:
        if self.stream_request_body:  # it waits for its body by design: Tornado's way
            return super().execute()  # type: ignore[no-any-return]
        request: HTTPServerRequest = self.request
        handler = self.handler = self.handler_class(
            self.application, request, **self.handler_kwargs
        )
        transforms = [t(request) for t in self.application.transforms]
        coroutine = handler._execute(transforms, *self.path_args, **self.path_kwargs)
        context = contextvars.copy_context()  # as a Task would: the request's own context
        try:
            first = context.run(coroutine.send, None)
        except StopIteration:  # answered inline: the common case
            return None
        except Exception:  # _execute catches everything; should it not, fail visibly
            app_log.exception("request handler failed: %s %s", request.method, request.path)
            if request.connection is not None and not handler._finished:
                request.connection.close()  # type: ignore[attr-defined]
            return None
        task = asyncio.get_running_loop().create_task(
            _go_on(_Suspended(coroutine, first)), context=context
        )
        task.add_done_callback(_log_failure)
        return None


def _log_failure(task: asyncio.Future[None]) -> None:
    if not task.cancelled() and task.exception() is not None:
        app_log.error("request handler failed", exc_info=task.exception())


class EagerApplication(web.Application):
    """A ``tornado.web.Application`` whose handlers run inline until they first wait.

    With ``debug`` (or ``compiled_template_cache`` / ``static_hash_cache`` off), Tornado resets
    its caches in its own delegate on every request, so requests take Tornado's way then.
    """

    def __init__(self, *args: Any, **settings: Any) -> None:
        super().__init__(*args, **settings)
        self.eager = (
            SUPPORTED
            and self.settings.get("compiled_template_cache", True)
            and self.settings.get("static_hash_cache", True)
        )

    def get_handler_delegate(
        self,
        request: HTTPServerRequest,
        target_class: type[web.RequestHandler],
        target_kwargs: dict[str, Any] | None = None,
        path_args: list[bytes] | None = None,
        path_kwargs: dict[str, bytes] | None = None,
    ) -> Any:
        if not self.eager:
            return super().get_handler_delegate(
                request, target_class, target_kwargs, path_args, path_kwargs
            )
        return _EagerDelegate(self, request, target_class, target_kwargs, path_args, path_kwargs)
