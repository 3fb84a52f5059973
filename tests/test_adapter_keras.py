"""progbar.keras.ProgbarLogger: logic against a recording bar, and real Keras 3 runs
(torch backend, CPU) compared with Keras's own logger."""

from __future__ import annotations

import contextlib
import importlib
import io
import re
import threading
from typing import Any

import numpy as np
import pytest
from conftest import FakeClock
from support.recording import RecordingBar

keras = importlib.import_module("keras")
from keras.src.utils import progbar as keras_progbar_module  # noqa: E402

import progbar.keras as pk  # noqa: E402
from progbar.keras import ProgbarLogger  # noqa: E402

ANSI = re.compile(r"\x1b\[[0-9;]*m")


@pytest.fixture
def recording(monkeypatch: pytest.MonkeyPatch) -> list[RecordingBar]:
    RecordingBar.bars = []
    monkeypatch.setattr(pk, "Progbar", RecordingBar)
    return RecordingBar.bars


def _fit_params(verbose: Any = "auto", epochs: int = 2, steps: int | None = 3) -> dict[str, Any]:
    return {"verbose": verbose, "epochs": epochs, "steps": steps}


# --------------------------------------------------------------------------- logic


def test_fit_sequence_against_recording_bar(recording: list[RecordingBar]) -> None:
    cb = ProgbarLogger(style="keras", width=10)
    recording.clear()  # the bar that checked the options
    cb.set_params(_fit_params())
    cb.on_train_begin()
    cb.on_epoch_begin(0)
    cb.on_train_batch_end(0, {"loss": 3.0})
    cb.on_train_batch_end(2, {"loss": 1.0})
    cb.on_train_batch_end(1, {"loss": 2.0})  # late arrival from Keras's thread pool
    cb.on_test_begin()  # validation inside fit: silent
    cb.on_test_batch_end(0, {"loss": 9.0})
    cb.on_test_end({"loss": 9.0})
    cb.on_epoch_end(0, {"loss": 1.5, "val_loss": 9.0})
    assert len(recording) == 1
    bar = recording[0]
    assert bar.target == 3
    assert bar.options == {"verbose": 1, "style": "keras", "width": 10, "stateless_metrics": ()}
    assert bar.calls == [
        ("write", "Epoch 1/2"),
        ("update", 1, [("loss", 3.0)], False),
        ("update", 3, [("loss", 1.0)], False),
        ("update", 3, [("loss", 1.5), ("val_loss", 9.0)], True),
        ("close",),
    ]
    cb.on_train_end()
    cb.on_test_begin()  # a standalone evaluate after fit has its own bar
    cb.on_test_batch_end(0, {"loss": 9.0})
    cb.on_test_end({"loss": 9.0})
    assert recording[1].calls[-2:] == [("update", 3, [("loss", 9.0)], True), ("close",)]


def test_unknown_target_is_learned_at_epoch_end(recording: list[RecordingBar]) -> None:
    cb = ProgbarLogger()
    recording.clear()
    cb.set_params(_fit_params(steps=None))
    cb.on_train_begin()
    for epoch in range(2):
        cb.on_epoch_begin(epoch)
        for b in range(4):
            cb.on_train_batch_end(b, {"loss": 1.0})
        cb.on_epoch_end(epoch, {"loss": 1.0})
    first, second = recording
    assert first.target == 4 and ("target", 4) in first.calls
    assert first.calls[-2] == ("update", 4, [("loss", 1.0)], True)
    assert second.target == 4  # the next epoch knows it from the start


def test_verbose_follows_fit_and_can_be_overridden(recording: list[RecordingBar]) -> None:
    cb = ProgbarLogger()
    recording.clear()
    cb.set_params(_fit_params(verbose=2))
    cb.on_epoch_begin(0)
    cb.on_train_batch_end(0, {"loss": 1.0})  # verbose=2: no per-step update
    cb.on_epoch_end(0, {"loss": 1.0})
    assert recording[0].options["verbose"] == 2
    assert [c[0] for c in recording[0].calls] == ["write", "update", "close"]
    cb = ProgbarLogger(verbose=0)
    del recording[1:]
    cb.set_params(_fit_params(verbose=1))
    cb.on_epoch_begin(0)
    assert recording[1].options["verbose"] == 0 and recording[1].calls == []


def test_predict_passes_no_values_and_options_are_checked(
    recording: list[RecordingBar],
) -> None:
    cb = ProgbarLogger(stateful_metrics=["acc"])
    recording.clear()
    cb.set_params(_fit_params(epochs=1, steps=2))
    cb.on_predict_begin()
    cb.on_predict_batch_end(0, {"outputs": np.zeros(3)})
    cb.on_predict_end()
    assert recording[0].calls[0] == ("update", 1, [], False)
    assert recording[0].options["stateful_metrics"] == ["acc"]
    assert "stateless_metrics" not in recording[0].options


def test_options_are_checked_at_construction() -> None:
    with pytest.raises(ValueError, match="style"):
        ProgbarLogger(style="nope")
    with pytest.raises(TypeError, match="target"):
        ProgbarLogger(target=3)


# --------------------------------------------------------------------------- real Keras


def _data() -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(0)
    x = rng.normal(size=(64, 4)).astype("float32")
    return x, x.sum(axis=1, keepdims=True)


