"""Hugging Face ``transformers`` adapter: the Keras picture for ``Trainer.train()``.

::

    import progbar.transformers

    trainer = Trainer(model=model, args=args, train_dataset=train, eval_dataset=val)
    progbar.transformers.attach(trainer)      # replaces the Trainer's own tqdm bar
    trainer.train()

gives, through a pipe or in a terminal::

    Epoch 1/2
    10/10 100% 0:04 2.3 step/s - loss: 0.6931 - grad_norm: 0.1184 - learning_rate: ...
    Epoch 2/2
    ...

A ``Trainer`` always appends its own progress callback (``ProgressCallback``,
``NotebookProgressCallback`` in a notebook, ``PrinterCallback`` with
``disable_tqdm=True``) after the user's callbacks, so passing a
:class:`ProgbarCallback` in ``callbacks=[...]`` alone would give two displays:
:func:`attach` takes the Trainer's one out and adds ours.  :class:`ProgbarCallback`
is deliberately *not* a subclass of ``ProgressCallback``: ``remove_callback`` removes
the first ``isinstance`` match, which must be the Trainer's bar, never ours.

Importing this module imports ``transformers``; ``import progbar`` alone never does.
"""

from __future__ import annotations

import math
from typing import Any

# transformers ships types; the ignore is for a checker run where it is not installed.
import transformers  # type: ignore[import-not-found, unused-ignore]

from progbar import Progbar, all_ranks, format_epoch
from progbar.fit_logger import EpochRun

__all__ = ["ProgbarCallback", "attach"]

# Logged keys that are bookkeeping, not metrics: never shown on a bar's line.
_NOT_SHOWN = frozenset({"epoch", "step", "total_flos"})
# Speed and timing keys (``eval_runtime``, ``eval_samples_per_second``,
# ``eval_model_preparation_time``...): the bar itself shows speed and time.
_TIMING_SUFFIXES = ("_runtime", "_per_second", "_preparation_time")
# The Trainer's own progress displays, taken out by attach().
_THEIR_DISPLAYS = ("ProgressCallback", "NotebookProgressCallback", "PrinterCallback")


def _draws(state: Any) -> bool:
    """World process zero draws (every process with ``PROGBAR_ALL_RANKS=1``)."""
    return bool(state.is_world_process_zero) or all_ranks()


def _has_len(obj: object) -> bool:
    try:
        len(obj)  # type: ignore[arg-type]
    except Exception:
        return False
    return True


def _format_value(value: object) -> str:
    """A summary value as Keras formats metrics: ``%.4f``, or ``%.4e`` when tiny."""
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        return str(value)
    if isinstance(value, int):
        return str(value)
    if math.isfinite(value) and 0 < abs(value) <= 1e-3:
        return f"{value:.4e}"
    return f"{value:.4f}"


