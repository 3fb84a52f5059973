"""The whole run's estimate in real trainers, on an injected clock: each adapter's
``eta`` and its epoch headers (``Epoch 3/4 - 1:36 left``), validation and pauses
included, an upper bound where the run may stop early, and a resumed run counting
only what remains.

Every run here takes the same shape on the clock: 2 s per training step, 1 s per
validation step, and 30 s at each epoch's end (a checkpoint), so that an epoch of
4 training and 2 validation steps takes 8 + 2 + 30 = 40 s -- of which a per-epoch ETA
(the train bar's) sees only 8.
"""

from __future__ import annotations

import importlib
import io
import time
from typing import Any

import pytest
from conftest import FakeClock

from progbar import _format

EPOCH = 4 * 2.0 + 2 * 1.0 + 30.0  # seconds

# Lightning's and its dependencies' own deprecation notices (see test_adapter_lightning)
LIGHTNING_NOISE = [
    pytest.mark.filterwarnings("ignore::FutureWarning:lightning.*"),
    pytest.mark.filterwarnings("ignore::FutureWarning:typing_extensions"),
    pytest.mark.filterwarnings("ignore:.*does not have many workers.*"),
    pytest.mark.filterwarnings("ignore:.*litlogger.*"),
]


def _quiet(test: Any) -> Any:
    for mark in LIGHTNING_NOISE:
        test = mark(test)
    return test


def _headers(text: str) -> list[str]:
    return [line for line in text.splitlines() if line.startswith("Epoch ")]


# --------------------------------------------------------------------------- Keras 3

def _keras_fit(logger_options: dict[str, Any], **fit: Any) -> tuple[list[str], Any, list[Any]]:
    keras = pytest.importorskip("keras")
    import numpy as np

    from progbar.keras import ProgbarLogger

    clock = FakeClock()
    readings: list[Any] = []

    # The clock moves in the logger's own hooks, just before them: Keras may run
    # batch-end hooks on a thread pool, after the next batch has begun.
    class Clocked(ProgbarLogger):
        def on_train_batch_end(self, batch: int, logs: Any = None) -> None:
            clock.now += 2.0
            super().on_train_batch_end(batch, logs)
            readings.append((clock.now, self.eta))

        def on_test_batch_end(self, batch: int, logs: Any = None) -> None:
            clock.now += 1.0
            super().on_test_batch_end(batch, logs)

        def on_epoch_end(self, epoch: int, logs: Any = None) -> None:
            clock.now += 30.0  # a checkpoint
            super().on_epoch_end(epoch, logs)

    rng = np.random.default_rng(0)
    x = rng.normal(size=(32, 4)).astype("float32")
    y = x.sum(axis=1, keepdims=True)
    model = keras.Sequential([keras.Input((4,)), keras.layers.Dense(1)])
    model.compile("sgd", "mse")
    out = io.StringIO()
    logger = Clocked(file=out, dynamic=False, clock=clock, **logger_options)
    model.fit(x, y, batch_size=8, validation_data=(x[:16], y[:16]), callbacks=[logger], **fit)
    return _headers(out.getvalue()), logger, readings


def test_keras_fit_headers_and_eta_count_validation_and_pauses() -> None:
    headers, logger, readings = _keras_fit({}, epochs=4)
    assert headers == ["Epoch 1/4", "Epoch 2/4 - 2:00 left", "Epoch 3/4 - 1:20 left",
                       "Epoch 4/4 - 0:40 left"]
    assert logger.eta == 0.0
    # mid-run, after step 2 of epoch 3: two steps, validation and the checkpoint of
    # this epoch (4 + 2 + 30 s), and one epoch more
    at, eta = readings[2 * 4 + 1]
    assert eta == pytest.approx(4.0 + 2.0 + 30.0 + EPOCH, rel=0.02)


def test_keras_fit_that_may_stop_early_shows_an_upper_bound() -> None:
    headers, _, _ = _keras_fit({"may_stop_early": True}, epochs=3)
    assert headers[1:] == ["Epoch 2/3 - ≤ 1:20 left", "Epoch 3/3 - ≤ 0:40 left"]


