"""What Keras 3's and tf_keras's progress loggers share: which bar each callback hook
opens, moves and ends.

:class:`FitLoggerHooks` imports no framework; ``progbar.keras.ProgbarLogger`` and
``progbar.tf_keras.ProgbarLogger`` subclass their framework's ``ProgbarLogger`` and
this, and give the three steps their own meaning: ``_new_bar()`` (a bar for an epoch,
an evaluation or a prediction), ``_update(batch, logs)`` (a batch ended) and
``_finalize(logs, phase)`` (``"train"``, ``"test"`` or ``"predict"`` ended).  Another
Keras-like framework's logger can do the same.

:class:`EpochRun` is the whole run's estimate any trainer adapter keeps (the Lightning
adapter too): a silent epoch bar over the adapter's bars, whose estimate is the run's
(docs/eta.md; design.md, "The estimate").
"""

from __future__ import annotations

from typing import Any, Callable

from ._format import format_epoch
from ._progbar import Progbar

__all__ = ["EpochRun", "FitLoggerHooks"]


class EpochRun:
    """The time left in a training run of epochs, for a trainer adapter.

    A silent epoch bar: the bars the adapter starts on this thread while it counts
    (each epoch's training bar, a silent one timing validation) are its inner bars,
    so its ETA is the run's -- the epochs to come at the pace of the finished ones,
    plus what is left of this one, validation and pauses included.  It starts at the
    first epoch it sees: a resumed run counts only what remains.

    ``may_stop_early``: the run may end before its last epoch (early stopping, a time
    limit): the estimate is an upper bound, and headers say so (``≤``).
    """

    def __init__(self, clock: Callable[[], float] | None = None,
                 may_stop_early: bool = False) -> None:
        self.clock = clock
        self.may_stop_early = may_stop_early
        self._bar: Progbar[Any] | None = None
        self._first: int | None = None  # the first epoch of this run (a resumed one's)

    @classmethod
    def for_options(cls, options: dict[str, Any], may_stop_early: bool) -> EpochRun | None:
        """The run of an adapter whose bars take ``options``; None with a keras style,
        whose headers are Keras's bytes (and whose clock reads are Keras's too)."""
        if options.get("style", "default") != "default":
            return None
        return cls(options.get("clock"), may_stop_early)

    def begin_epoch(self, epoch: int, epochs: int | None, done: float = 0.0) -> None:
        """Epoch ``epoch`` (from 0) of ``epochs`` begins (before its bars start);
        ``done``: the share of it done before this run (resumed mid-epoch)."""
        bar = self._bar
        if bar is None or bar.closed:
            if not epochs or epoch >= epochs:
                return
            self._first = epoch
            start = epoch + min(max(done, 0.0), 0.99)
            bar = self._bar = Progbar(epochs, verbose=0, initial=start, clock=self.clock)
            bar.update(start)  # counting: the bars started from now are its inner bars
            return
        bar.update(epoch)

    def end_epoch(self, epoch: int) -> None:
        """Epoch ``epoch`` (from 0) ended (after its bars closed)."""
        if self._bar is not None and not self._bar.closed:
            self._bar.update(epoch + 1)

    def close(self) -> None:
        if self._bar is not None:
            self._bar.close()

    @property
    def eta(self) -> float | None:
        """Seconds left in the run as estimated now (an upper bound when it may stop
        early); None before the run can tell, 0.0 once it is done."""
        return self._bar.eta if self._bar is not None else None

    def header(self, epoch: int, epochs: int | None) -> str:
        """``Epoch 3/40``, with the run's time left from the second epoch of this run
        on: ``Epoch 3/40 - 1:02:13 left, done ~14:32``."""
        left = None
        if self._first is not None and epoch > self._first:
            left = self.eta
        return format_epoch(epoch + 1, epochs, left, self.may_stop_early)


class FitLoggerHooks:
    """Keras's callback hooks for a progress logger, on three steps of its own.

    Inside ``fit`` validation is silent: its metrics join the epoch's last line.
    ``evaluate`` and ``predict`` on their own get bars of their own.
    """

    verbose: int
    epochs: int
    target: int | None
    _verbose_option: int | None
    _options: dict[str, Any]
    _may_stop_early: bool
    _called_in_fit = False
    _run: EpochRun | None = None
    _val_timer: Progbar[Any] | None = None

    @property
    def eta(self) -> float | None:
        """Seconds left in the ``fit`` under way as estimated now -- the epochs to
        come, validation included -- or in the last one (0.0 once done); None before
        it can tell.  An upper bound with ``may_stop_early=True``."""
        return self._run.eta if self._run is not None else None

    def _new_bar(self) -> Progbar[Any]:
        raise NotImplementedError

    def _update(self, batch: int, logs: dict[str, Any] | None) -> None:
        raise NotImplementedError

    def _finalize(self, logs: dict[str, Any] | None, phase: str) -> None:
        raise NotImplementedError

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
        self._called_in_fit = True
        self._run = EpochRun.for_options(self._options, self._may_stop_early)

    def on_train_end(self, logs: dict[str, Any] | None = None) -> None:
        self._called_in_fit = False
        if self._run is not None:
            self._run.close()

    def on_epoch_begin(self, epoch: int, logs: dict[str, Any] | None = None) -> None:
        run = self._run
        if run is not None:
            run.begin_epoch(epoch, self.epochs)
        bar = self._new_bar()
        if self.verbose and self.epochs > 1:
            bar.write(run.header(epoch, self.epochs) if run is not None
                      else format_epoch(epoch + 1, self.epochs))

    def on_train_batch_end(self, batch: int, logs: dict[str, Any] | None = None) -> None:
        self._update(batch, logs)

    def on_epoch_end(self, epoch: int, logs: dict[str, Any] | None = None) -> None:
        self._finalize(logs, "train")
        if self._run is not None:
            self._run.end_epoch(epoch)

    def on_test_begin(self, logs: dict[str, Any] | None = None) -> None:
        if not self._called_in_fit:
            self._new_bar()
        elif self._run is not None:  # validation inside fit draws nothing, but it is
            # a phase of the run
            self._val_timer = Progbar(None, verbose=0, label="val",
                                      clock=self._options.get("clock"))

    def on_test_batch_end(self, batch: int, logs: dict[str, Any] | None = None) -> None:
        if not self._called_in_fit:
            self._update(batch, logs)

    def on_test_end(self, logs: dict[str, Any] | None = None) -> None:
        if not self._called_in_fit:
            self._finalize(logs, "test")
        elif self._val_timer is not None:
            self._val_timer.close()
            self._val_timer = None

    def on_predict_begin(self, logs: dict[str, Any] | None = None) -> None:
        self._new_bar()

    def on_predict_batch_end(self, batch: int, logs: dict[str, Any] | None = None) -> None:
        self._update(batch, None)  # the logs hold the predictions, not metrics

    def on_predict_end(self, logs: dict[str, Any] | None = None) -> None:
        self._finalize(logs, "predict")
