"""Lightning adapter: :class:`ProgbarCallback`, the Keras display for a ``Trainer``.

::

    from progbar.lightning import ProgbarCallback

    trainer = lightning.Trainer(max_epochs=3, callbacks=[ProgbarCallback()])

It is a ``lightning.pytorch.callbacks.ProgressBar``, so it replaces Lightning's tqdm
bar.  Importing this module imports Lightning; ``import progbar`` alone never does.
"""

from __future__ import annotations

import math
from typing import Any

import lightning.pytorch as pl
from lightning.pytorch.callbacks import ProgressBar

from progbar import Progbar, format_epoch

__all__ = ["ProgbarCallback"]


def _target(total: Any) -> int | None:
    """A Lightning batch count (a number, ``inf``, or a list per dataloader) as a target."""
    if isinstance(total, list):
        try:
            total = sum(total)
        except TypeError:
            return None
    if not isinstance(total, (int, float)) or not math.isfinite(total):
        return None
    return int(total)


class ProgbarCallback(ProgressBar):
    """Lightning's progress bar, drawn by :class:`progbar.Progbar` as Keras draws it.

    Args:
        **options: any :class:`progbar.Progbar` argument but ``target`` (``style``,
            ``file``, ``dynamic``, ``color``, ``clock``, ``verbose``, ...).  Unless
            ``stateful_metrics`` or ``stateless_metrics`` is given, metrics are shown
            as Lightning reports them (it already reduces what is logged with
            ``on_epoch=True``), as its own bar does.

    ``fit`` shows ``Epoch i/N`` (when N > 1) and one bar per training epoch with the
    ``prog_bar=True`` metrics; validation inside ``fit`` shows a transient bar under
    the training bar (``label="validation"``, gone when it ends) and its metrics join
    the epoch's final line, as in Keras (the sanity check is silent).
    ``validate``, ``test`` and ``predict`` show their own bars.  Only global rank 0
    prints (Lightning disables the bar elsewhere).
    """

    def __init__(self, **options: Any) -> None:
        super().__init__()
        if "target" in options:
            raise TypeError("ProgbarCallback takes its target from the Trainer; do not pass it")
        if "stateful_metrics" not in options and "stateless_metrics" not in options:
            options["stateless_metrics"] = ()
        Progbar(None, **dict(options, verbose=0))  # check the options now
        self._options = options
        self._enabled = True
        self._train_bar: Progbar[Any] | None = None
        self._eval_bar: Progbar[Any] | None = None
        self._eval_seen = 0

    # ------------------------------------------------------------------ ProgressBar API

    @property
    def is_enabled(self) -> bool:
        """Whether the bar draws (Lightning's ``ProgressBar`` interface)."""
        return self._enabled

    @property
    def is_disabled(self) -> bool:
        """Whether the bar is silenced (Lightning's ``ProgressBar`` interface)."""
        return not self._enabled

    def disable(self) -> None:
        """Silence the bar; Lightning calls it on every process but global rank 0."""
        self._enabled = False

    def enable(self) -> None:
        """Let the bar draw again (Lightning's ``ProgressBar`` interface)."""
        self._enabled = True

    def print(self, *args: Any, sep: str = " ", **kwargs: Any) -> None:
        """Print a line above the active bar (``LightningModule.print`` lands here)."""
        bar = self._eval_bar or self._train_bar
        if bar is not None:
            bar.write(sep.join(map(str, args)))
        else:
            print(*args, sep=sep, **kwargs)

    def __getstate__(self) -> dict[str, Any]:
        # Bars hold streams; a spawned process starts without them.
        state = self.__dict__.copy()
        state["_train_bar"] = state["_eval_bar"] = None
        return state

    # ------------------------------------------------------------------ training

    def on_train_epoch_start(self, trainer: pl.Trainer, pl_module: pl.LightningModule) -> None:
        self._close(self._train_bar)
        bar = self._train_bar = self._new_bar(self.total_train_batches)
        max_epochs = trainer.max_epochs
        if max_epochs is None or max_epochs < 0:
            bar.write(format_epoch(trainer.current_epoch + 1))
        elif max_epochs > 1:
            bar.write(format_epoch(trainer.current_epoch + 1, max_epochs))

    def on_train_batch_end(
        self,
        trainer: pl.Trainer,
        pl_module: pl.LightningModule,
        outputs: Any,
        batch: Any,
        batch_idx: int,
    ) -> None:
        bar = self._train_bar
        if bar is not None:
            bar.update(batch_idx + 1, self._metrics(trainer, pl_module), finalize=False)

    def on_train_epoch_end(self, trainer: pl.Trainer, pl_module: pl.LightningModule) -> None:
        # Validation at the end of the epoch has run by now: its metrics are in.
        bar = self._train_bar
        if bar is not None:
            if bar.target is None:
                bar.target = int(bar.current)
            bar.update(bar.current, self._metrics(trainer, pl_module), finalize=True)
            self._close(bar)
            self._train_bar = None

    def on_train_end(self, trainer: pl.Trainer, pl_module: pl.LightningModule) -> None:
        self._close(self._train_bar)  # an interrupted epoch
        self._train_bar = None

    # ------------------------------------------------------------------ evaluation

    def on_validation_start(self, trainer: pl.Trainer, pl_module: pl.LightningModule) -> None:
        if trainer.sanity_checking:
            return
        if trainer.state.fn == "fit":
            # Inside fit: a transient bar under the training bar (its line goes away
            # when validation ends); its metrics join the epoch's final line.
            self._start_eval(trainer.num_val_batches, transient=True)
        else:
            self._start_eval(trainer.num_val_batches)

    def on_validation_batch_end(
        self,
        trainer: pl.Trainer,
        pl_module: pl.LightningModule,
        outputs: Any,
        batch: Any,
        batch_idx: int,
        dataloader_idx: int = 0,
    ) -> None:
        self._step_eval(trainer, pl_module)

    def on_validation_end(self, trainer: pl.Trainer, pl_module: pl.LightningModule) -> None:
        self._end_eval(trainer, pl_module)

    def on_test_start(self, trainer: pl.Trainer, pl_module: pl.LightningModule) -> None:
        self._start_eval(trainer.num_test_batches)

    def on_test_batch_end(
        self,
        trainer: pl.Trainer,
        pl_module: pl.LightningModule,
        outputs: Any,
        batch: Any,
        batch_idx: int,
        dataloader_idx: int = 0,
    ) -> None:
        self._step_eval(trainer, pl_module)

    def on_test_end(self, trainer: pl.Trainer, pl_module: pl.LightningModule) -> None:
        self._end_eval(trainer, pl_module)

    def on_predict_start(self, trainer: pl.Trainer, pl_module: pl.LightningModule) -> None:
        self._start_eval(trainer.num_predict_batches)

    def on_predict_batch_end(
        self,
        trainer: pl.Trainer,
        pl_module: pl.LightningModule,
        outputs: Any,
        batch: Any,
        batch_idx: int,
        dataloader_idx: int = 0,
    ) -> None:
        self._step_eval(trainer, pl_module, with_metrics=False)  # predictions: no metrics

    def on_predict_end(self, trainer: pl.Trainer, pl_module: pl.LightningModule) -> None:
        self._end_eval(trainer, pl_module, with_metrics=False)

    # ------------------------------------------------------------------ internals

    def _new_bar(self, total: Any, transient: bool = False) -> Progbar[Any]:
        options = self._options if self._enabled else dict(self._options, verbose=0)
        if transient:
            options = {k: v for k, v in options.items() if k not in ("label", "desc")}
            options.update(label="validation", leave=False)
        return Progbar(_target(total), **options)

    def _metrics(self, trainer: pl.Trainer, pl_module: pl.LightningModule) -> Any:
        return list(self.get_metrics(trainer, pl_module).items())

    def _start_eval(self, totals: Any, transient: bool = False) -> None:
        self._close(self._eval_bar)
        self._eval_bar = self._new_bar(totals, transient)
        self._eval_seen = 0

    def _step_eval(
        self, trainer: pl.Trainer, pl_module: pl.LightningModule, with_metrics: bool = True
    ) -> None:
        bar = self._eval_bar
        if bar is not None:
            self._eval_seen += 1
            values = self._metrics(trainer, pl_module) if with_metrics else None
            bar.update(self._eval_seen, values, finalize=False)

    def _end_eval(
        self, trainer: pl.Trainer, pl_module: pl.LightningModule, with_metrics: bool = True
    ) -> None:
        bar = self._eval_bar
        if bar is None:
            return
        if bar.target is None:
            bar.target = self._eval_seen
        values = self._metrics(trainer, pl_module) if with_metrics else None
        bar.update(self._eval_seen, values, finalize=True)
        self._close(bar)
        self._eval_bar = None

    @staticmethod
    def _close(bar: Progbar[Any] | None) -> None:
        if bar is not None:
            bar.close()