class ProgbarCallback(transformers.TrainerCallback):  # type: ignore[misc, unused-ignore]
    """A ``transformers.TrainerCallback`` that draws training with :class:`progbar.Progbar`.

    Args:
        **options: any :class:`progbar.Progbar` argument but ``target`` (``width``,
            ``interval``, ``style``, ``file``, ``dynamic``, ``color``, ``clock``,
            ``verbose``, ...).  Unless ``stateful_metrics`` or ``stateless_metrics``
            is given, every value is shown as this callback passes it (the loss
            arrives already averaged, see below).

    What it shows, on world process zero only (``state.is_world_process_zero``; on every
    process with ``PROGBAR_ALL_RANKS=1``):

    - ``Epoch i/N`` before each epoch (when N > 1), then one step bar per epoch; from
      the second epoch on the header says how long ``train()`` has left, evaluations
      included (``Epoch 3/40 - 1:02:13 left, done ~14:32``; ``≤`` with an
      ``EarlyStoppingCallback``): :attr:`eta`;
    - ``loss``: the Trainer logs, every ``logging_steps``, the mean loss over the steps
      since its previous log; the bar shows the epoch's running mean of those
      values, each weighted by the number of steps it covers (so the epoch's final
      line holds the true mean over the logged steps).  Until the first log of an
      epoch there is no loss to show: a smaller ``logging_steps`` shows it sooner;
    - ``learning_rate``, ``grad_norm`` and any other logged value, as passed;
    - evaluation inside ``train()``: a transient bar (``label="eval"``) while it runs,
      then its metrics (``eval_loss``, ...; not its timings) on the epoch's final line;
    - at the end, one summary line (``train_loss``, ``train_runtime``).

    ``trainer.evaluate()`` and ``trainer.predict()`` outside training show a bar of
    their own, which stays: one final line, with the metrics (``eval_loss``,
    ``test_loss``, ...).  Timings (``*_runtime``, ``*_per_second``,
    ``*_preparation_time``) are never put on a bar's line: the bar shows time itself.

    Pass it through :func:`attach`, which also removes the Trainer's own bar.
    """

    def __init__(self, **options: Any) -> None:
        super().__init__()
        if "target" in options or "total" in options:
            raise TypeError("ProgbarCallback takes its target from the Trainer; do not pass target")
        if "stateful_metrics" not in options and "stateless_metrics" not in options:
            options["stateless_metrics"] = ()
        Progbar(None, **dict(options, verbose=0))  # check the options now, where the mistake is
        self._options = options
        self._reset()

    def _reset(self) -> None:
        self._training = False
        self._bar: Progbar[Any] | None = None  # the epoch's step bar
        self._eval_bar: Progbar[Any] | None = None
        self._epochs: int | None = None
        self._epoch = 0
        self._steps_per_epoch: int | None = None
        self._epoch_start = 0  # global step at the epoch's start
        self._step = 0  # steps done in this epoch
        self._eval_seen = 0  # prediction steps done in this evaluation
        self._epoch_done = False  # on_epoch_end seen; the line waits for log/eval
        self._last_logged = 0  # global step of the Trainer's previous loss log
        self._loss_sum = 0.0
        self._loss_steps = 0
        self._shown: dict[str, Any] = {}  # values for the epoch's line, in order
        self._eval_shown: dict[str, Any] = {}
        self._run: EpochRun | None = None  # the whole train()'s estimate

    # ------------------------------------------------------------------ training

    @property
    def eta(self) -> float | None:
        """Seconds left in the ``train()`` under way as estimated now -- the epochs to
        come with their evaluations, or the one bar's when the Trainer runs to
        ``max_steps`` -- (0.0 once done); None before it can tell.  An upper bound
        with an ``EarlyStoppingCallback``."""
        if self._run is not None and self._run.eta is not None:
            return self._run.eta
        return self._bar.eta if self._bar is not None and self._epochs is None else None

    def on_train_begin(self, args: Any, state: Any, control: Any, **kwargs: Any) -> None:
        self._reset()
        if not _draws(state):
            return
        # EarlyStoppingCallback keeps a state the Trainer lists by name: the one way a
        # callback learns of another.
        stopping = "EarlyStoppingCallback" in (getattr(state, "stateful_callbacks", None) or {})
        self._run = EpochRun.for_options(self._options, stopping)
        self._training = True
        self._last_logged = state.global_step
        loader = kwargs.get("train_dataloader")
        accumulation = max(int(getattr(args, "gradient_accumulation_steps", 1) or 1), 1)
        if loader is not None and _has_len(loader):
            # The Trainer's own count of optimizer steps per epoch.
            n = len(loader)
            self._steps_per_epoch = max(n // accumulation + int(n % accumulation > 0), 1)
            epochs = int(getattr(state, "num_train_epochs", 0) or 0)
            self._epochs = epochs if epochs > 0 else None
        else:
            # An iterable dataset: the Trainer runs to max_steps, epochs unknown.
            self._steps_per_epoch = None
            self._epochs = None
        self._epoch = 0

    def on_epoch_begin(self, args: Any, state: Any, control: Any, **kwargs: Any) -> None:
        if not self._training:
            return
        self._finish_epoch()
        self._epoch += 1
        self._epoch_start = state.global_step
        initial = 0  # steps of this epoch already done: a run resumed from a checkpoint
        per_epoch = self._steps_per_epoch
        if per_epoch is not None and state.global_step % per_epoch:
            # resume_from_checkpoint mid-epoch: the epoch started before this run did
            self._epoch = state.global_step // per_epoch + 1
            initial = state.global_step % per_epoch
            self._epoch_start = state.global_step - initial
        elif per_epoch is not None and self._epoch == 1 and state.global_step:
            self._epoch = state.global_step // per_epoch + 1  # resumed at an epoch's start
        self._step = initial
        self._epoch_done = False
        self._loss_sum = 0.0
        self._loss_steps = 0
        self._shown = {}
        self._eval_shown = {}
        target: int | None = None
        max_steps = int(getattr(state, "max_steps", 0) or 0)
        if per_epoch is not None:
            target = per_epoch
            if max_steps > 0:
                target = max(min(target, max_steps - self._epoch_start), 0)
        elif max_steps > 0:
            # An iterable dataset: the Trainer runs to max_steps (a new "epoch" only if
            # the iterator runs dry first).
            target = max(max_steps - state.global_step, 0)
        options = dict(self._options, initial=initial) if initial else self._options
        run = self._run
        if run is not None:  # before the epoch's bar: it is the run's inner bar
            run.begin_epoch(self._epoch - 1, self._epochs, initial / target if target else 0.0)
        bar: Progbar[Any] = Progbar(target, **options)
        self._bar = bar
        if self._epochs is not None and self._epochs > 1:
            bar.write(run.header(self._epoch - 1, self._epochs) if run is not None
                      else format_epoch(self._epoch, self._epochs))
        elif self._epochs is None and self._steps_per_epoch is None and self._epoch > 1:
            bar.write(format_epoch(self._epoch))

    def on_step_end(self, args: Any, state: Any, control: Any, **kwargs: Any) -> None:
        bar = self._bar
        if bar is None or not self._training:
            return
        self._step = state.global_step - self._epoch_start
        bar.update(self._step, finalize=False)

    def on_log(
        self, args: Any, state: Any, control: Any, logs: dict[str, Any] | None = None,
        **kwargs: Any,
    ) -> None:
        if not _draws(state) or not logs:
            return
        if "train_loss" in logs and "loss" not in logs:  # the summary, after training
            self._summary(logs)
            return
        if any(k.startswith("eval_") for k in logs):
            return  # evaluation metrics come through on_evaluate
        if not self._training:
            return
        if "loss" in logs:
            # The mean over the steps since the previous log: it weighs that many.
            window = max(state.global_step - self._last_logged, 1)
            self._last_logged = state.global_step
            try:
                loss = float(logs["loss"])
            except Exception:
                self._shown["loss"] = logs["loss"]
            else:
                self._loss_sum += loss * window
                self._loss_steps += window
                self._shown["loss"] = self._loss_sum / self._loss_steps
        for key, value in logs.items():
            # with include_num_input_tokens_seen every log carries train_runtime and
            # a token rate: the bar shows time and speed itself
            if key != "loss" and key not in _NOT_SHOWN and not key.endswith(_TIMING_SUFFIXES):
                self._shown[key] = value
        bar = self._bar
        if bar is not None and not self._epoch_done:
            bar.update(self._step, self._values(), finalize=False)
        elif self._epoch_done and not control.should_evaluate:
            self._finish_epoch()  # the epoch-end log was the last thing it waited for

    def on_epoch_end(self, args: Any, state: Any, control: Any, **kwargs: Any) -> None:
        if not self._training:
            return
        self._epoch_done = True
        # The Trainer logs and evaluates *after* on_epoch_end; the Trainer's flow
        # callback (always first in the list) has already said whether it will.
        log_pending = bool(control.should_log) and state.global_step > self._last_logged
        if not log_pending and not control.should_evaluate:
            self._finish_epoch()

    def on_train_end(self, args: Any, state: Any, control: Any, **kwargs: Any) -> None:
        self._finish_epoch()
        self._close_eval_bar()
        self._training = False
        if self._run is not None:
            self._run.close()

    # ------------------------------------------------------------------ evaluation

    def on_prediction_step(self, args: Any, state: Any, control: Any, **kwargs: Any) -> None:
        if not _draws(state):
            return
        bar = self._eval_bar
        if bar is None:
            loader = kwargs.get("eval_dataloader")
            target = len(loader) if loader is not None and _has_len(loader) else None
            options = dict(self._options)
            if self._training:  # transient, below the training bar
                options["leave"] = False
                options["label"] = "eval"
                if self._bar is not None and self._bar.live:
                    self._bar.refresh()  # its true count, not its last throttled frame
            bar = self._eval_bar = Progbar(target, **options)
            self._eval_seen = 0
        self._eval_seen += 1
        # A standalone evaluate()/predict() draws its final line once, with the
        # metrics, when on_evaluate/on_predict brings them: reaching the target here
        # must not finalize it first (that would print the line twice).
        bar.update(self._eval_seen, finalize=None if self._training else False)

    def on_evaluate(
        self, args: Any, state: Any, control: Any, metrics: dict[str, Any] | None = None,
        **kwargs: Any,
    ) -> None:
        if not _draws(state):
            return
        shown = {
            k: v for k, v in (metrics or {}).items()
            if k not in _NOT_SHOWN and not k.endswith(_TIMING_SUFFIXES)
        }
        if not self._training or self._bar is None:
            self._close_eval_bar(list(shown.items()))
            return
        self._close_eval_bar()
        self._eval_shown.update(shown)
        if self._epoch_done:
            self._finish_epoch()
        else:  # an evaluation inside the epoch (eval_strategy="steps")
            self._bar.update(self._step, self._values(), finalize=False)

    def on_predict(
        self, args: Any, state: Any, control: Any, metrics: dict[str, Any] | None = None,
        **kwargs: Any,
    ) -> None:
        if not _draws(state):
            return
        shown = {
            k: v for k, v in (metrics or {}).items()
            if k not in _NOT_SHOWN and not k.endswith(_TIMING_SUFFIXES)
        }
        self._close_eval_bar(list(shown.items()))

    # ------------------------------------------------------------------ internals

    def _values(self) -> list[tuple[str, Any]]:
        return list(self._shown.items()) + list(self._eval_shown.items())

    def _finish_epoch(self) -> None:
        """The epoch's final line: training metrics, then evaluation metrics."""
        bar = self._bar
        if bar is None:
            return
        self._bar = None
        if bar.target is None:  # an iterator: now its length is known
            bar.target = self._step
        bar.update(self._step, self._values(), finalize=True)
        bar.close()
        if self._run is not None:
            self._run.end_epoch(self._epoch - 1)

    def _close_eval_bar(self, values: list[tuple[str, Any]] | None = None) -> None:
        bar = self._eval_bar
        if bar is None:
            return
        self._eval_bar = None
        if values is not None:  # a standalone evaluate/predict: its line stays
            if bar.target is None:
                bar.target = self._eval_seen
            bar.update(self._eval_seen, values, finalize=True)
        bar.close()

    def _summary(self, logs: dict[str, Any]) -> None:
        self._finish_epoch()
        # The loss first; the run time in seconds; no rates (the bars showed them),
        # so that the line stays short enough not to wrap.
        shown = {k: v for k, v in logs.items() if k not in _NOT_SHOWN}
        order = sorted(shown, key=lambda k: k != "train_loss")
        parts = []
        for key in order:
            value = shown[key]
            if key.endswith("_per_second"):
                continue
            if key.endswith("_runtime") and isinstance(value, (int, float)):
                parts.append(f"{key}: {value:.2f}s")
            else:
                parts.append(f"{key}: {_format_value(value)}")
        # A bar used for its write() only (as progbar.torch.epochs does): the line
        # goes through the same display as the bars above it.
        Progbar(None, **self._options).write(" - ".join(parts))


def _is_their_display(callback: object) -> bool:
    # By name along the MRO: NotebookProgressCallback lives in a module that imports
    # IPython, and a subclass of any of them is a display all the same.
    return any(
        klass.__name__ in _THEIR_DISPLAYS and klass.__module__.startswith("transformers.")
        for klass in type(callback).__mro__
    )


def attach(trainer: Any, **options: Any) -> ProgbarCallback:
    """Give ``trainer`` the progbar display, and only that one; returns the callback.

    Removes the Trainer's own ``ProgressCallback`` / ``NotebookProgressCallback`` /
    ``PrinterCallback`` (the Trainer always adds one, after the user's callbacks) and
    adds a :class:`ProgbarCallback` made with ``options``.  A ``ProgbarCallback``
    already in the list is kept when no options are given, else replaced.  Call it
    after building the Trainer and before ``train()``; calling it again is harmless.
    """
    handler = trainer.callback_handler
    for callback in list(handler.callbacks):
        if _is_their_display(callback):
            trainer.remove_callback(callback)
    ours = [cb for cb in handler.callbacks if isinstance(cb, ProgbarCallback)]
    if ours and not options:
        return ours[0]
    for callback in ours:
        trainer.remove_callback(callback)
    callback = ProgbarCallback(**options)
    trainer.add_callback(callback)
    return callback
