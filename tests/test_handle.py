"""progbar.Handle: workers in real pools report into one bar, exactly (design.md, "Workers, async code, Ray").

Every test reads the final counts and means from the bar's final line (line mode on
a StringIO) and from ``bar.metrics()``.  Nothing sleeps: pools are joined, workers
are held with events, and ``bar.close()`` itself takes in what workers still hold.
"""

from __future__ import annotations

import concurrent.futures as cf
import io
import multiprocessing as mp
import os
import pickle
import re
import subprocess
import sys

import pytest
from conftest import needs

import progbar
from progbar._workers import listener as _listener

sys.path.insert(0, os.path.dirname(__file__))
from support import handle_workers as w  # noqa: E402

# fork() from a process with threads (our listener) warns on Python 3.12+.
fork_ok = pytest.mark.filterwarnings("ignore:This process .*fork:DeprecationWarning")


def final_line(out: io.StringIO) -> str:
    lines = [line for line in out.getvalue().splitlines() if line.strip()]
    assert lines, "the bar wrote nothing"
    return lines[-1]


def count_of(line: str) -> int:
    m = re.search(r"(\d+)(?:/\d+)? ", line)
    assert m, line
    return int(m.group(1))


def new_bar(target: int | None = None, **kw: object) -> tuple[progbar.Progbar, io.StringIO]:
    out = io.StringIO()
    return progbar.Progbar(target, file=out, dynamic=False, **kw), out  # type: ignore[arg-type]


@fork_ok
@pytest.mark.parametrize("method", ["fork", "spawn", "forkserver"])
def test_process_pool_exact_under_each_start_method(method: str) -> None:
    bar, out = new_bar(None, stateful_metrics=None)
    h = bar.handle()
    ctx = mp.get_context(method)
    with cf.ProcessPoolExecutor(2, mp_context=ctx) as pool:
        assert sorted(pool.map(w.add_steps, [h] * 16, range(16))) == list(range(16))
    bar.close()
    line = final_line(out)
    # 16 tasks x 3 steps; loss i weighs 3 steps each: mean of 0..15 = 7.5 exactly
    assert count_of(line) == 48
    assert "loss: 7.5000" in line and "lr: 0.5000" in line
    assert bar.metrics() == {"loss": 7.5, "lr": 0.5}


@fork_ok
def test_64_tasks_on_8_workers() -> None:
    bar, out = new_bar(64)
    h = bar.handle()
    ctx = mp.get_context("forkserver")
    with cf.ProcessPoolExecutor(8, mp_context=ctx) as pool:
        pids = set(pool.map(w.add_ones, [h] * 64, range(64)))
        bar.close()  # workers still alive: close() asks them for what they hold
    assert len(pids) >= 2
    line = final_line(out)
    assert line.startswith("64/64 100%") and "loss: 31.5000" in line
    assert bar.current == 64 and bar.metrics() == {"loss": 31.5}


@fork_ok
def test_close_takes_in_counts_live_workers_still_hold() -> None:
    # An hour-long interval: no worker sends on its timer.  The workers stay alive
    # holding their counts; close() alone must fetch them before the final line.
    bar, out = new_bar(None, interval=3600)
    h = bar.handle()
    ctx = mp.get_context("fork")
    with ctx.Manager() as manager:
        ready = [manager.Event() for _ in range(2)]
        go = manager.Event()
        with cf.ProcessPoolExecutor(2, mp_context=ctx) as pool:
            futures = [pool.submit(w.hold_until, h, 1000, ready[i], go) for i in range(2)]
            for event in ready:
                assert event.wait(60)
            bar.close()
            go.set()
            assert [f.result() for f in futures] == [1000, 1000]
    assert count_of(final_line(out)) == 2000


@fork_ok
def test_multiprocessing_pool_child_bar_per_task() -> None:
    bar, out = new_bar(6, label="all")
    h = bar.handle()
    with mp.get_context("fork").Pool(2) as pool:
        assert pool.starmap(w.child_bar_task, [(h, i) for i in range(6)]) == list(range(6))
        bar.close()
    lines = out.getvalue().splitlines()
    children = [line for line in lines if "5/5 100%" in line]
    assert len(children) == 6 and all("part: 2.0000" in line for line in children)
    if "all" in lines[-1]:  # labels shown (design.md, "The public API"): each task's line is its own
        for i in range(6):
            assert any(f"task {i}" in line for line in children)
    assert "6/6 100%" in lines[-1]  # the children ended before the parent's last step


