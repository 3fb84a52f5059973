"""progbar.torch: tensor metrics without per-step syncs, rank-0 output, the
cross-rank reduce at finalize (real two-process gloo job), epoch headers."""

from __future__ import annotations

import gc
import importlib
import io
import os
import socket
import subprocess
import sys
import textwrap
import weakref
from collections import Counter
from pathlib import Path
from typing import Any

import pytest
from conftest import FakeClock

torch = importlib.import_module("torch")
import progbar.torch as pt  # noqa: E402
from progbar import Progbar  # noqa: E402

SYNCS = ("item", "__float__", "tolist", "cpu", "numpy", "__int__", "__index__", "__bool__")


class CountingTensor(torch.Tensor):
    """A tensor that counts its device-to-host conversions (tests only)."""

    syncs: Counter[str] = Counter()

    @classmethod
    def __torch_function__(cls, func: Any, types: Any, args: Any = (), kwargs: Any = None) -> Any:
        name = getattr(func, "__name__", "")
        if name in SYNCS:
            cls.syncs[name] += 1
        return super().__torch_function__(func, types, args, kwargs or {})


def _launcher_env(monkeypatch: pytest.MonkeyPatch, rank: str | None) -> None:
    for name in ("RANK", "LOCAL_RANK", "WORLD_SIZE"):
        monkeypatch.delenv(name, raising=False)
    if rank is not None:
        monkeypatch.setenv("RANK", rank)
        monkeypatch.setenv("LOCAL_RANK", rank)
        monkeypatch.setenv("WORLD_SIZE", "2")


# --------------------------------------------------------------------------- tensors


