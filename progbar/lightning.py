"""Lightning adapter: :class:`ProgbarCallback`, the Keras display for a ``Trainer``.

::

    from progbar.lightning import ProgbarCallback

    trainer = lightning.Trainer(max_epochs=3, callbacks=[ProgbarCallback()])

It is a ``lightning.pytorch.callbacks.ProgressBar``, so it replaces Lightning's tqdm
bar.  Importing this module imports Lightning; ``import progbar`` alone never does.
"""

from __future__ import annotations

import builtins
import math
import pickle
import sys
from typing import Any

import lightning.pytorch as pl
from lightning.pytorch.callbacks import ProgressBar

from progbar import Progbar, format_epoch
from progbar.fit_logger import EpochRun

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

    ``fit`` shows ``Epoch i/N`` (when N > 1; from the second epoch on with the run's
    time left, ``Epoch 3/40 - 1:02:13 left, done ~14:32``, an upper bound ``≤`` with
    ``EarlyStopping`` or ``max_time``: :attr:`eta`) and one bar per training epoch with the
    ``prog_bar=True`` metrics; validation inside ``fit`` shows a transient bar under
    the training bar (``label="validation"``, gone when it ends) and its metrics join
    the epoch's final line, as in Keras (the sanity check is silent).
    ``validate``, ``test`` and ``predict`` show their own bars, labelled as
    Lightning's own bars label them (``Validation``, ``Testing``, ``Predicting``:
    the ``*_description`` properties, which a subclass may override) unless a
    ``label`` is given.  Only global rank 0 prints (Lightning disables the bar
    elsewhere).

    Like Lightning's own bars it stops cleanly when ``fit`` (or any stage) ends in an
    exception or Ctrl-C (:meth:`on_exception`: its bars are closed, none is drawn
    again by a later ``validate``); it pickles whatever ``file`` it was given
    (``ddp_spawn``: ``sys.stdout``/``sys.stderr`` by name, a file opened by path by
    its path, reopened for appending); and ``LightningModule.print(...)`` keeps its
    ``file``/``end``/``sep`` (see :meth:`print`).
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
        self._pending = ""  # print(..., end="") text that waits for its line's end
        self._run: EpochRun | None = None  # the whole fit's estimate

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

    def print(
        self, *args: Any, sep: str | None = " ", end: str | None = "\n", file: Any = None,
        flush: bool = False,
    ) -> None:
        """``print()`` that keeps the bars whole (``LightningModule.print`` lands here).

        Text for the screen a bar is drawn on (``file=None`` is ``sys.stdout``; on a
        terminal ``sys.stderr`` shares it) goes above the bar through its
        :meth:`~progbar.Progbar.write`: whole lines at once, a partial line
        (``end=""``) waits for the rest of its line or for the bar's end.  Any other
        ``file``, or no bar open, gets exactly what ``print`` would write there.
        """
        text = (" " if sep is None else sep).join(map(str, args)) + ("\n" if end is None else end)
        bar = self._active_bar()
        stream = sys.stdout if file is None else file
        if bar is None or not _same_screen(bar, stream):
            builtins.print(text, end="", file=file, flush=flush)
            return
        self._pending += text
        if "\n" in self._pending:
            lines, _, self._pending = self._pending.rpartition("\n")
            bar.write(lines)

    def on_exception(
        self, trainer: pl.Trainer, pl_module: pl.LightningModule, exception: BaseException
    ) -> None:
        """An exception or Ctrl-C ended the stage: close the bars, so that no later
        stage (a ``validate`` after an interrupted ``fit``) draws them again."""
        self._close(self._eval_bar)
        self._eval_bar = None
        self._close(self._train_bar)
        self._train_bar = None
        if self._run is not None:
            self._run.close()

    def __getstate__(self) -> dict[str, Any]:
        # Bars hold streams; a spawned process starts without them.  A ``file``
        # option is pickled by what names it (see _StreamByName), never as a stream.
        state = self.__dict__.copy()
        state["_train_bar"] = state["_eval_bar"] = state["_run"] = None
        if "file" in self._options:
            state["_options"] = dict(self._options, file=_StreamByName.of(self._options["file"]))
        return state

    def __setstate__(self, state: dict[str, Any]) -> None:
        options = state.get("_options", {})
        if isinstance(options.get("file"), _StreamByName):
            state["_options"] = dict(options, file=options["file"].resolve())
        self.__dict__.update(state)

    # ------------------------------------------------------------------ training

    @property
    def eta(self) -> float | None:
        """Seconds left in the ``fit`` under way as estimated now -- the epochs to
        come, validation included -- or in the last one (0.0 once done); None before
        it can tell.  An upper bound when the run may stop early (an ``EarlyStopping``
        callback, or ``max_time``)."""
        return self._run.eta if self._run is not None else None

    def on_train_start(self, trainer: pl.Trainer, pl_module: pl.LightningModule) -> None:
        from lightning.pytorch.callbacks import EarlyStopping, Timer

        callbacks = getattr(trainer, "callbacks", [])
        may_stop_early = any(isinstance(cb, (EarlyStopping, Timer)) for cb in callbacks)
        self._run = EpochRun.for_options(self._options, may_stop_early)

    def on_train_epoch_start(self, trainer: pl.Trainer, pl_module: pl.LightningModule) -> None:
        self._open_epoch(trainer, 0)

    def on_train_batch_start(
        self, trainer: pl.Trainer, pl_module: pl.LightningModule, batch: Any, batch_idx: int,
    ) -> None:
        # A run resumed from a checkpoint saved mid-epoch (``fit(ckpt_path=...)``) starts
        # there with no on_train_epoch_start: the epoch's bar starts at the batches
        # already done, so its rate and ETA count this run's work only.
        if self._train_bar is None:
            self._open_epoch(trainer, batch_idx)

    def _open_epoch(self, trainer: pl.Trainer, done: int) -> None:
        self._close(self._train_bar)
        max_epochs = trainer.max_epochs
        epochs = max_epochs if max_epochs is not None and max_epochs > 0 else None
        run = self._run
        if run is not None:  # before the epoch's bar: it is the run's inner bar
            total = _target(self.total_train_batches)
            run.begin_epoch(trainer.current_epoch, epochs, done / total if total else 0.0)
        bar = self._train_bar = self._new_bar(self.total_train_batches, initial=done)
        if epochs is None:
            bar.write(format_epoch(trainer.current_epoch + 1))
        elif epochs > 1:
            bar.write(run.header(trainer.current_epoch, epochs) if run is not None
                      else format_epoch(trainer.current_epoch + 1, epochs))

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
        if self._run is not None:
            self._run.end_epoch(trainer.current_epoch)

    def on_train_end(self, trainer: pl.Trainer, pl_module: pl.LightningModule) -> None:
        self._close(self._train_bar)  # an interrupted epoch
        self._train_bar = None
        if self._run is not None:
            self._run.close()

    # ------------------------------------------------------------------ evaluation

    def on_validation_start(self, trainer: pl.Trainer, pl_module: pl.LightningModule) -> None:
        if trainer.sanity_checking:
            return
        if trainer.state.fn == "fit":
            # Inside fit: a transient bar under the training bar (its line goes away
            # when validation ends); its metrics join the epoch's final line.
            self._start_eval(trainer.num_val_batches, transient=True)
        else:
            self._start_eval(trainer.num_val_batches, label=self.validation_description)

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
        self._start_eval(trainer.num_test_batches, label=self.test_description)

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
        self._start_eval(trainer.num_predict_batches, label=self.predict_description)

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

    def _new_bar(
        self, total: Any, transient: bool = False, label: str | None = None, initial: int = 0,
    ) -> Progbar[Any]:
        options = self._options if self._enabled else dict(self._options, verbose=0)
        if initial:
            options = dict(options, initial=initial)
        if transient:
            options = {k: v for k, v in options.items() if k not in ("label", "desc")}
            options.update(label="validation", leave=False)
        elif label is not None and "label" not in options and "desc" not in options:
            options = dict(options, label=label)
        return Progbar(_target(total), **options)

    def _active_bar(self) -> Progbar[Any] | None:
        bar = self._eval_bar or self._train_bar
        return bar if bar is not None and bar.verbose and self._enabled else None

    def _metrics(self, trainer: pl.Trainer, pl_module: pl.LightningModule) -> Any:
        return list(self.get_metrics(trainer, pl_module).items())

    def _start_eval(
        self, totals: Any, transient: bool = False, label: str | None = None
    ) -> None:
        self._close(self._eval_bar)
        self._eval_bar = self._new_bar(totals, transient, label)
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

    def _close(self, bar: Progbar[Any] | None) -> None:
        if bar is None:
            return
        if self._pending and bar is self._active_bar():
            pending, self._pending = self._pending, ""
            bar.write(pending)  # a partial printed line: its line ends with the bar
        bar.close()


