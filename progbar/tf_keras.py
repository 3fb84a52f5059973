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
``fit``).  Keras 2 logs running means already, so every value is shown as passed;
values may be TensorFlow tensors, converted only when a line is drawn.  Importing
this module imports ``tf_keras`` (and TensorFlow); ``import progbar`` alone never does.
"""

from __future__ import annotations

from typing import Any

import tf_keras  # type: ignore[import-untyped, import-not-found, unused-ignore]

from progbar import Progbar, format_epoch

__all__ = ["ProgbarLogger"]


class ProgbarLogger(tf_keras.callbacks.ProgbarLogger):  # type: ignore[misc]
    """Keras 2's progress bar, drawn by :class:`progbar.Progbar`.

    Args:
        **options: any :class:`progbar.Progbar` argument but ``target`` (``width``,
            ``interval``, ``style``, ``file``, ``dynamic``, ``color``, ``clock``,
            ...).  ``verbose`` defaults to the ``verbose`` given to ``fit``,
            ``fit_generator``, ``evaluate`` or ``predict``; pass it to override.
            Unless ``stateful_metrics`` or ``stateless_metrics`` is given, every
            metric is shown as Keras logged it (Keras 2's logs are running means).

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
        if "stateful_metrics" not in options and "stateless_metrics" not in options:
            options["stateless_metrics"] = ()
        # Check the options now, where the mistake is, not at the first batch.
        Progbar(None, verbose=0, **options)
        if self._verbose_option is not None:
            Progbar(None, verbose=self._verbose_option)
        self._options = options
        self._bar: Progbar[Any] | None = None

    # ------------------------------------------------------------------ Keras hooks

    def set_params(self, params: dict[str, Any]) -> None:
        """Called by Keras with ``fit``'s parameters: takes ``verbose`` from them unless
        ``verbose`` was passed to this logger."""
        verbose = params.get("verbose", 1)
        if verbose == "auto":
            verbose = 1
        if self._verbose_option is not None:
            verbose = self._verbose_option
        self.verbose = verbose
        self.epochs = params.get("epochs", 1)
        self.target = params.get("steps")
        # As Keras 2's logger: batch hooks only where a live bar needs them (so
        # verbose=2 adds nothing to the step); an unknown length is read from the
        # model's step counters at the end.
        self._call_batch_hooks = self.verbose == 1
        if self.target is None:
            model = getattr(self, "model", None)
            self._train_step = getattr(model, "_train_counter", None)
            self._test_step = getattr(model, "_test_counter", None)
            self._predict_step = getattr(model, "_predict_counter", None)

    def on_train_begin(self, logs: dict[str, Any] | None = None) -> None:
        # Inside fit, validation is silent: its metrics join the epoch's last line.
        self._called_in_fit = True

    def on_train_end(self, logs: dict[str, Any] | None = None) -> None:
        self._called_in_fit = False

    def on_epoch_begin(self, epoch: int, logs: dict[str, Any] | None = None) -> None:
        bar = self._new_bar()
        if self.verbose and self.epochs > 1:
            bar.write(format_epoch(epoch + 1, self.epochs))

    def on_train_batch_end(self, batch: int, logs: dict[str, Any] | None = None) -> None:
        self._update(batch, logs)

    def on_epoch_end(self, epoch: int, logs: dict[str, Any] | None = None) -> None:
        self._finalize(logs, self._train_step)

    def on_test_begin(self, logs: dict[str, Any] | None = None) -> None:
        if not self._called_in_fit:
            self._new_bar()

    def on_test_batch_end(self, batch: int, logs: dict[str, Any] | None = None) -> None:
        if not self._called_in_fit:
            self._update(batch, logs)

    def on_test_end(self, logs: dict[str, Any] | None = None) -> None:
        if not self._called_in_fit:
            self._finalize(logs, self._test_step)

    def on_predict_begin(self, logs: dict[str, Any] | None = None) -> None:
        self._new_bar()

    def on_predict_batch_end(self, batch: int, logs: dict[str, Any] | None = None) -> None:
        self._update(batch, None)  # the logs hold the predictions, not metrics

    def on_predict_end(self, logs: dict[str, Any] | None = None) -> None:
        self._finalize(None, self._predict_step)

    # ------------------------------------------------------------------ internals

    def _new_bar(self) -> Progbar[Any]:
        self.seen = 0
        bar: Progbar[Any] = Progbar(self.target, verbose=self.verbose, **self._options)
        self._bar = bar
        return bar

    def _update(self, batch: int, logs: dict[str, Any] | None) -> None:
        bar = self._bar
        if bar is None:
            bar = self._new_bar()
        self.seen = batch + 1  # one-indexed
        if self.verbose == 1:
            bar.update(self.seen, list((logs or {}).items()), finalize=False)

    def _finalize(self, logs: dict[str, Any] | None, counter: Any) -> None:
        bar = self._bar
        if bar is None:
            bar = self._new_bar()
        self._bar = None
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
