"""Keras 3 adapter: :class:`ProgbarLogger`, a drop-in for Keras's own progress bar.

::

    from progbar.keras import ProgbarLogger

    model.fit(x, y, epochs=3, validation_data=(xv, yv), callbacks=[ProgbarLogger()])

It subclasses ``keras.callbacks.ProgbarLogger``, so Keras sees a progress-bar logger
in the list and does not add its own (one display, never two).  It declares itself
``async_safe``: Keras 3 keeps dispatching batch-end callbacks on its thread pool, so
the display adds no device sync to the training step.

Put it last in ``callbacks=[...]``, where Keras puts its own logger: callbacks run in
list order, and an entry another callback adds to the logs at epoch end (a learning
rate, a custom metric) reaches the epoch's line only if that callback ran first.
Importing this module imports Keras; ``import progbar`` alone never does.
"""

from __future__ import annotations

import threading
from typing import Any

import keras  # type: ignore[import-untyped]  # Keras ships no type information

from progbar import Progbar, format_epoch

__all__ = ["ProgbarLogger"]


class ProgbarLogger(keras.callbacks.ProgbarLogger):  # type: ignore[misc]
    """Keras's progress bar, drawn by :class:`progbar.Progbar`.

    Args:
        **options: any :class:`progbar.Progbar` argument but ``target`` (``width``,
            ``interval``, ``style``, ``file``, ``dynamic``, ``color``, ``clock``,
            ...).  ``verbose`` defaults to the ``verbose`` given to ``fit``,
            ``evaluate`` or ``predict`` (``"auto"`` means 1); pass it to override.
            Unless ``stateful_metrics`` or ``stateless_metrics`` is given, every
            metric is shown as Keras logged it (Keras's logs are already running
            means), as Keras's own logger does.

    ``fit`` shows ``Epoch i/N`` (when N > 1), one bar per epoch, and at epoch end its
    final line with the training and validation metrics; validation inside ``fit`` is
    silent, as in Keras.  ``evaluate`` and ``predict`` show their own bars.

    Put it last in ``callbacks=[...]`` (where Keras puts its own logger), so that
    entries other callbacks add to the logs reach the epoch's line.
    """

    # Keras 3 reads this before deciding whether batch-end callbacks may run on its
    # thread pool (CallbackList._configure_async_dispatch).  Updates may then arrive
    # from several threads, even out of order: the lock and the ``seen`` check below
    # keep the bar coherent, and Keras flushes all of them before each epoch end.
    async_safe = True

    def __init__(self, **options: Any) -> None:
        super().__init__()
        if "target" in options:
            raise TypeError("ProgbarLogger takes its target from Keras; do not pass target")
        self._verbose_option: int | None = options.pop("verbose", None)
        if "stateful_metrics" not in options and "stateless_metrics" not in options:
            options["stateless_metrics"] = ()
        # Check the options now, where the mistake is, not at the first batch.
        Progbar(None, verbose=0, **options)
        if self._verbose_option is not None:
            Progbar(None, verbose=self._verbose_option)
        self._options = options
        self._lock = threading.Lock()
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
        self._finalize(logs)

    def on_test_begin(self, logs: dict[str, Any] | None = None) -> None:
        if not self._called_in_fit:
            self._new_bar()

    def on_test_batch_end(self, batch: int, logs: dict[str, Any] | None = None) -> None:
        if not self._called_in_fit:
            self._update(batch, logs)

    def on_test_end(self, logs: dict[str, Any] | None = None) -> None:
        if not self._called_in_fit:
            self._finalize(logs)

    def on_predict_begin(self, logs: dict[str, Any] | None = None) -> None:
        self._new_bar()

    def on_predict_batch_end(self, batch: int, logs: dict[str, Any] | None = None) -> None:
        self._update(batch, None)  # the logs hold the predictions, not metrics

    def on_predict_end(self, logs: dict[str, Any] | None = None) -> None:
        self._finalize(logs)

    # ------------------------------------------------------------------ internals

    def _new_bar(self) -> Progbar[Any]:
        with self._lock:
            self.seen = 0
            bar: Progbar[Any] = Progbar(self.target, verbose=self.verbose, **self._options)
            self._bar = bar
            return bar

    def _update(self, batch: int, logs: dict[str, Any] | None) -> None:
        with self._lock:
            bar = self._bar
            if bar is None:
                bar = self._bar = Progbar(self.target, verbose=self.verbose, **self._options)
            seen = batch + 1  # one-indexed
            if seen <= self.seen:  # a late arrival from Keras's thread pool
                return
            self.seen = seen
            if self.verbose == 1:
                bar.update(seen, list((logs or {}).items()), finalize=False)

    def _finalize(self, logs: dict[str, Any] | None) -> None:
        with self._lock:
            bar = self._bar
            if bar is None:
                bar = self._bar = Progbar(self.target, verbose=self.verbose, **self._options)
            if self.target is None:  # an iterator of unknown length: now it is known
                self.target = self.seen
                bar.target = self.seen
            bar.update(self.target, list((logs or {}).items()), finalize=True)
            bar.close()
