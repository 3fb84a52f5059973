"""progbar.tf_keras.ProgbarLogger: real Keras 2 (``tf_keras``, CPU) runs -- fit_generator,
fit, evaluate, predict -- compared with ``History``, and its logic on tensor logs."""

from __future__ import annotations

import contextlib
import io
import os
import re
from typing import Any, Iterator

import pytest
from conftest import FakeClock

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")  # TensorFlow's start-up chatter
tf_keras = pytest.importorskip("tf_keras", reason="needs tf_keras (the `tf` extra)")
tf = pytest.importorskip("tensorflow")
np = pytest.importorskip("numpy")

from progbar.tf_keras import ProgbarLogger  # noqa: E402


def _data() -> tuple[Any, Any]:
    rng = np.random.default_rng(0)
    x = rng.normal(size=(64, 4)).astype("float32")
    return x, x.sum(axis=1, keepdims=True)


def _model() -> Any:
    tf_keras.utils.set_random_seed(0)
    model = tf_keras.Sequential([tf_keras.layers.Input((4,)), tf_keras.layers.Dense(1)])
    model.compile("sgd", "mse", metrics=["mae"])
    return model


def _batches(x: Any, y: Any, forever: bool = True) -> Iterator[tuple[Any, Any]]:
    while True:
        for i in range(0, len(x), 16):
            yield x[i : i + 16], y[i : i + 16]
        if not forever:
            return


def _shown(history: Any, epoch: int, keys: tuple[str, ...]) -> str:
    return " - ".join(f"{k}: {history.history[k][epoch]:.4f}" for k in keys)


@pytest.mark.parametrize("verbose", [1, 2])
def test_real_fit_generator_one_display_lines_equal_history(
    verbose: int, capfd: pytest.CaptureFixture[str]
) -> None:
    x, y = _data()
    model = _model()
    out = io.StringIO()
    cb = ProgbarLogger(file=out, dynamic=False)
    with pytest.warns(UserWarning, match="fit_generator"):
        history = model.fit_generator(
            _batches(x, y), steps_per_epoch=4, epochs=2, validation_data=(x[:16], y[:16]),
            callbacks=[cb], verbose=verbose,
        )
    model.evaluate(x, y, batch_size=16, callbacks=[cb], verbose=verbose)
    model.predict(x, batch_size=16, callbacks=[cb], verbose=verbose)
    assert capfd.readouterr().out == ""  # Keras printed nothing of its own
    lines = out.getvalue().splitlines()
    assert lines[0] == "Epoch 1/2" and lines[2].split(" - ")[0] == "Epoch 2/2"
    keys = ("loss", "mae", "val_loss", "val_mae")
    for epoch, line in ((0, lines[1]), (1, lines[3])):
        assert line.startswith("4/4 100%"), line
        assert line.endswith(" - " + _shown(history, epoch, keys)), line
    assert lines[4].startswith("4/4 100%") and " - loss: " in lines[4]  # evaluate
    assert "val_loss" not in lines[4]
    assert lines[5].startswith("4/4 100%") and " - " not in lines[5]  # predict
    assert len(lines) == 6


def test_keras2_style_and_unknown_length_learnt_from_the_counter() -> None:
    x, y = _data()
    model = _model()
    out, classic = io.StringIO(), io.StringIO()
    history = model.fit(
        _batches(x, y, forever=False), epochs=1, verbose=2,
        callbacks=[ProgbarLogger(file=out, dynamic=False),
                   ProgbarLogger(file=classic, dynamic=False, style="keras2")],
    )
    keys = ("loss", "mae")
    (line,) = out.getvalue().splitlines()
    # steps=None: no batch hook ran under verbose=2, the count comes from the model
    assert line.startswith("4/4 100%"), line
    assert line.endswith(" - " + _shown(history, 0, keys)), line
    # Keras 2's own verbose=2 line: elapsed seconds, then the values History holds.
    (first,) = classic.getvalue().splitlines()
    assert re.fullmatch(r" - \d+s - " + re.escape(_shown(history, 0, keys)), first), first


def test_fit_adds_no_logger_of_its_own() -> None:
    model = _model()
    ours = ProgbarLogger()
    cbs = tf_keras.callbacks.CallbackList(
        [ours], add_history=True, add_progbar=True, model=model, verbose=1, epochs=1, steps=1,
    )
    loggers = [c for c in cbs.callbacks if isinstance(c, tf_keras.callbacks.ProgbarLogger)]
    assert loggers == [ours]


