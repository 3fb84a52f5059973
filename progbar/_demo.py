"""``progbar demo``: a real, small training run in pure Python.

Logistic regression trained by mini-batch SGD on a synthetic, linearly separable-ish
data set made on the spot (no downloads, no numpy).  The loss and accuracy shown are
the real per-batch values, averaged by the bar the way Keras averages them.
"""

from __future__ import annotations

import math
import random
from typing import Any, Sequence

from ._format import format_epoch
from ._history import History
from ._progbar import Progbar

Row = list[float]


def make_data(n: int, w_true: Row, seed: int) -> tuple[list[Row], list[int]]:
    rng = random.Random(seed)
    features = len(w_true)
    xs: list[Row] = []
    ys: list[int] = []
    for _ in range(n):
        x = [rng.gauss(0, 1) for _ in range(features)]
        z = sum(a * b for a, b in zip(w_true, x)) + rng.gauss(0, 0.8)
        xs.append(x)
        ys.append(1 if z > 0 else 0)
    return xs, ys


def _sigmoid(z: float) -> float:
    if z >= 0:
        return 1.0 / (1.0 + math.exp(-z))
    e = math.exp(z)
    return e / (1.0 + e)


def _batch_step(
    w: Row, b: float, xs: Sequence[Row], ys: Sequence[int], lr: float, train: bool
) -> tuple[float, float, float]:
    """One batch: returns (loss, accuracy, new bias) and updates ``w`` in place."""
    grad_w = [0.0] * len(w)
    grad_b = 0.0
    loss = 0.0
    correct = 0
    for x, y in zip(xs, ys):
        p = _sigmoid(sum(a * c for a, c in zip(w, x)) + b)
        p_clip = min(max(p, 1e-7), 1 - 1e-7)
        loss -= y * math.log(p_clip) + (1 - y) * math.log(1 - p_clip)
        correct += (p >= 0.5) == (y == 1)
        err = p - y
        for j, xj in enumerate(x):
            grad_w[j] += err * xj
        grad_b += err
    n = len(xs)
    if train:
        for j in range(len(w)):
            w[j] -= lr * grad_w[j] / n
        b -= lr * grad_b / n
    return loss / n, correct / n, b


def run_demo(
    epochs: int = 5, batch_size: int = 32, style: str = "default"
) -> dict[str, list[float]]:
    """Train and show it; returns the per-epoch history."""
    features = 128
    rng = random.Random(0)
    w_true = [rng.gauss(0, 1) for _ in range(features)]
    x_train, y_train = make_data(20000, w_true, seed=7)
    x_val, y_val = make_data(2000, w_true, seed=8)
    w = [0.0] * features
    b = 0.0
    history: dict[str, list[float]] = {}
    order = list(range(len(x_train)))
    print(f"Training logistic regression on {len(x_train)} synthetic samples "
          f"({features} features), batch size {batch_size}.")
    for epoch in range(epochs):
        print(format_epoch(epoch + 1, epochs))
        rng.shuffle(order)
        batches = [order[i:i + batch_size] for i in range(0, len(order), batch_size)]
        # Keras's way: one update per batch, then a finalizing update at epoch end
        # that adds the validation metrics to the same line.
        bar: Progbar[Any] = Progbar(len(batches), style=style)
        for step, idx in enumerate(batches, 1):
            xs = [x_train[i] for i in idx]
            ys = [y_train[i] for i in idx]
            loss, acc, b = _batch_step(w, b, xs, ys, lr=0.1, train=True)
            bar.update(step, [("loss", loss), ("accuracy", acc)], finalize=False)
        val_loss, val_acc, _ = _batch_step(w, b, x_val, y_val, lr=0.0, train=False)
        summary = dict(bar_metrics(bar))
        bar.update(len(batches), [("val_loss", val_loss), ("val_accuracy", val_acc)],
                   finalize=True)
        summary["val_loss"] = val_loss
        summary["val_accuracy"] = val_acc
        for key, value in summary.items():
            history.setdefault(key, []).append(value)
    print()
    History(history).show()  # the picture at the end: a table with a trend per metric
    return history


def bar_metrics(bar: Progbar[Any]) -> list[tuple[str, float]]:
    return [(k, v) for k, v in bar.metrics().items() if isinstance(v, float)]