def _isatty(stream: object) -> bool:
    try:
        return bool(stream.isatty())  # type: ignore[attr-defined]
    except Exception:  # no isatty, a closed stream...
        return False


def _same_screen(bar: Progbar[Any], stream: object) -> bool:
    """Would text on ``stream`` land where ``bar`` draws?  Its own stream, or two
    terminals (stdout and stderr of one console)."""
    return stream is bar.stream or (bar.live and _isatty(stream) and _isatty(bar.stream))


class _StreamByName:
    """A ``file=`` option as pickled: ``sys.stdout``/``sys.stderr`` by name (resolved
    again in the process that unpickles it), a file opened by path by its path
    (reopened for appending there: never truncated), a stream that pickles as it
    is, and anything else (a socket's file, a pipe object) as None, which is
    ``sys.stdout`` -- where Lightning's own bar writes."""

    def __init__(self, kind: str, value: Any = None, encoding: str | None = None) -> None:
        self.kind = kind
        self.value = value
        self.encoding = encoding

    @classmethod
    def of(cls, stream: Any) -> Any:
        for std in ("stdout", "stderr"):
            if stream is getattr(sys, std) or stream is getattr(sys, f"__{std}__"):
                return cls("sys", std)
        if stream is None:
            return None
        path = getattr(stream, "name", None)
        mode = getattr(stream, "mode", "")
        if isinstance(path, str) and isinstance(mode, str) and any(c in mode for c in "wax+"):
            return cls("path", path, getattr(stream, "encoding", None))
        try:
            pickle.dumps(stream)
        except Exception:
            return None
        return stream

    def resolve(self) -> Any:
        if self.kind == "sys":
            return getattr(sys, self.value)
        return open(self.value, "a", encoding=self.encoding)  # noqa: SIM115 (the bar's)
