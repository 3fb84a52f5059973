"""Async code: ``async for`` over track(), progbar.gather, progbar.as_completed (design.md, "Workers, async code, Ray")."""

from __future__ import annotations

import asyncio
import io
from typing import Any, AsyncIterator

import pytest

import progbar


async def numbers(n: int, fail_at: int | None = None) -> AsyncIterator[int]:
    for i in range(n):
        await asyncio.sleep(0)
        if i == fail_at:
            raise ValueError("source failed")
        yield i


def lines(out: io.StringIO) -> list[str]:
    return [line.strip() for line in out.getvalue().splitlines() if line.strip()]


def run(coro: Any) -> Any:
    return asyncio.run(coro)


def test_async_for_counts_like_the_sync_loop_and_finalizes() -> None:
    async def main() -> tuple[list[int], progbar.Progbar, io.StringIO]:
        out = io.StringIO()
        bar = progbar.track(numbers(10), target=10, file=out, dynamic=False)
        got = []
        async for x in bar:
            assert bar.current == x  # the steps done: the body of x is running
            bar.log(loss=x)
            got.append(x)
        return got, bar, out

    got, bar, out = run(main())
    assert got == list(range(10)) and bar.current == 10 and bar.closed
    assert lines(out)[-1].startswith("10/10 100%") and "loss: 4.5000" in lines(out)[-1]
    assert sum("10/10" in line for line in lines(out)) == 1  # one final line


def test_async_for_break_and_errors_close_at_once() -> None:
    async def main() -> None:
        out = io.StringIO()
        bar = progbar.track(numbers(10), file=out, dynamic=False)
        async for x in bar:
            if x == 4:
                break
        assert bar.closed and bar.current == 4  # the 5th body did not finish
        bar = progbar.track(numbers(10), file=io.StringIO(), dynamic=False)
        with pytest.raises(KeyError):
            async for x in bar:
                if x == 3:
                    raise KeyError(x)
        assert bar.closed and bar.current == 3
        bar = progbar.track(numbers(10, fail_at=6), file=io.StringIO(), dynamic=False)
        with pytest.raises(ValueError):
            async for _ in bar:
                pass
        assert bar.closed and bar.current == 6

    run(main())


def test_async_for_refuses_a_plain_iterable_and_vice_versa() -> None:
    async def main() -> None:
        with pytest.raises(TypeError, match="async for"):
            async for _ in progbar.track([1, 2], verbose=0):
                pass

    run(main())
    with pytest.raises(TypeError, match="async for"):
        for _ in progbar.track(numbers(2), verbose=0):
            pass


async def job(i: int, order: list[int], gate: asyncio.Event) -> int:
    if i % 2:  # odd jobs finish only after every even one
        await gate.wait()
    order.append(i)
    if len(order) == 3:
        gate.set()
    return i * 10


def test_gather_returns_results_in_order_and_counts_each() -> None:
    async def main() -> tuple[list[int], list[int], str]:
        out = io.StringIO()
        order: list[int] = []
        gate = asyncio.Event()
        got = await progbar.gather(*(job(i, order, gate) for i in range(6)),
                                   file=out, dynamic=False)
        return got, order, out.getvalue()

    got, order, text = run(main())
    assert got == [0, 10, 20, 30, 40, 50]
    assert order[:3] == [0, 2, 4]  # finishing order differs from the results' order
    assert text.strip().splitlines()[-1].startswith("6/6 100%")


def test_gather_with_an_exception() -> None:
    async def boom() -> int:
        raise RuntimeError("boom")

    async def ok() -> int:
        return 1

    async def main() -> None:
        out = io.StringIO()
        got = await progbar.gather(ok(), boom(), return_exceptions=True, file=out,
                                   dynamic=False)
        assert got[0] == 1 and isinstance(got[1], RuntimeError)
        assert out.getvalue().strip().startswith("2/2 100%")
        with pytest.raises(RuntimeError):
            await progbar.gather(ok(), boom(), verbose=0)

    run(main())


def test_as_completed_yields_in_finishing_order() -> None:
    async def main() -> tuple[list[int], list[int], str]:
        out = io.StringIO()
        order: list[int] = []
        gate = asyncio.Event()
        got = []
        for fut in progbar.as_completed([job(i, order, gate) for i in range(6)],
                                        file=out, dynamic=False):
            got.append(await fut)
        return got, order, out.getvalue()

    got, order, text = run(main())
    assert got == [i * 10 for i in order] and sorted(got) == [0, 10, 20, 30, 40, 50]
    assert got[:3] == [0, 20, 40]
    assert text.strip().splitlines()[-1].startswith("6/6 100%")
