"""JAX arrays as metric values (design.md, "Metric values" and "Distributed jobs"): summed on the device, read back to the host
only when a line is rendered -- at most one conversion per metric per render, none
between renders.  ``float(x)`` on a JAX array waits for the device; ``x + y`` does not.

The transfer guard cannot count on the CPU backend (nothing is transferred there), so
the test counts every way a JAX array becomes a host value by wrapping the array
type's conversion methods for the duration of the loop."""

from __future__ import annotations

import io
import math
from typing import Any

import pytest
from conftest import FakeClock

jax = pytest.importorskip("jax", reason="needs jax (the `jax` extra)")
jnp = pytest.importorskip("jax.numpy")

from progbar import Progbar  # noqa: E402
from progbar._metrics import MetricStore, coerce  # noqa: E402

# Every way an array reaches the host as a Python or numpy value.
_CONVERSIONS = ("__float__", "__int__", "__index__", "__bool__", "__complex__",
                "__array__", "item", "tolist", "block_until_ready", "__format__")


@pytest.fixture
def host_reads(monkeypatch: pytest.MonkeyPatch) -> list[str]:
    """Counts host conversions of JAX arrays while the test runs."""
    reads: list[str] = []
    cls = type(jnp.zeros(()))
    for name in _CONVERSIONS:
        original = getattr(cls, name, None)
        if original is None:
            continue

        def counted(self: Any, *args: Any, _name: str = name, _orig: Any = original,
                    **kwargs: Any) -> Any:
            reads.append(_name)
            return _orig(self, *args, **kwargs)

        monkeypatch.setattr(cls, name, counted)
    return reads


def _step_fn() -> Any:
    @jax.jit
    def step(w: Any, x: Any) -> tuple[Any, Any, Any]:
        loss = jnp.mean((x * w - 1.0) ** 2)
        grad = jnp.mean(2 * (x * w - 1.0) * x)
        w = w - 0.1 * grad
        return w, loss, jnp.abs(grad)

    return step


def test_jitted_loop_reads_back_once_per_metric_per_render(host_reads: list[str]) -> None:
    step = _step_fn()
    w = jnp.float32(0.0)
    xs = [jnp.full((8,), 1.0 + i / 100, dtype=jnp.float32) for i in range(40)]
    clock = FakeClock()
    out = io.StringIO()
    bar = Progbar(40, file=out, dynamic=True, clock=clock, interval=1.0)
    losses: list[Any] = []
    renders = 0
    for i, x in enumerate(xs):
        w, loss, gnorm = step(w, x)
        losses.append(loss)
        clock.now += 0.25  # a render every 4 steps
        before_reads, before_out = len(host_reads), len(out.getvalue())
        bar.update(i + 1, [("loss", loss), ("grad", gnorm)])
        rendered = len(out.getvalue()) > before_out
        renders += rendered
        reads = len(host_reads) - before_reads
        if rendered:
            assert reads <= 2, (i, host_reads[before_reads:])  # one per metric
        else:
            assert reads == 0, (i, host_reads[before_reads:])  # no sync between renders
    bar.close()
    assert 5 <= renders <= 15  # the throttle did its job: not one render per step
    total_reads = len(host_reads)
    # The final line holds the true mean (converted here, after the loop).
    mean = sum(float(v) for v in losses) / len(losses)
    final = out.getvalue().rsplit("\r", 1)[-1]
    assert f"loss: {mean:.4f}" in final, final
    assert total_reads <= 2 * renders


def test_coerce_keeps_jax_arrays_on_the_device(host_reads: list[str]) -> None:
    x = jnp.float32(2.5) + 0
    assert coerce(x) is x  # no float(): no wait for the device
    v = coerce(jnp.arange(4.0))
    assert type(v) is type(x) and v.ndim == 0  # an array's mean, still an array
    assert type(coerce(jnp.int32(3) + 0)) is type(x)
    assert host_reads == []
    c = coerce(jnp.complex64(1 + 2j) + 0)
    assert type(c).__name__ == "_Raw"  # complex: shown as text, never summed


def test_store_sums_on_device_and_converts_at_snapshot(host_reads: list[str]) -> None:
    store = MetricStore(stateful=["lr"])
    store.record([("loss", jnp.float32(1.0) + 0), ("lr", jnp.float32(0.1) + 0)], 1)
    store.record([("loss", jnp.float32(4.0) + 0), ("lr", jnp.float32(0.2) + 0)], 2)
    store.record([("acc", jnp.array([1, 0, 1, 1]))], 1)  # int array: its mean
    assert host_reads == []
    shown = dict(store.snapshot())
    assert math.isclose(shown["loss"], 3.0, rel_tol=1e-6)
    assert math.isclose(shown["lr"], 0.2, rel_tol=1e-6)
    assert math.isclose(shown["acc"], 0.75, rel_tol=1e-6)
    assert len(host_reads) <= 3


def test_mixed_with_python_floats_and_nan() -> None:
    bar = Progbar(3, file=io.StringIO(), dynamic=False, verbose=2)
    bar.update(1, [("loss", 1.0)])
    bar.update(2, [("loss", jnp.float32(3.0) + 0)])
    bar.update(3, [("loss", jnp.float32(math.nan) + 0), ("m", jnp.bool_(True) + 0)])
    shown = bar.metrics()
    assert math.isnan(shown["loss"])
    assert shown["m"] == 1.0