@needs("joblib")
def test_joblib_loky() -> None:
    import joblib

    bar, out = new_bar(40)
    h = bar.handle()
    got = joblib.Parallel(n_jobs=2, backend="loky")(
        joblib.delayed(w.add_ones)(h, i) for i in range(40)
    )
    assert len(got) == 40
    bar.close()
    line = final_line(out)
    assert line.startswith("40/40 100%") and "loss: 19.5000" in line


@fork_ok
@needs("torch")
def test_torch_dataloader_two_workers_count_items() -> None:
    import torch.utils.data as torch_data

    bar, out = new_bar(100)
    data = w.CountingDataset(100, bar.handle())
    loader = torch_data.DataLoader(data, batch_size=8, num_workers=2)
    seen = sorted(int(x) for batch in loader for x in batch)
    assert seen == list(range(100))
    bar.close()
    line = final_line(out)
    assert line.startswith("100/100 100%") and "item: 49.5000" in line


def test_threads_exact() -> None:
    bar, out = new_bar(None, stateful_metrics=["epoch"])
    h = bar.handle()

    def work(k: int) -> None:
        for i in range(1000):
            h.add(1, [("loss", i % 10)])

    with cf.ThreadPoolExecutor(8) as pool:
        list(pool.map(work, range(8)))
    h.log(epoch=1)
    h.log(epoch=2)  # stateful: the last value received
    bar.close()
    line = final_line(out)
    assert count_of(line) == 8000 and "loss: 4.5000" in line and "epoch: 2" in line


@fork_ok
def test_batching_many_updates_few_messages() -> None:
    # 100,000 updates with an hour-long interval: at most one message in the interval
    # (what gathered while the connection was being authenticated, if it was done
    # before the loop ended -- a matter of scheduling) and the last one at close().
    bar, out = new_bar(None, interval=3600)
    h = bar.handle()
    ctx = mp.get_context("fork")
    ours, theirs = ctx.Pipe(duplex=False)
    proc = ctx.Process(target=w.many_adds, args=(h, 100_000, theirs))
    proc.start()
    theirs.close()
    sent = ours.recv()
    proc.join(60)
    server = _listener._servers[bar]
    bar.close()
    assert 1 <= sent <= 2
    assert server.received == sent
    assert count_of(final_line(out)) == 100_000


@fork_ok
def test_fork_child_starts_over_and_nothing_counts_twice() -> None:
    bar, out = new_bar(None, interval=3600)
    h = bar.handle()
    h.add(5)  # held in this process, unsent (long interval) when the child forks
    ctx = mp.get_context("fork")
    proc = ctx.Process(target=w.add_ones, args=(h, 0))
    proc.start()
    proc.join(60)
    assert proc.exitcode == 0
    bar.close()
    assert count_of(final_line(out)) == 6  # 5 here + 1 there, not 5 + 5 + 1


def test_handle_pickles_and_opens_nothing_until_used() -> None:
    bar, _ = new_bar(10)
    h = bar.handle()
    clone = pickle.loads(pickle.dumps(h))
    assert isinstance(clone, progbar.Handle) and clone._c is None
    clone.add(2)
    assert clone._c is not None and clone._c.live
    bar.close()
    assert bar.current == 2


def test_import_progbar_loads_none_of_it() -> None:
    code = (
        "import sys, progbar; progbar.Progbar(3, verbose=0).add(1);"
        "bad = [m for m in ('asyncio', 'multiprocessing.connection', 'progbar._workers',"
        " 'progbar._async', 'progbar._aiter', 'ray', 'socket') if m in sys.modules]; print(bad)"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                         check=True, cwd=os.path.dirname(os.path.dirname(__file__)))
    assert out.stdout.strip() == "[]"


# --------------------------------------------------------------------------- workers ended
#
# Whatever ends a worker after its task returned -- Pool.__exit__'s terminate()
# (SIGTERM), a SIGTERM from elsewhere, multiprocessing's os._exit at a child's end --
# what it counted arrives.  Each case runs five times: a lost count shows as a race.

REPS = 5


def exact_40(out: io.StringIO) -> None:
    line = final_line(out)
    assert line.startswith("40/40 100%") and "loss: 19.5000" in line, line


@fork_ok
@pytest.mark.parametrize("method", ["fork", "spawn", "forkserver"])
def test_pool_with_block_terminates_workers_and_counts_stay_exact(method: str) -> None:
    ctx = mp.get_context(method)
    for _ in range(REPS):
        bar, out = new_bar(40)
        h = bar.handle()
        with ctx.Pool(3) as pool:  # __exit__ terminates the workers
            pool.starmap(w.add_ones, [(h, i) for i in range(40)])
        bar.close()
        exact_40(out)
        assert bar.metrics() == {"loss": 19.5}


