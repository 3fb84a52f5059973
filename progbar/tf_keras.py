"""Keras 2 adapter (``tf_keras``, TensorFlow's ``TF_USE_LEGACY_KERAS=1`` Keras):
:class:`ProgbarLogger`, a drop-in for Keras 2's own progress bar.

::

    from progbar.tf_keras import ProgbarLogger

    model.fit(x, y, epochs=3, validation_data=(xv, yv), callbacks=[ProgbarLogger()])
    model.fit_generator(batches(), steps_per_epoch=100, epochs=3,
                        callbacks=[ProgbarLogger()])

It subclasses ``tf_keras.callbacks.ProgbarLogger``, so ``fit`` sees a progress-bar
logger in the list and adds none of its own (one display, never two).  It counts
steps (Keras 2's default, ``count_mode="samples"``, shows ``0/Unknown`` under
``fit``).  As in tf_keras's own logger, the model's metrics are running means already
and are shown as passed, while every other entry of the logs (what a custom
``train_step`` returns besides them) is averaged over the epoch; values may be
TensorFlow tensors, converted only when a line is drawn.  ``style="tf_keras"`` draws
exactly what tf_keras's own logger draws.

Put it last in ``callbacks=[...]``, where Keras puts its own logger: callbacks run in
list order, and an entry another callback adds to the logs at epoch end (a learning
rate, a custom metric) reaches the epoch's line only if that callback ran first.
Importing this module imports ``tf_keras`` (and TensorFlow); ``import progbar``
alone never does.
"""

from __future__ import annotations

from typing import Any

import tf_keras  # type: ignore[import-untyped, import-not-found, unused-ignore]

from progbar import Progbar
from progbar.fit_logger import FitLoggerHooks

__all__ = ["ProgbarLogger"]