def test_keras_resumed_fit_counts_only_what_remains() -> None:
    headers, _, _ = _keras_fit({}, epochs=5, initial_epoch=2)
    assert headers == ["Epoch 3/5", "Epoch 4/5 - 1:20 left", "Epoch 5/5 - 0:40 left"]


def test_keras_styles_keep_keras_headers() -> None:
    headers, logger, _ = _keras_fit({"style": "keras"}, epochs=3)
    assert headers == ["Epoch 1/3", "Epoch 2/3", "Epoch 3/3"]
    assert logger.eta is None


def test_a_long_run_says_when_it_will_be_done(monkeypatch: pytest.MonkeyPatch) -> None:
    keras = pytest.importorskip("keras")
    import numpy as np

    from progbar.keras import ProgbarLogger

    monkeypatch.setattr(_format, "wall_clock",
                        lambda: time.mktime((2026, 12, 7, 14, 0, 0, 0, 0, -1)))
    clock = FakeClock()

    class Minutes(ProgbarLogger):
        def on_train_batch_end(self, batch: int, logs: Any = None) -> None:
            clock.now += 150.0  # an epoch of 4 steps: 10 minutes
            super().on_train_batch_end(batch, logs)

    x = np.ones((32, 4), dtype="float32")
    model = keras.Sequential([keras.Input((4,)), keras.layers.Dense(1)])
    model.compile("sgd", "mse")
    out = io.StringIO()
    model.fit(x, x[:, :1], batch_size=8, epochs=4,
              callbacks=[Minutes(file=out, dynamic=False, clock=clock)])
    # the header is written at the epoch's start: 14:00 (the injected wall clock) + what
    # is left; a run ending within ten minutes says nothing of when
    assert _headers(out.getvalue())[1:] == ["Epoch 2/4 - 30:00 left, done ~14:30",
                                            "Epoch 3/4 - 20:00 left, done ~14:20",
                                            "Epoch 4/4 - 10:00 left"]


# --------------------------------------------------------------------------- tf_keras

def test_tf_keras_fit_headers_and_eta() -> None:
    pytest.importorskip("tf_keras", reason="needs tf_keras (CI installs it)")
    import numpy as np
    import tf_keras

    from progbar.tf_keras import ProgbarLogger

    clock = FakeClock()

    class Seconds(tf_keras.callbacks.Callback):  # type: ignore[misc]
        def on_train_batch_begin(self, batch: int, logs: Any = None) -> None:
            clock.now += 2.0

        def on_test_batch_begin(self, batch: int, logs: Any = None) -> None:
            clock.now += 1.0

        def on_epoch_end(self, epoch: int, logs: Any = None) -> None:
            clock.now += 30.0

    x = np.ones((32, 4), dtype="float32")
    model = tf_keras.Sequential([tf_keras.layers.Dense(1, input_shape=(4,))])
    model.compile("sgd", "mse")
    out = io.StringIO()
    logger = ProgbarLogger(file=out, dynamic=False, clock=clock)
    model.fit(x, x[:, :1], batch_size=8, epochs=3, validation_data=(x[:16], x[:16, :1]),
              callbacks=[Seconds(), logger])
    assert _headers(out.getvalue()) == ["Epoch 1/3", "Epoch 2/3 - 1:20 left",
                                        "Epoch 3/3 - 0:40 left"]
    assert logger.eta == 0.0


# --------------------------------------------------------------------------- Lightning

