"""Awaiting with a bar: ``gather`` and ``as_completed`` (``async for`` over a bar is
``_aiter``).

Loaded on first use (``progbar.gather``), so ``import progbar`` never imports asyncio.
"""

from __future__ import annotations

import asyncio
from typing import (
    Any,
    Awaitable,
    Iterable,
    Iterator,
    TypeVar,
)

from ._progbar import Progbar

__all__ = ["as_completed", "gather"]

T = TypeVar("T")


async def gather(
    *aws: Awaitable[Any], return_exceptions: bool = False, **options: Any
) -> list[Any]:
    """``asyncio.gather`` with a bar: results in the order given, the bar moving as
    each awaitable finishes.  ``options`` are :class:`progbar.Progbar`'s."""
    futures = [asyncio.ensure_future(aw) for aw in aws]
    bar: Progbar[Any] = Progbar(len(futures), **options)

    def finished(_: object) -> None:
        bar.add(1)

    for future in futures:
        future.add_done_callback(finished)
    try:
        return await asyncio.gather(*futures, return_exceptions=return_exceptions)
    finally:
        for future in futures:
            future.remove_done_callback(finished)
        bar.close()


def as_completed(
    aws: Iterable[Awaitable[T]], *, timeout: float | None = None, **options: Any
) -> Iterator[Awaitable[T]]:
    """``asyncio.as_completed`` with a bar: ``for fut in as_completed(aws): await fut``
    gives results in finishing order; the bar moves as each finishes."""
    todo = list(aws)
    return _as_completed(todo, timeout, Progbar(len(todo), **options))


def _as_completed(
    aws: list[Awaitable[T]], timeout: float | None, bar: Progbar[Any]
) -> Iterator[Awaitable[T]]:
    try:
        futures = [asyncio.ensure_future(aw) for aw in aws]

        def finished(_: object) -> None:
            bar.add(1)

        for future in futures:
            future.add_done_callback(finished)
        yield from asyncio.as_completed(futures, timeout=timeout)
    finally:
        bar.close()