class ProgbarLogger(FitLoggerHooks, tf_keras.callbacks.ProgbarLogger):  # type: ignore[misc]
    """Keras 2's progress bar, drawn by :class:`progbar.Progbar`.

    Args:
        **options: any :class:`progbar.Progbar` argument but ``target`` (``width``,
            ``interval``, ``style``, ``file``, ``dynamic``, ``color``, ``clock``,
            ...).  ``style="tf_keras"`` gives tf_keras's own bytes, ``"keras2"`` the
            classic Keras 2 bar, the default ours.  ``verbose`` defaults to the
            ``verbose`` given to ``fit``, ``fit_generator``, ``evaluate`` or
            ``predict``; pass it to override.  As tf_keras's logger, the model's
            metrics (``model.metrics``: ``loss``, compiled metrics) are shown as
            passed and every other entry is averaged; ``stateful_metrics`` adds
            names to those shown as passed (as tf_keras's ``stateful_metrics``),
            ``stateless_metrics`` lists the averaged ones instead (Keras 3's
            meaning: the rest, model metrics included, shown as passed).

    Put it last in ``callbacks=[...]`` (where Keras puts its own logger), so that
    entries other callbacks add to the logs reach the epoch's line.

    From the second epoch on, the header says how long the whole ``fit`` has left
    (validation included) and, past ten minutes, when it will be done: ``Epoch 3/40
    - 1:02:13 left, done ~14:32``; :attr:`eta` is that estimate in seconds.  With
    ``may_stop_early=True`` (an ``EarlyStopping`` in the list: Keras tells a callback
    nothing of the others) it is an upper bound, ``≤ 1:02:13 left``.  A resumed
    ``fit`` (``initial_epoch``) counts only the epochs it runs.

    ``fit`` shows ``Epoch i/N`` (when N > 1), one bar per epoch, and at epoch end its
    final line with the training and validation metrics (the values ``History``
    records); validation inside ``fit`` is silent, as in Keras.  ``evaluate`` and
    ``predict`` show their own bars.  Under ``verbose=2`` Keras calls no batch hook
    (nothing to draw per step) and each epoch prints its final line only.
    """

    def __init__(self, **options: Any) -> None:
        super().__init__(count_mode="steps")
        if "target" in options or "total" in options:
            raise TypeError("ProgbarLogger takes its target from Keras; do not pass target")
        self._verbose_option: int | None = options.pop("verbose", None)
        self._may_stop_early = bool(options.pop("may_stop_early", False))
        # Check the options now, where the mistake is, not at the first batch.
        Progbar(None, verbose=0, **options)
        if self._verbose_option is not None:
            Progbar(None, verbose=self._verbose_option)
        # Unless stateless_metrics says otherwise, the model's metrics are learnt as
        # tf_keras's logger learns them: once built, after the model's first step.
        self._learns_model_metrics = "stateless_metrics" not in options
        if self._learns_model_metrics:
            options["stateful_metrics"] = frozenset(options.get("stateful_metrics") or ())
        self._options = options
        self._bar: Progbar[Any] | None = None
        self._stateful: frozenset[str] = frozenset()  # model metrics the bar knows

    # ------------------------------------------------------------------ Keras hooks

    def set_params(self, params: dict[str, Any]) -> None:
        """Called by Keras with ``fit``'s parameters: takes ``verbose`` from them unless
        ``verbose`` was passed to this logger."""
        super().set_params(params)
        # As Keras 2's logger: batch hooks only where a live bar needs them (so
        # verbose=2 adds nothing to the step); an unknown length is read from the
        # model's step counters at the end.
        self._call_batch_hooks = self.verbose == 1
        if self.target is None:
            model = getattr(self, "model", None)
            self._train_step = getattr(model, "_train_counter", None)
            self._test_step = getattr(model, "_test_counter", None)
            self._predict_step = getattr(model, "_predict_counter", None)

    # ------------------------------------------------------------------ internals

    def _new_bar(self) -> Progbar[Any]:
        self.seen = 0
        options = self._options
        if self._learns_model_metrics:
            self._stateful = self._model_metric_names()
            options = dict(options, stateful_metrics=options["stateful_metrics"] | self._stateful)
        bar: Progbar[Any] = Progbar(self.target, verbose=self.verbose, **options)
        self._bar = bar
        return bar

    def _model_metric_names(self) -> frozenset[str]:
        try:
            return frozenset(m.name for m in self.model.metrics)
        except Exception:  # no model (a callback driven by hand), or not built
            return frozenset()

    def _learn_model_metrics(self, bar: Progbar[Any]) -> None:
        """The model's metrics appear after its first step (``model.metrics`` is
        empty before): from then on they are shown as passed, as tf_keras does."""
        if self._learns_model_metrics:
            names = self._model_metric_names()
            if not names <= self._stateful:
                bar.add_stateful_metrics(names - self._stateful)
                self._stateful = self._stateful | names

    def _update(self, batch: int, logs: dict[str, Any] | None) -> None:
        bar = self._bar
        if bar is None:
            bar = self._new_bar()
        self.seen = batch + 1  # one-indexed
        if self.verbose == 1:
            self._learn_model_metrics(bar)
            bar.update(self.seen, list((logs or {}).items()), finalize=False)

    def _finalize(self, logs: dict[str, Any] | None, phase: str) -> None:
        counter = {"train": self._train_step, "test": self._test_step,
                   "predict": self._predict_step}[phase]
        if phase == "predict":
            logs = None  # the predictions, not metrics
        bar = self._bar
        if bar is None:
            bar = self._new_bar()
        self._bar = None
        self._learn_model_metrics(bar)
        target = self.target
        if target is None:  # an iterator of unknown length: now it is known
            steps = 0
            if counter is not None:
                try:
                    steps = int(counter.numpy())
                except Exception:
                    steps = 0
            target = self.target = steps or self.seen
            bar.target = target
        bar.update(target, list((logs or {}).items()), finalize=True)
        bar.close()