def _lightning_fit(extra_callbacks: list[Any], **trainer: Any) -> tuple[list[str], Any]:
    torch = pytest.importorskip("torch")
    pl = importlib.import_module("lightning.pytorch")
    from torch.utils.data import DataLoader, TensorDataset

    from progbar.lightning import ProgbarCallback

    clock = FakeClock()

    class Model(pl.LightningModule):  # type: ignore[misc]
        def __init__(self) -> None:
            super().__init__()
            self.layer = torch.nn.Linear(4, 1)

        def training_step(self, batch: Any, i: int) -> Any:
            clock.now += 2.0
            x, y = batch
            return torch.nn.functional.mse_loss(self.layer(x), y)

        def validation_step(self, batch: Any, i: int) -> None:
            clock.now += 1.0

        def on_validation_epoch_end(self) -> None:
            clock.now += 30.0  # (Lightning calls the module's on_train_epoch_end after
            # the callbacks': after the epoch, as the bars see it)

        def configure_optimizers(self) -> Any:
            return torch.optim.SGD(self.parameters(), lr=0.01)

    x = torch.ones(32, 4)
    train = DataLoader(TensorDataset(x, x[:, :1]), batch_size=8)
    val = DataLoader(TensorDataset(x[:16], x[:16, :1]), batch_size=8)
    out = io.StringIO()
    cb = ProgbarCallback(file=out, dynamic=False, clock=clock)
    options: dict[str, Any] = dict(
        accelerator="cpu", devices=1, enable_checkpointing=False, logger=False,
        enable_model_summary=False, num_sanity_val_steps=0, callbacks=[cb, *extra_callbacks])
    options.update(trainer)
    pl.Trainer(**options).fit(Model(), train, val)
    return _headers(out.getvalue()), cb


@_quiet
def test_lightning_fit_headers_and_eta() -> None:
    headers, cb = _lightning_fit([], max_epochs=3)
    assert headers == ["Epoch 1/3", "Epoch 2/3 - 1:20 left", "Epoch 3/3 - 0:40 left"]
    assert cb.eta == 0.0


@_quiet
def test_lightning_early_stopping_shows_an_upper_bound() -> None:
    pl = pytest.importorskip("lightning.pytorch")
    stop = pl.callbacks.EarlyStopping(monitor="never_logged", strict=False, patience=100)
    headers, _ = _lightning_fit([stop], max_epochs=3)
    assert headers[1:] == ["Epoch 2/3 - ≤ 1:20 left", "Epoch 3/3 - ≤ 0:40 left"]


# --------------------------------------------------------------------------- Hugging Face

def test_hf_trainer_headers_and_eta(tmp_path: Any) -> None:
    transformers = pytest.importorskip("transformers", reason="needs transformers")
    torch = pytest.importorskip("torch")
    pytest.importorskip("accelerate", reason="Trainer needs accelerate")
    from progbar.transformers import attach

    clock = FakeClock()

    class Model(torch.nn.Module):
        def __init__(self) -> None:
            super().__init__()
            self.layer = torch.nn.Linear(4, 1)

        def forward(self, x: Any, labels: Any = None) -> dict[str, Any]:
            out = self.layer(x)
            return {"loss": torch.nn.functional.mse_loss(out, labels), "logits": out}

    class Seconds(transformers.TrainerCallback):  # type: ignore[misc]
        def on_step_end(self, args: Any, state: Any, control: Any, **kw: Any) -> None:
            clock.now += 2.0

        def on_prediction_step(self, args: Any, state: Any, control: Any, **kw: Any) -> None:
            clock.now += 1.0

        def on_epoch_end(self, args: Any, state: Any, control: Any, **kw: Any) -> None:
            clock.now += 30.0

    rows = [{"x": torch.ones(4), "labels": torch.ones(1)} for _ in range(32)]
    args = transformers.TrainingArguments(
        output_dir=str(tmp_path), num_train_epochs=3, per_device_train_batch_size=8,
        per_device_eval_batch_size=8, eval_strategy="epoch", save_strategy="no",
        report_to="none", use_cpu=True, logging_strategy="no")
    trainer = transformers.Trainer(model=Model(), args=args, train_dataset=rows,
                                   eval_dataset=rows[:16])
    trainer.add_callback(Seconds())
    out = io.StringIO()
    cb = attach(trainer, file=out, dynamic=False, clock=clock)
    trainer.train()
    assert _headers(out.getvalue()) == ["Epoch 1/3", "Epoch 2/3 - 1:20 left",
                                        "Epoch 3/3 - 0:40 left"]
    assert cb.eta == 0.0
