"""progbar.keras.ProgbarLogger on Keras 3's jax and tensorflow backends (design.md, "Distributed jobs").

The backend is fixed when Keras is first imported, so each backend runs in a fresh
interpreter: a real ``fit`` (with validation), ``evaluate`` and ``predict``, drawn by
two loggers at once -- one live (``dynamic=True``, every frame kept) and one in line
mode.  The final lines must equal ``History``; on jax, where Keras dispatches batch
callbacks to a thread pool and they arrive out of order, the live frames must never
go backwards."""

from __future__ import annotations

import importlib.util
import json
import os
import re
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

pytest.importorskip("keras", reason="needs keras")

ROOT = Path(__file__).resolve().parent.parent

_CHILD = r"""
import io, json, threading
import numpy as np
import keras
from progbar.keras import ProgbarLogger

class Noting(ProgbarLogger):
    threads = set()
    def on_train_batch_end(self, batch, logs=None):
        Noting.threads.add(threading.get_ident())
        super().on_train_batch_end(batch, logs)

keras.utils.set_random_seed(0)
rng = np.random.default_rng(0)
x = rng.normal(size=(256, 4)).astype("float32")
y = x.sum(axis=1, keepdims=True)
model = keras.Sequential([keras.Input((4,)), keras.layers.Dense(8), keras.layers.Dense(1)])
model.compile("sgd", "mse", metrics=["mae"])
live, lines = io.StringIO(), io.StringIO()
cbs = [Noting(file=live, dynamic=True, interval=0, color=False),
       ProgbarLogger(file=lines, dynamic=False)]
history = model.fit(x, y, batch_size=4, epochs=2, validation_data=(x[:32], y[:32]),
                    callbacks=cbs, verbose=1)
model.evaluate(x, y, batch_size=32, callbacks=cbs, verbose=1)
model.predict(x, batch_size=32, callbacks=cbs, verbose=1)
print(json.dumps({
    "backend": keras.backend.backend(),
    "history": {k: [float(v) for v in vs] for k, vs in history.history.items()},
    "live": live.getvalue(),
    "lines": lines.getvalue(),
    "pool": threading.get_ident() not in Noting.threads,
}))
"""


def _run(backend: str) -> dict[str, Any]:
    env = dict(os.environ)
    env.update(KERAS_BACKEND=backend, TF_CPP_MIN_LOG_LEVEL="3", JAX_PLATFORMS="cpu",
               PYTHONPATH=str(ROOT) + os.pathsep + env.get("PYTHONPATH", ""))
    done = subprocess.run([sys.executable, "-c", _CHILD], env=env, capture_output=True,
                          text=True, timeout=300, check=False)
    assert done.returncode == 0, done.stderr[-3000:]
    result: dict[str, Any] = json.loads(done.stdout.strip().splitlines()[-1])
    assert result["backend"] == backend
    return result


def _fmt(v: float) -> str:
    return f"{v:.4f}" if abs(v) > 1e-3 else f"{v:.4e}"  # Keras's rule


def _check_final_lines(result: dict[str, Any]) -> None:
    history = result["history"]
    lines = result["lines"].splitlines()
    assert lines[0] == "Epoch 1/2" and lines[2].split(" - ")[0] == "Epoch 2/2"
    for epoch, line in ((0, lines[1]), (1, lines[3])):
        assert line.startswith("64/64 100%"), line
        shown = " - ".join(
            f"{k}: {_fmt(history[k][epoch])}" for k in ("loss", "mae", "val_loss", "val_mae")
        )
        assert line.endswith(" - " + shown), line
    assert lines[4].startswith("8/8 100%") and " - loss: " in lines[4]  # evaluate
    assert lines[5].startswith("8/8 100%")  # predict
    assert len(lines) == 6


def _counts_never_go_backwards(live: str) -> int:
    """Checks every epoch's frames; returns how many frames there were."""
    frames = 0
    for segment in re.split(r"Epoch \d+/\d+\n", live)[1:]:
        counts = [int(m.group(1)) for m in re.finditer(r"\r(\d+)/64 ", segment)]
        assert counts, segment[:200]
        assert counts == sorted(counts), counts
        assert counts[-1] == 64
        frames += len(counts)
    return frames


@pytest.mark.skipif(importlib.util.find_spec("jax") is None, reason="needs jax (the `jax` extra)")
def test_real_fit_on_jax_backend() -> None:
    result = _run("jax")
    _check_final_lines(result)
    assert _counts_never_go_backwards(result["live"]) > 64  # many frames, all in order
    assert result["pool"]  # batch callbacks came from Keras's thread pool: async stayed on


@pytest.mark.skipif(
    importlib.util.find_spec("tensorflow") is None, reason="needs tensorflow (the `tf` extra)"
)
def test_real_fit_on_tensorflow_backend() -> None:
    result = _run("tensorflow")
    _check_final_lines(result)
    assert _counts_never_go_backwards(result["live"]) > 64
