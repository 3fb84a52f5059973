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

from progbar import Progbar
from progbar.fit_logger import FitLoggerHooks

__all__ = ["ProgbarLogger"]


class ProgbarLogger(FitLoggerHooks, keras.callbacks.ProgbarLogger):  # type: ignore[misc]
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

    From the second epoch on, the header says how long the whole ``fit`` has left
    (validation included) and, past ten minutes, when it will be done: ``Epoch 3/40
    - 1:02:13 left, done ~14:32``; :attr:`eta` is that estimate in seconds.  With
    ``may_stop_early=True`` (an ``EarlyStopping`` in the list: Keras tells a callback
    nothing of the others) it is an upper bound, ``≤ 1:02:13 left``.  A resumed
    ``fit`` (``initial_epoch``) counts only the epochs it runs.
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
        self._may_stop_early = bool(options.pop("may_stop_early", False))
        if "stateful_metrics" not in options and "stateless_metrics" not in options:
            options["stateless_metrics"] = ()
        # Check the options now, where the mistake is, not at the first batch.
        Progbar(None, verbose=0, **options)
        if self._verbose_option is not None:
            Progbar(None, verbose=self._verbose_option)
        self._options = options
        self._lock = threading.Lock()
        self._bar: Progbar[Any] | None = None

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

    def _finalize(self, logs: dict[str, Any] | None, phase: str) -> None:
        with self._lock:
            bar = self._bar
            if bar is None:
                bar = self._bar = Progbar(self.target, verbose=self.verbose, **self._options)
            if self.target is None:  # an iterator of unknown length: now it is known
                self.target = self.seen
                bar.target = self.seen
            bar.update(self.target, list((logs or {}).items()), finalize=True)
            bar.close()