@fork_ok
@pytest.mark.parametrize("method", ["fork", "spawn", "forkserver"])
def test_process_pool_executor_workers_sigtermed_after_their_tasks(method: str) -> None:
    import signal

    ctx = mp.get_context(method)
    for _ in range(REPS):
        bar, out = new_bar(40)
        h = bar.handle()
        before = set(mp.active_children())
        pool = cf.ProcessPoolExecutor(2, mp_context=ctx)
        pids = set(pool.map(w.add_ones, [h] * 40, range(40)))
        workers = {p.pid for p in mp.active_children() if p not in before}
        assert pids <= workers
        # A scheduler's SIGTERM, with the counts still held, to every worker of the
        # pool: one that ran no task may be idle behind the queue's lock, which a
        # worker killed while waiting on the queue holds for good -- the executor
        # would then wait for it forever (CPython's, not ours).
        for pid in workers:
            os.kill(pid, signal.SIGTERM)
        pool.shutdown(wait=True)
        bar.close()
        exact_40(out)


@fork_ok
def test_workers_that_exit_after_each_task_count_exactly() -> None:
    # maxtasksperchild=1: each worker ends (multiprocessing's os._exit, where atexit
    # does not run) right after its task returned.
    for _ in range(REPS):
        bar, out = new_bar(40)
        h = bar.handle()
        with mp.get_context("fork").Pool(3, maxtasksperchild=1) as pool:
            pool.starmap(w.add_ones, [(h, i) for i in range(40)])
        bar.close()
        exact_40(out)


def loky_workers() -> set[int]:
    """This process's loky workers, found in /proc.  A SIGTERM must reach each of
    them: one that ran no task may wait behind the queue's lock, which a worker killed
    while waiting on the queue holds for good, and the executor's shutdown would wait
    for it forever (the pool's, not ours)."""
    found = set()
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            with open(f"/proc/{entry}/stat") as stat:
                parent = int(stat.read().rsplit(")", 1)[1].split()[1])
            with open(f"/proc/{entry}/cmdline", "rb") as cmdline:
                command = cmdline.read()
        except (OSError, ValueError, IndexError):  # ended meanwhile
            continue
        if parent == os.getpid() and b"loky.backend.popen_loky_posix" in command:
            found.add(int(entry))
    return found


@needs("joblib")
@pytest.mark.skipif(not os.path.isdir("/proc"), reason="finds the pool's workers in /proc")
def test_joblib_workers_ended_after_their_tasks() -> None:
    import signal

    import joblib
    from joblib.externals.loky import get_reusable_executor

    for rep in range(REPS):
        bar, out = new_bar(40)
        h = bar.handle()
        pids = set(joblib.Parallel(n_jobs=2, backend="loky")(
            joblib.delayed(w.add_ones)(h, i) for i in range(40)
        ))
        if rep % 2:  # SIGTERM to every worker; else loky's own shutdown (they exit)
            workers = loky_workers()
            assert pids <= workers
            for pid in workers:
                os.kill(pid, signal.SIGTERM)
        get_reusable_executor().shutdown(wait=True)
        bar.close()
        exact_40(out)


def pool_script(method: str) -> str:
    return w.POOL_WITH_BLOCK.format(tests=os.path.dirname(os.path.abspath(__file__)),
                                    method=method)


ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


@pytest.mark.parametrize("method", ["fork", "forkserver"])
def test_pool_with_block_in_a_pipe(method: str) -> None:
    env = {k: v for k, v in os.environ.items() if not k.startswith("PROGBAR_")}
    env["PYTHONPATH"] = ROOT
    done = subprocess.run([sys.executable, "-c", pool_script(method)], env=env,
                          capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr
    finals = [line for line in done.stdout.splitlines() if "40/40" in line]
    assert len(finals) == 5, done.stdout
    assert all("loss: 19.5000" in line for line in finals), finals


def test_pool_with_block_on_a_pty() -> None:
    from support.ptyscreen import run_on_pty

    got = run_on_pty(pool_script("fork"), env={"PYTHONPATH": ROOT}, rows=30)
    assert got.returncode == 0, got.text
    rows = [row for row in got.nonblank() if row.startswith("rep ")]
    assert len(rows) == 5, got.nonblank()
    assert all(" 40/40 " in row and "loss: 19.5000" in row for row in rows), rows
