"""progbar.dask: the local schedulers' callback, and progress() on a real LocalCluster."""

from __future__ import annotations

import io
import subprocess
import sys
import threading
from typing import Any, Iterator

import pytest

dask = pytest.importorskip("dask", reason="needs dask (the data extra)")
da = pytest.importorskip("dask.array")
_distributed = pytest.importorskip("distributed", reason="needs distributed (the data extra)")
Client, LocalCluster = _distributed.Client, _distributed.LocalCluster

import progbar.dask  # noqa: E402  (after the skip above)


def fields(out: io.StringIO) -> list[list[str]]:
    return [line.split() for line in out.getvalue().splitlines()]


def opts(out: io.StringIO, **kw: Any) -> dict[str, Any]:
    return {"file": out, "dynamic": False, "color": False, **kw}


@pytest.mark.parametrize("scheduler", ["threads", "sync"])
def test_callback_counts_the_graphs_tasks(scheduler: str) -> None:
    x = da.arange(1000, chunks=100)
    out = io.StringIO()
    with progbar.dask.ProgbarCallback(**opts(out, label="sum")) as callback:
        total = (x * 2).sum().compute(scheduler=scheduler)
    assert total == 999_000
    lines = fields(out)
    assert len(lines) == 1
    label, count, percent = lines[0][:3]
    done, target = count.split("/")
    assert (label, percent) == ("sum", "100%") and done == target and int(target) >= 10
    assert lines[0][-1] == "task/s"
    assert callback.bar is not None and callback.bar.closed


def test_each_compute_gets_its_own_bar() -> None:
    out = io.StringIO()
    with progbar.dask.ProgbarCallback(**opts(out)):
        dask.delayed(sum)([1, 2]).compute(scheduler="sync")
        dask.delayed(max)([1, 2]).compute(scheduler="sync")
    assert [line[0] for line in fields(out)] == ["1/1", "1/1"]


def test_the_bar_moves_as_tasks_finish() -> None:
    seen: list[str] = []

    class Watching(io.StringIO):
        def write(self, text: str) -> int:
            seen.extend(w for w in text.split() if "/" in w and w[0].isdigit())
            return super().write(text)

    parts = [dask.delayed(abs)(-i) for i in range(5)]
    with progbar.dask.ProgbarCallback(file=Watching(), dynamic=True, interval=0):
        dask.compute(*parts, scheduler="sync")
    assert seen[0] == "1/5" and seen[-1] == "5/5"


def test_a_failing_task_closes_the_bar_and_raises() -> None:
    def boom(x: int) -> int:
        raise ZeroDivisionError("no")

    out = io.StringIO()
    callback = progbar.dask.ProgbarCallback(**opts(out))
    with pytest.raises(ZeroDivisionError), callback:
        dask.delayed(boom)(dask.delayed(abs)(-1)).compute(scheduler="sync")
    assert callback.bar is not None and callback.bar.closed
    assert fields(out)[-1][0] == "1/2"  # the one that finished


def test_registered_globally() -> None:
    out = io.StringIO()
    callback = progbar.dask.ProgbarCallback(**opts(out))
    callback.register()
    try:
        dask.delayed(abs)(-3).compute(scheduler="sync")
    finally:
        callback.unregister()
    dask.delayed(abs)(-3).compute(scheduler="sync")  # no bar once unregistered
    assert [line[0] for line in fields(out)] == ["1/1"]


# --------------------------------------------------------------------------- distributed


@pytest.fixture(scope="module")
def client() -> Iterator[Client]:
    with LocalCluster(n_workers=2, threads_per_worker=1, processes=True, host="127.0.0.1",
                      dashboard_address=None) as cluster, Client(cluster) as client:
        yield client


def double(x: int) -> int:
    return 2 * x


def test_progress_waits_for_futures_and_counts_each(client: Client) -> None:
    futures = client.map(double, range(20))
    out = io.StringIO()
    assert progbar.dask.progress(futures, **opts(out, label="map")) is None
    assert all(f.done() for f in futures)
    assert fields(out)[-1][:3] == ["map", "20/20", "100%"]
    assert sum(client.gather(futures)) == 380


def test_progress_of_a_persisted_collection_and_loose_futures(client: Client) -> None:
    x = da.ones((40, 40), chunks=(10, 10)).persist()
    one = client.submit(double, 4)
    out = io.StringIO()
    progbar.dask.progress(x, one, **opts(out))
    assert fields(out)[-1][0] == "17/17"  # 16 chunks and one future
    assert float(x.sum().compute()) == 1600.0 and one.result() == 8


def test_progress_moves_as_futures_finish(client: Client) -> None:
    # the last future waits on an event the driver sets once the bar shows the
    # others done (a distributed Event: it lives on the scheduler)
    from distributed import Event

    go = Event("progbar-test-go")
    shown = threading.Event()

    def gated(i: int, name: str) -> int:
        if i == 3:
            assert Event(name).wait(30), "the bar never showed 3/4"
        return i

    class Watching(io.StringIO):
        def write(self, text: str) -> int:
            if "3/4" in text and not shown.is_set():
                shown.set()
                go.set()
            return super().write(text)

    futures = [client.submit(gated, i, "progbar-test-go", pure=False) for i in range(4)]
    progbar.dask.progress(futures, file=Watching(), dynamic=True, interval=0)
    assert shown.is_set() and client.gather(futures) == [0, 1, 2, 3]


def test_a_failed_future_counts_as_finished(client: Client) -> None:
    def boom(x: int) -> int:
        raise ValueError("bad")

    futures = [client.submit(boom, 1), client.submit(double, 1)]
    out = io.StringIO()
    progbar.dask.progress(futures, **opts(out))
    assert fields(out)[-1][0] == "2/2"
    with pytest.raises(ValueError, match="bad"):
        futures[0].result()


def test_nothing_to_wait_for() -> None:
    out = io.StringIO()
    progbar.dask.progress([], **opts(out))
    assert fields(out)[-1][0] == "0/0"


def test_import_progbar_does_not_import_dask() -> None:
    code = "import sys, progbar; print([m for m in ('dask', 'distributed') if m in sys.modules])"
    got = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                         check=True).stdout.strip()
    assert got == "[]"