def _model() -> Any:
    keras.utils.set_random_seed(0)
    model = keras.Sequential([keras.Input((4,)), keras.layers.Dense(1)])
    model.compile("sgd", "mse", metrics=["mae"])
    return model


def _run(callbacks: list[Any], verbose: Any = "auto") -> tuple[str, Any]:
    x, y = _data()
    out = io.StringIO()
    with contextlib.redirect_stdout(out):
        model = _model()
        history = model.fit(
            x, y, batch_size=16, epochs=2, validation_data=(x[:16], y[:16]),
            callbacks=callbacks, verbose=verbose,
        )
        model.evaluate(x, y, batch_size=16, callbacks=callbacks, verbose=verbose)
        model.predict(x, batch_size=16, callbacks=callbacks, verbose=verbose)
    return out.getvalue(), history


def test_async_batch_callbacks_stay_on_and_keras_adds_no_logger() -> None:
    model = _model()
    ours = ProgbarLogger()
    # Exactly how fit builds its list (add_progbar=verbose != 0).
    cbs = keras.callbacks.CallbackList(
        [ours], add_history=True, add_progbar=True, model=model,
        verbose=1, epochs=1, steps=1,
    )
    assert keras.backend.backend() == "torch"
    assert cbs._async_train and cbs._async_test and cbs._async_predict
    loggers = [c for c in cbs.callbacks if isinstance(c, keras.callbacks.ProgbarLogger)]
    assert loggers == [ours]
    # Keras's own logger would turn async dispatch off: the check is live.
    plain = keras.callbacks.CallbackList([keras.callbacks.ProgbarLogger()], model=model)
    assert not plain._async_train


class ThreadNoting(ProgbarLogger):
    def __init__(self, **options: Any) -> None:
        super().__init__(**options)
        self.threads: set[int] = set()

    def on_train_batch_end(self, batch: int, logs: dict[str, Any] | None = None) -> None:
        self.threads.add(threading.get_ident())
        super().on_train_batch_end(batch, logs)


def test_real_fit_one_display_header_and_history_values() -> None:
    out = io.StringIO()
    cb = ThreadNoting(file=out, dynamic=False)
    text, history = _run([cb])
    assert text == ""  # Keras printed nothing of its own
    lines = out.getvalue().splitlines()
    assert lines[0] == "Epoch 1/2" and lines[2].split(" - ")[0] == "Epoch 2/2"
    for epoch, line in ((0, lines[1]), (1, lines[3])):
        assert line.startswith("4/4 100%")
        shown = " - ".join(
            f"{k}: {history.history[k][epoch]:.4f}" for k in ("loss", "mae", "val_loss", "val_mae")
        )
        assert line.endswith(" - " + shown), line
    assert lines[4].startswith("4/4 100%") and "loss: " in lines[4]  # evaluate
    assert "val_loss" not in lines[4]
    assert lines[5].startswith("4/4 100%") and " - " not in lines[5].split("step/s")[-1]
    assert len(lines) == 6
    # batch-end callbacks ran on Keras's thread pool: async dispatch stayed on
    assert threading.get_ident() not in cb.threads


def test_real_fit_verbose_0_and_2() -> None:
    out = io.StringIO()
    text, _ = _run([ProgbarLogger(file=out, dynamic=False)], verbose=0)
    assert text == "" and out.getvalue() == ""
    out = io.StringIO()
    text, history = _run([ProgbarLogger(file=out, dynamic=True)], verbose=2)
    lines = out.getvalue().splitlines()
    assert text == ""
    assert "\r" not in out.getvalue()
    assert lines[0] == "Epoch 1/2" and lines[2].split(" - ")[0] == "Epoch 2/2"
    assert len(lines) == 6  # one line per epoch, evaluate, predict
    assert lines[3].endswith(f"val_mae: {history.history['val_mae'][1]:.4f}")


@pytest.mark.parametrize("sync", [False, True])
def test_style_keras_equals_keras_own_logger(
    monkeypatch: pytest.MonkeyPatch, sync: bool
) -> None:
    class Ticking(FakeClock):
        """Advances on every read; with async dispatch it stands still (so only
        the final lines render and thread order cannot matter)."""

        def __call__(self) -> float:
            if sync:
                self.now += 0.25
            return self.now

        def time(self) -> float:
            return self()

    # A callback that is not async-safe makes Keras dispatch batch ends in order on
    # the main thread, so that a clock that ticks on every read sees the same reads.
    noop = lambda batch, logs: None  # noqa: E731
    extra = [
        keras.callbacks.LambdaCallback(
            on_train_batch_end=noop, on_test_batch_end=noop, on_predict_batch_end=noop
        )
    ]
    extra = extra if sync else []
    monkeypatch.setattr(keras_progbar_module, "time", Ticking(0.0))
    theirs, _ = _run(list(extra))
    monkeypatch.undo()
    ours, _ = _run(
        [ProgbarLogger(style="keras", clock=Ticking(0.0), dynamic=True, color=True), *extra]
    )
    assert ours == theirs
    assert theirs.count("Epoch") == 2 and ("\b" in theirs) == sync
    out = io.StringIO()
    plain, _ = _run(
        [ProgbarLogger(style="keras", clock=Ticking(0.0), dynamic=True, color=False, file=out),
         *extra]
    )
    assert plain == "" and out.getvalue() == ANSI.sub("", theirs)