def test_tensor_metrics_sync_only_at_renders_and_keep_no_graph(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    _launcher_env(monkeypatch, None)
    torch.manual_seed(0)
    w = torch.randn(8, requires_grad=True).as_subclass(CountingTensor)
    xs = torch.randn(64, 8)
    clock = FakeClock()
    out = io.StringIO()
    CountingTensor.syncs.clear()
    saved_refs: list[weakref.ref[Any]] = []
    bar = pt.track(range(10_000), file=out, dynamic=False, interval=1.0, clock=clock)
    for i in bar:
        clock.now += 0.01  # 100 s in all: about one render per 100 steps
        h = xs[i % 64] * w  # saved by the graph of `loss` (PowBackward keeps it)
        loss = (h**2).sum()
        acc = (h > 0).float().mean()
        assert loss.grad_fn is not None
        saved_refs.append(weakref.ref(h))
        bar.log(loss=loss, acc=acc)
        del h, loss, acc
        if i < 10:
            gc.collect()
            # the bar kept no graph: the tensor saved for backward is gone
            assert saved_refs[-1]() is None
    renders = len(out.getvalue().splitlines())
    syncs = sum(CountingTensor.syncs.values())
    assert 50 <= renders <= 200
    assert 0 < syncs <= renders * 2, (syncs, renders, CountingTensor.syncs)
    assert all(r() is None for r in saved_refs)
    for total, _count in bar.totals().values():
        assert total.grad_fn is None and not total.requires_grad


def test_tensor_average_is_the_step_weighted_mean(monkeypatch: pytest.MonkeyPatch) -> None:
    _launcher_env(monkeypatch, None)
    out = io.StringIO()
    values = [torch.tensor(float(v)) for v in (1, 2, 3, 10)]
    for v in (bar := pt.track(values, file=out, dynamic=False)):
        bar.log(loss=v * 1)
    assert out.getvalue().splitlines()[-1].endswith("loss: 4.0000")


def test_non_zero_rank_is_quiet_before_init_process_group(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    out = io.StringIO()
    _launcher_env(monkeypatch, "1")
    assert pt.global_rank() == 1
    for v in (bar := pt.track(range(5), file=out, dynamic=False)):
        bar.log(loss=float(v))
    for _ in pt.epochs(3, file=out):
        pass
    assert out.getvalue() == ""
    assert bar.metrics() == {"loss": 2.0}  # it still records, for the reduce
    _launcher_env(monkeypatch, "0")
    for _ in pt.track(range(5), file=out, dynamic=False):
        pass
    assert out.getvalue() != ""


def test_epoch_headers_as_keras_prints_them(monkeypatch: pytest.MonkeyPatch) -> None:
    _launcher_env(monkeypatch, None)
    assert pt.format_epoch(3, 10) == "Epoch 3/10"
    assert pt.format_epoch(3) == "Epoch 3"
    out = io.StringIO()
    seen = [e for e in pt.epochs(3, file=out)]
    assert seen == [0, 1, 2]
    assert out.getvalue() == "Epoch 1/3\nEpoch 2/3\nEpoch 3/3\n"
    out = io.StringIO()
    assert list(pt.epochs(1, file=out)) == [0] and out.getvalue() == ""  # as Keras


def test_headers_and_bars_interleave(monkeypatch: pytest.MonkeyPatch) -> None:
    _launcher_env(monkeypatch, None)
    out = io.StringIO()
    clock = FakeClock()
    for _ in pt.epochs(2, file=out):
        for _ in (bar := pt.track(range(4), file=out, dynamic=False, clock=clock)):
            clock.now += 1
            bar.log(loss=torch.tensor(0.5))
    lines = out.getvalue().splitlines()
    assert lines[0] == "Epoch 1/2" and lines[2].split(" - ")[0] == "Epoch 2/2"
    assert lines[1].startswith("4/4") and lines[1].endswith("loss: 0.5000")


# --------------------------------------------------------------------------- reduce logic


class FakeDist:
    """Stands in for torch.distributed in one process: rank 0 of `world`, where the
    other ranks' contributions are given."""

    def __init__(self, others: list[dict[str, tuple[float, int]]]) -> None:
        self.others = others
        self.calls = 0

    def is_available(self) -> bool:
        return True

    def is_initialized(self) -> bool:
        return True

    def get_rank(self) -> int:
        return 0

    def get_world_size(self) -> int:
        return 1 + len(self.others)

    def all_gather_object(self, out: list[Any], obj: Any) -> None:
        self.calls += 1
        out[:] = [obj, *self.others]


def test_reduce_sums_totals_and_counts_in_one_collective(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    fake = FakeDist([{"loss": (30.0, 3), "acc": (1.5, 3)}])
    monkeypatch.setattr(pt, "dist", fake)
    out = io.StringIO()
    for v in (bar := pt.track([1.0, 2.0], file=out, dynamic=False)):
        bar.log(loss=torch.tensor(v), acc=0.5)
    assert fake.calls == 1
    # (1 + 2 + 30) / (2 + 3) and (0.5 * 2 + 1.5) / 5
    assert out.getvalue().splitlines()[-1].endswith("loss: 6.6000 - acc: 0.5000")


def test_reduce_mismatched_names_raise(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(pt, "dist", FakeDist([{"loss": (1.0, 1)}]))
    with pytest.raises(RuntimeError, match="different metric names"):
        for _ in (bar := pt.track([1.0], file=io.StringIO(), dynamic=False)):
            bar.log(loss=1.0, acc=1.0)


def test_reduce_false_and_early_break_make_no_collective(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    fake = FakeDist([{"other": (1.0, 1)}])
    monkeypatch.setattr(pt, "dist", fake)
    for _ in (bar := pt.track([1.0], reduce=False, file=io.StringIO(), dynamic=False)):
        bar.log(loss=1.0)
    for _ in pt.track([1.0, 2.0], file=io.StringIO(), dynamic=False):
        break
    assert fake.calls == 0


def test_track_passes_options_and_target(monkeypatch: pytest.MonkeyPatch) -> None:
    _launcher_env(monkeypatch, None)
    bar = pt.track(iter([1, 2, 3]), target=3, style="keras2", verbose=2, file=io.StringIO())
    assert isinstance(bar, Progbar) and bar.target == 3 and bar.style == "keras2"
    assert list(bar) == [1, 2, 3]
    assert pt.track(range(7), file=io.StringIO()).target == 7


# --------------------------------------------------------------------------- real gloo job

WORKER = textwrap.dedent(
    """
    import io, sys, os
    from datetime import timedelta
    import torch
    import torch.distributed as dist
    import progbar.torch as pt

    rank = int(os.environ["RANK"])
    out_dir = sys.argv[1]
    # Quiet before init_process_group: the launcher's RANK is enough.
    for _ in pt.epochs(2):
        for v in (bar := pt.track(range(3), reduce=False)):
            bar.log(pre=float(v))
    dist.init_process_group("gloo", timeout=timedelta(seconds=20))
    # rank 0 sees 4 steps of 1..4, rank 1 sees 6 steps of 10..15: different lengths
    # are fine, the average is weighted by steps over both ranks.
    data = [torch.tensor(float(v)) for v in ((1, 2, 3, 4) if rank == 0 else range(10, 16))]
    for x in (bar := pt.track(data, dynamic=False)):
        bar.log(loss=x * 2, acc=x / 100)
    sys.stdout.flush()
    try:
        for x in (bar := pt.track(data, file=io.StringIO(), dynamic=False)):
            if rank == 0:
                bar.log(loss=x, acc=x)
            else:
                bar.log(loss=x)
    except RuntimeError as e:
        with open(os.path.join(out_dir, f"err{rank}.txt"), "w") as f:
            f.write(str(e))
    dist.destroy_process_group()
    """
)


def _free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def test_two_process_gloo_job(tmp_path: Path) -> None:
    script = tmp_path / "worker.py"
    script.write_text(WORKER)
    port = _free_port()
    root = Path(__file__).resolve().parent.parent
    procs = []
    for rank in (0, 1):
        env = dict(
            os.environ,
            RANK=str(rank),
            LOCAL_RANK=str(rank),
            WORLD_SIZE="2",
            MASTER_ADDR="127.0.0.1",
            MASTER_PORT=str(port),
            GLOO_SOCKET_IFNAME="lo",
            PYTHONPATH=str(root),
            OMP_NUM_THREADS="1",
        )
        procs.append(
            subprocess.Popen(
                [sys.executable, str(script), str(tmp_path)],
                env=env,
                stdout=subprocess.PIPE,
                stderr=subprocess.PIPE,
                text=True,
            )
        )
    results = []
    try:
        for p in procs:
            results.append(p.communicate(timeout=90))  # the guard: never a hang
    finally:
        for p in procs:
            if p.poll() is None:
                p.kill()
                p.wait()
    (out0, err0), (out1, err1) = results
    assert procs[0].returncode == 0, err0
    assert procs[1].returncode == 0, err1
    assert out1 == ""
    lines = out0.splitlines()
    # before init_process_group rank 0 printed, rank 1 (RANK=1 from the launcher) not
    assert lines[0] == "Epoch 1/2" and lines[1].startswith("3/3") and lines[2].split(" - ")[0] == "Epoch 2/2"
    mean_loss = 2 * (1 + 2 + 3 + 4 + sum(range(10, 16))) / 10
    mean_acc = (1 + 2 + 3 + 4 + sum(range(10, 16))) / 100 / 10
    assert lines[-1].endswith(f"loss: {mean_loss:.4f} - acc: {mean_acc:.4f}"), out0
    assert lines[-1].startswith("4/4")
    err_texts = [(tmp_path / f"err{r}.txt").read_text() for r in (0, 1)]
    for text in err_texts:
        assert "different metric names" in text
        assert "rank 0: ['acc', 'loss']" in text and "rank 1: ['loss']" in text