def test_tensor_logs_and_verbose_override() -> None:
    out = io.StringIO()
    # driven by hand, with no model to learn metric names from: named as stateful
    cb = ProgbarLogger(file=out, dynamic=True, stateful_metrics=["loss", "acc"])
    cb.set_params({"verbose": 1, "epochs": 1, "steps": 2})
    cb.on_train_begin()
    cb.on_epoch_begin(0)
    cb.on_train_batch_end(0, {"loss": tf.constant(2.0), "acc": tf.constant(0.5)})
    cb.on_train_batch_end(1, {"loss": tf.constant(1.5), "acc": tf.constant(0.75)})
    cb.on_epoch_end(0, {"loss": tf.constant(1.5), "acc": tf.constant(0.75)})
    final = out.getvalue().rsplit("\r", 1)[-1]
    assert final.startswith("2/2") and final.rstrip().endswith("loss: 1.5000 - acc: 0.7500")
    quiet = io.StringIO()
    cb = ProgbarLogger(file=quiet, verbose=0)
    cb.set_params({"verbose": 1, "epochs": 2, "steps": 2})
    cb.on_epoch_begin(0)
    cb.on_train_batch_end(0, {"loss": 1.0})
    cb.on_epoch_end(0, {"loss": 1.0})
    assert quiet.getvalue() == ""
    assert not cb._implements_train_batch_hooks()  # verbose=0/2: no per-batch work


def test_options_are_checked_at_construction() -> None:
    with pytest.raises(ValueError, match="style"):
        ProgbarLogger(style="nope")
    with pytest.raises(TypeError, match="target"):
        ProgbarLogger(target=3)


# --------------------------------------------------------------------------- tf_keras's own


class _ExtraLogs(tf_keras.Model):  # type: ignore[misc]
    """A custom train_step returning entries that are not model metrics: tf_keras's
    own logger averages those over the epoch (model metrics are running means)."""

    def train_step(self, data: Any) -> Any:
        logs = super().train_step(data)
        logs["extra"] = tf.cast(self._train_counter, tf.float32) * 1.5  # 0, 1.5, 3, ...
        logs["gap"] = logs["loss"] - logs["mae"]  # a tensor, different at each step
        return logs


def _extra_model() -> Any:
    tf_keras.utils.set_random_seed(0)
    inputs = tf_keras.layers.Input((4,))
    model = _ExtraLogs(inputs, tf_keras.layers.Dense(1)(inputs))
    model.compile("sgd", "mse", metrics=["mae"])
    return model


class _AddsAtEpochEnd(tf_keras.callbacks.Callback):  # type: ignore[misc]
    def on_epoch_end(self, epoch: int, logs: dict[str, Any] | None = None) -> None:
        if logs is not None:
            logs["late"] = 0.25 * (epoch + 1)


@pytest.mark.parametrize("verbose", [1, 2])
def test_real_custom_train_step_equals_tf_keras_own_logger_byte_for_byte(
    verbose: int, monkeypatch: pytest.MonkeyPatch
) -> None:
    # tf_keras's own logger and ours (style="tf_keras") watch the same run: same logs,
    # same frozen clock (tf_keras reads its module's `time`; ours takes clock=), both
    # redrawing in place as tf_keras does on Linux.  Their output is the same bytes:
    # the model's metrics as passed, `extra` and `gap` averaged over the epoch.
    from tf_keras.src.utils import generic_utils

    frozen = FakeClock(1000.0)
    monkeypatch.setattr(generic_utils, "time", frozen)
    x, y = _data()
    model = _extra_model()
    ours = io.StringIO()
    theirs = io.StringIO()
    with contextlib.redirect_stdout(theirs):
        history = model.fit(
            x, y, batch_size=16, epochs=2, validation_data=(x[:16], y[:16]),
            verbose=verbose,
            callbacks=[_AddsAtEpochEnd(), tf_keras.callbacks.ProgbarLogger(count_mode="steps"),
                       ProgbarLogger(file=ours, dynamic=True, style="tf_keras", clock=frozen)],
        )
        model.evaluate(x, y, batch_size=16, verbose=verbose, callbacks=[
            tf_keras.callbacks.ProgbarLogger(count_mode="steps"),
            ProgbarLogger(file=ours, dynamic=True, style="tf_keras", clock=frozen)])
    assert ours.getvalue() == theirs.getvalue()
    final = ours.getvalue().split("Epoch 2/2\n")[1].split("\n")[0].rsplit("\r", 1)[-1]
    # verbose=1: `extra` is the mean of the epoch's values (+ the epoch-end value once
    # more, as tf_keras does: (6 + 7.5 + 9 + 10.5 + 10.5) / 5), not the last one that
    # History holds; verbose=2 calls no batch hook, so there is only that one.
    assert history.history["extra"][1] == 10.5
    assert f" - extra: {8.7 if verbose == 1 else 10.5:.4f} - " in final, final
    assert f" - loss: {history.history['loss'][1]:.4f} - " in final
    assert " - val_mae: " in final and " - late: 0.5000" in final  # listed before: in


def test_real_callback_listed_after_the_logger_misses_the_epoch_line() -> None:
    # Why the logger goes last (as Keras puts its own): callbacks run in list order.
    x, y = _data()
    first, last = io.StringIO(), io.StringIO()
    _model().fit(x, y, batch_size=16, epochs=1, verbose=2, callbacks=[
        ProgbarLogger(file=first, dynamic=False), _AddsAtEpochEnd(),
    ])
    _model().fit(x, y, batch_size=16, epochs=1, verbose=2, callbacks=[
        _AddsAtEpochEnd(), ProgbarLogger(file=last, dynamic=False),
    ])
    assert "late" not in first.getvalue() and " - late: 0.2500" in last.getvalue()
