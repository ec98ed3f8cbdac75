"""Typed dependencies on what the composition root built: a route names the service it uses, nothing more."""

from __future__ import annotations

from typing import Any, TypeVar

from fastapi import Depends, Request

T = TypeVar("T")


def provide(kind: type[T]) -> Any:
    """``Annotated[Kind, provide(Kind)]``: the root's ``Kind`` (an application, a query object, a port).

    Async on purpose: FastAPI runs a plain ``def`` dependency in its thread pool, and each hop is a
    thread hand-off under the interpreter lock (py-spy showed the event loop spending ~30 % of its
    time waking worker threads).
    """

    async def dependency(request: Request) -> T:
        service: T = request.app.state.services[kind]
        return service

    dependency.__name__ = f"provide_{kind.__name__}"
    dependency.__qualname__ = dependency.__name__
    return Depends(dependency)
