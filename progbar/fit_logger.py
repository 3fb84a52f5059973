"""What Keras 3's and tf_keras's progress loggers share: which bar each callback hook
opens, moves and ends.

:class:`FitLoggerHooks` imports no framework; ``progbar.keras.ProgbarLogger`` and
``progbar.tf_keras.ProgbarLogger`` subclass their framework's ``ProgbarLogger`` and
this, and give the three steps their own meaning: ``_new_bar()`` (a bar for an epoch,
an evaluation or a prediction), ``_update(batch, logs)`` (a batch ended) and
``_finalize(logs, phase)`` (``"train"``, ``"test"`` or ``"predict"`` ended).  Another
Keras-like framework's logger can do the same.
"""

from __future__ import annotations

from typing import Any

from ._format import format_epoch
from ._progbar import Progbar

__all__ = ["FitLoggerHooks"]


class FitLoggerHooks:
    """Keras's callback hooks for a progress logger, on three steps of its own.

    Inside ``fit`` validation is silent: its metrics join the epoch's last line.
    ``evaluate`` and ``predict`` on their own get bars of their own.
    """

    verbose: int
    epochs: int
    target: int | None
    _verbose_option: int | None
    _called_in_fit = False

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

    def on_train_end(self, logs: dict[str, Any] | None = None) -> None:
        self._called_in_fit = False

    def on_epoch_begin(self, epoch: int, logs: dict[str, Any] | None = None) -> None:
        bar = self._new_bar()
        if self.verbose and self.epochs > 1:
            bar.write(format_epoch(epoch + 1, self.epochs))

    def on_train_batch_end(self, batch: int, logs: dict[str, Any] | None = None) -> None:
        self._update(batch, logs)

    def on_epoch_end(self, epoch: int, logs: dict[str, Any] | None = None) -> None:
        self._finalize(logs, "train")

    def on_test_begin(self, logs: dict[str, Any] | None = None) -> None:
        if not self._called_in_fit:
            self._new_bar()

    def on_test_batch_end(self, batch: int, logs: dict[str, Any] | None = None) -> None:
        if not self._called_in_fit:
            self._update(batch, logs)

    def on_test_end(self, logs: dict[str, Any] | None = None) -> None:
        if not self._called_in_fit:
            self._finalize(logs, "test")

    def on_predict_begin(self, logs: dict[str, Any] | None = None) -> None:
        self._new_bar()

    def on_predict_batch_end(self, batch: int, logs: dict[str, Any] | None = None) -> None:
        self._update(batch, None)  # the logs hold the predictions, not metrics

    def on_predict_end(self, logs: dict[str, Any] | None = None) -> None:
        self._finalize(logs, "predict")
