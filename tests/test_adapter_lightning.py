"""progbar.lightning.ProgbarCallback: logic against a recording bar, and a real
Lightning Trainer (CPU) replacing its tqdm bar."""

from __future__ import annotations

import importlib
import io
import os
import pickle
import sys
from types import SimpleNamespace
from typing import Any

import pytest
from support.recording import RecordingBar

torch = importlib.import_module("torch")
pl = importlib.import_module("lightning.pytorch")
from lightning.pytorch.callbacks import TQDMProgressBar  # noqa: E402
from torch.utils.data import DataLoader, TensorDataset  # noqa: E402

import progbar.lightning as plg  # noqa: E402
from progbar.lightning import ProgbarCallback  # noqa: E402

# Lightning's own internals warn (pytree deprecation, few dataloader workers); those
# are not ours, and filterwarnings=error would turn them into failures.
pytestmark = [
    pytest.mark.filterwarnings("ignore::FutureWarning:lightning.*"),
    pytest.mark.filterwarnings("ignore::FutureWarning:typing_extensions"),
    pytest.mark.filterwarnings("ignore:.*does not have many workers.*"),
    pytest.mark.filterwarnings("ignore:.*litlogger.*"),
]


def _fake_trainer(**kw: Any) -> Any:
    base = dict(
        max_epochs=3, current_epoch=1, max_steps=-1, num_training_batches=2,
        global_step=0, sanity_checking=False, state=SimpleNamespace(fn="fit"),
        num_val_batches=[2], progress_bar_metrics={"loss": 0.5}, loggers=[],
    )
    base.update(kw)
    return SimpleNamespace(**base)


def test_epoch_logic_against_recording_bar(monkeypatch: pytest.MonkeyPatch) -> None:
    cb = ProgbarCallback(style="keras2")
    RecordingBar.bars = []
    monkeypatch.setattr(plg, "Progbar", RecordingBar)
    trainer = _fake_trainer()
    cb._trainer = trainer  # what ProgressBar.setup does
    cb.on_train_epoch_start(trainer, None)
    cb.on_train_batch_end(trainer, None, None, None, 0)
    cb.on_validation_start(trainer, None)  # inside fit: a transient bar
    cb.on_validation_batch_end(trainer, None, None, None, 0)
    cb.on_validation_end(trainer, None)
    trainer.progress_bar_metrics = {"loss": 0.25, "val_loss": 0.75}
    cb.on_train_batch_end(trainer, None, None, None, 1)
    cb.on_train_epoch_end(trainer, None)
    assert len(RecordingBar.bars) == 2
    bar, fit_val = RecordingBar.bars
    assert fit_val.options == {"style": "keras2", "stateless_metrics": (),
                               "label": "validation", "leave": False}
    assert fit_val.target == 2 and fit_val.calls[-1] == ("close",)
    assert bar.target == 2
    assert bar.options == {"style": "keras2", "stateless_metrics": ()}
    assert bar.calls == [
        ("write", "Epoch 2/3"),
        ("update", 1, [("loss", 0.5)], False),
        ("update", 2, [("loss", 0.25), ("val_loss", 0.75)], False),
        ("update", 2, [("loss", 0.25), ("val_loss", 0.75)], True),
        ("close",),
    ]
    # standalone validate: its own bar; disabled (rank != 0): verbose=0
    trainer.state.fn = "validate"
    cb.disable()
    assert cb.is_disabled
    cb.on_validation_start(trainer, None)
    cb.on_validation_batch_end(trainer, None, None, None, 0)
    cb.on_validation_end(trainer, None)
    val = RecordingBar.bars[2]
    assert val.options["verbose"] == 0 and val.target == 2
    assert "leave" not in val.options  # standalone validate keeps its line
    assert val.calls[-2:] == [("update", 1, [("loss", 0.25), ("val_loss", 0.75)], True),
                              ("close",)]


def test_unknown_length_and_print(monkeypatch: pytest.MonkeyPatch) -> None:
    cb = ProgbarCallback()
    RecordingBar.bars = []
    monkeypatch.setattr(plg, "Progbar", RecordingBar)
    trainer = _fake_trainer(num_training_batches=float("inf"), max_epochs=-1)
    cb._trainer = trainer
    cb.on_train_epoch_start(trainer, None)
    cb.print("hello", 3)
    for i in range(3):
        cb.on_train_batch_end(trainer, None, None, None, i)
    cb.on_train_epoch_end(trainer, None)
    bar = RecordingBar.bars[0]
    assert bar.calls[0] == ("write", "Epoch 2") and bar.calls[1] == ("write", "hello 3")
    assert bar.target == 3 and bar.calls[-2] == ("update", 3, [("loss", 0.5)], True)


def test_options_are_checked_at_construction() -> None:
    with pytest.raises(ValueError, match="style"):
        ProgbarCallback(style="nope")
    with pytest.raises(TypeError, match="target"):
        ProgbarCallback(target=3)


class TinyModel(pl.LightningModule):
    def __init__(self) -> None:
        super().__init__()
        self.layer = torch.nn.Linear(4, 1)

    def _loss(self, batch: Any) -> Any:
        x, y = batch
        return torch.nn.functional.mse_loss(self.layer(x), y)

    def training_step(self, batch: Any, batch_idx: int) -> Any:
        loss = self._loss(batch)
        self.log("loss", loss, prog_bar=True)
        self.log("hidden", loss)  # not prog_bar: not shown
        return loss

    def validation_step(self, batch: Any, batch_idx: int) -> None:
        self.log("val_loss", self._loss(batch), prog_bar=True)

    def test_step(self, batch: Any, batch_idx: int) -> None:
        self.log("test_loss", self._loss(batch), prog_bar=True)

    def predict_step(self, batch: Any, batch_idx: int) -> Any:
        return self.layer(batch[0])

    def configure_optimizers(self) -> Any:
        return torch.optim.SGD(self.parameters(), lr=0.1)


def _loader() -> Any:
    g = torch.Generator().manual_seed(0)
    x = torch.randn(32, 4, generator=g)
    return DataLoader(TensorDataset(x, x.sum(1, keepdim=True)), batch_size=8)


def test_real_trainer_fit_replaces_tqdm(capsys: pytest.CaptureFixture[str]) -> None:
    torch.manual_seed(0)
    out = io.StringIO()
    cb = ProgbarCallback(file=out, dynamic=False)
    trainer = pl.Trainer(
        max_epochs=2, accelerator="cpu", devices=1, enable_checkpointing=False,
        logger=False, enable_model_summary=False, callbacks=[cb],
    )
    assert trainer.progress_bar_callback is cb
    assert not any(isinstance(c, TQDMProgressBar) for c in trainer.callbacks)
    model = TinyModel()
    trainer.fit(model, _loader(), _loader())
    lines = out.getvalue().splitlines()
    assert lines[0] == "Epoch 1/2" and lines[2].split(" - ")[0] == "Epoch 2/2"
    final = trainer.progress_bar_metrics
    assert lines[3].startswith("4/4 100%")
    assert lines[3].endswith(f" - loss: {final['loss']:.4f} - val_loss: {final['val_loss']:.4f}")
    assert "hidden" not in out.getvalue()
    assert len(lines) == 4  # the sanity check and the validation runs are silent
    (validated,) = trainer.validate(model, _loader(), verbose=False)
    (tested,) = trainer.test(model, _loader(), verbose=False)
    trainer.predict(model, _loader())
    lines = out.getvalue().splitlines()
    # standalone stages are labelled as Lightning's own bars label them
    assert lines[4].startswith("Validation 4/4 100%") and lines[4].endswith(
        f"val_loss: {validated['val_loss']:.4f}"
    )
    assert lines[5].startswith("Testing 4/4 100%") and lines[5].endswith(
        f"test_loss: {tested['test_loss']:.4f}"
    )
    assert lines[6].startswith("Predicting 4/4 100%") and len(lines) == 7
    assert "\r" not in capsys.readouterr().out  # no tqdm bar anywhere


def test_real_fit_shows_validation_as_a_transient_bar_under_training() -> None:
    pyte = importlib.import_module("pyte")
    torch.manual_seed(0)
    out = io.StringIO()
    cb = ProgbarCallback(file=out, dynamic=True, interval=0)
    trainer = pl.Trainer(
        max_epochs=2, accelerator="cpu", devices=1, enable_checkpointing=False,
        logger=False, enable_model_summary=False, callbacks=[cb],
    )
    trainer.fit(TinyModel(), _loader(), _loader())
    raw = out.getvalue()
    # while validation ran, it was a second row under the training bar's row
    assert "validation 4/4" in raw and "\x1b[1A" in raw
    screen = pyte.Screen(120, 20)
    pyte.Stream(screen).feed(raw.replace("\n", "\r\n"))
    rows = [row.rstrip() for row in screen.display if row.strip()]
    assert [row.split()[0] for row in rows] == ["Epoch", "4/4", "Epoch", "4/4"]
    assert "val_loss" in rows[1] and "val_loss" in rows[3]  # joined the epoch's line
    assert not any("validation" in row for row in rows)  # transient: gone


def _trainer(cb: ProgbarCallback, **kw: Any) -> Any:
    base: dict[str, Any] = dict(
        max_epochs=2, accelerator="cpu", devices=1, enable_checkpointing=False,
        logger=False, enable_model_summary=False, callbacks=[cb], num_sanity_val_steps=0,
    )
    base.update(kw)
    return pl.Trainer(**base)


class FailingModel(TinyModel):
    """Fails (Ctrl-C or an error) at the third step of the first epoch."""

    def __init__(self, failure: type[BaseException]) -> None:
        super().__init__()
        self.failure = failure

    def training_step(self, batch: Any, batch_idx: int) -> Any:
        if self.current_epoch == 0 and batch_idx == 2:
            raise self.failure("stop")
        return super().training_step(batch, batch_idx)


@pytest.mark.parametrize("failure", [KeyboardInterrupt, RuntimeError])
def test_real_fit_interrupted_then_validate_draws_no_dead_bar(
    failure: type[BaseException],
) -> None:
    # Lightning calls on_exception (Ctrl-C: then exits) and never on_train_end: the
    # training bar must be closed there, or the next stage's bar is drawn in a block
    # with the dead training bar under it, redrawn at every frame.
    pyte = importlib.import_module("pyte")
    signal = importlib.import_module("signal")
    torch.manual_seed(0)
    out = io.StringIO()
    cb = ProgbarCallback(file=out, dynamic=True, interval=0)
    trainer = _trainer(cb)
    model = FailingModel(failure)
    handler = signal.getsignal(signal.SIGINT)  # Lightning ignores SIGINT after Ctrl-C
    try:
        with pytest.raises(SystemExit if failure is KeyboardInterrupt else failure):
            trainer.fit(model, _loader(), _loader())
    finally:
        signal.signal(signal.SIGINT, handler)
    stopped = len(out.getvalue())
    (validated,) = trainer.validate(model, _loader(), verbose=False)
    screen = pyte.Screen(120, 10)
    pyte.Stream(screen).feed(out.getvalue().replace("\n", "\r\n"))
    rows = [row.rstrip() for row in screen.display if row.strip()]
    assert len(rows) == 3, rows
    assert rows[0] == "Epoch 1/2"
    assert rows[1].startswith("2/4  50%") and " - loss: " in rows[1]  # where it stopped
    assert rows[2].startswith("Validation 4/4 100%")
    assert rows[2].endswith(f" - val_loss: {validated['val_loss']:.4f}")
    after = out.getvalue()[stopped:]
    assert " - loss: " not in after and "\x1b[1A" not in after  # the dead bar: never again


class PrintingModel(TinyModel):
    """Prints as Lightning's own progress-bar tests do, to several streams."""

    def __init__(self, screen: io.StringIO) -> None:
        super().__init__()
        self.screen = screen

    def training_step(self, batch: Any, batch_idx: int) -> Any:
        self.print(f"step {batch_idx}", end="; ", file=self.screen)  # the bar's stream
        if batch_idx == 1:
            self.print("half", "way", sep="-", file=self.screen)
        return super().training_step(batch, batch_idx)

    def validation_step(self, batch: Any, batch_idx: int) -> None:
        self.print("validation_step", file=sys.stderr)  # another stream: printed as is
        super().validation_step(batch, batch_idx)

    def test_step(self, batch: Any, batch_idx: int) -> None:
        self.print("test_step", end="")
        super().test_step(batch, batch_idx)


def test_real_print_passes_file_sep_and_end_through(
    capsys: pytest.CaptureFixture[str],
) -> None:
    torch.manual_seed(0)
    out = io.StringIO()
    cb = ProgbarCallback(file=out, dynamic=False)
    trainer = _trainer(cb, max_epochs=1, limit_val_batches=2, limit_test_batches=2)
    model = PrintingModel(out)
    trainer.fit(model, _loader(), _loader())
    trainer.test(model, _loader(), verbose=False)
    lines = out.getvalue().splitlines()
    # A partial line (end="; ") waits for the rest of its line, then goes above the
    # bar; what is left when the bar ends is written before its final line.
    assert lines[0] == "step 0; step 1; half-way"
    assert lines[1] == "step 2; step 3; "
    assert lines[2].startswith("4/4 100%")
    assert lines[3].startswith("Testing 2/2 100%") and len(lines) == 4
    captured = capsys.readouterr()
    assert captured.err.count("validation_step\n") == 2  # file=sys.stderr kept
    assert captured.out.endswith("test_steptest_step")  # end="" kept, on stdout


class _Tty(io.StringIO):
    def isatty(self) -> bool:
        return True


def test_print_to_another_terminal_stream_goes_above_the_live_bar() -> None:
    # stdout and stderr of one console share the screen: text for either goes
    # through the live bar (as tqdm's write does), so it never tears the bar's line.
    screen, other = _Tty(), _Tty()
    cb = ProgbarCallback(file=screen, dynamic=True, interval=0)
    cb._train_bar = bar = plg.Progbar(4, file=screen, dynamic=True, interval=0)
    bar.update(1)
    cb.print("to stderr", file=other)
    cb.print("partial", end="", file=screen)
    assert other.getvalue() == ""
    assert "to stderr" in screen.getvalue() and "partial" not in screen.getvalue()
    cb.on_exception(None, None, RuntimeError("stop"))  # type: ignore[arg-type]
    assert "partial" in screen.getvalue() and cb._train_bar is None and bar.closed


def _picklable(cb: ProgbarCallback) -> ProgbarCallback:
    clone = pickle.loads(pickle.dumps(cb))
    assert isinstance(clone, ProgbarCallback)
    return clone


def test_pickles_whatever_file_it_was_given(tmp_path: Any) -> None:
    assert _picklable(ProgbarCallback(file=sys.stderr))._options["file"] is sys.stderr
    assert _picklable(ProgbarCallback(file=sys.stdout))._options["file"] is sys.stdout
    assert _picklable(ProgbarCallback())._options.get("file") is None
    with open(tmp_path / "train.log", "w") as log:
        log.write("before\n")
        log.flush()
        clone = _picklable(ProgbarCallback(file=log, dynamic=False))
    reopened = clone._options["file"]
    assert reopened.name == str(tmp_path / "train.log") and "a" in reopened.mode
    trainer = _trainer(clone, max_epochs=1, limit_val_batches=1)
    trainer.fit(TinyModel(), _loader(), _loader())  # the unpickled callback in use
    reopened.close()
    logged = (tmp_path / "train.log").read_text().splitlines()
    assert logged[0] == "before" and logged[1].startswith("4/4 100%")  # appended
    read, write = os.pipe()
    with os.fdopen(write, "w") as pipe:  # no name, no pickle: sys.stdout, as Lightning's
        assert _picklable(ProgbarCallback(file=pipe))._options["file"] is None
    os.close(read)
    memory = io.StringIO("kept")
    assert _picklable(ProgbarCallback(file=memory))._options["file"].getvalue() == "kept"


def test_real_ddp_spawn_with_file_stderr(capfd: pytest.CaptureFixture[str]) -> None:
    # ddp_spawn pickles the Trainer's callbacks into each process it starts; only
    # global rank 0 draws, on its own sys.stderr.
    cb = ProgbarCallback(file=sys.stderr, dynamic=False)
    trainer = _trainer(cb, max_epochs=1, devices=2, strategy="ddp_spawn")
    trainer.fit(TinyModel(), _loader(), _loader())
    err = capfd.readouterr().err
    finals = [line for line in err.splitlines() if line.startswith("2/2 100%")]
    assert len(finals) == 1, err  # 4 batches over 2 processes; one display
    assert " - loss: " in finals[0] and " - val_loss: " in finals[0]


class ClockedModel(TinyModel):
    """Each training step takes one second of an injected clock."""

    def __init__(self, clock: Any) -> None:
        super().__init__()
        self.clock = clock

    def training_step(self, batch: Any, batch_idx: int) -> Any:
        self.clock.now += 1.0
        return super().training_step(batch, batch_idx)


@pytest.mark.filterwarnings("ignore:Be aware that when using `ckpt_path`")
@pytest.mark.filterwarnings("ignore:You're resuming from a checkpoint that ended before")
def test_real_resumed_fit_starts_the_step_bar_at_the_resumed_batch(tmp_path: Any) -> None:
    from conftest import FakeClock
    from lightning.pytorch.callbacks import ModelCheckpoint

    torch.manual_seed(0)
    clock = FakeClock()
    saver = ModelCheckpoint(dirpath=tmp_path, every_n_train_steps=3, save_top_k=-1)
    first = _trainer(ProgbarCallback(verbose=0), max_steps=3,
                     callbacks=[ProgbarCallback(verbose=0), saver], enable_checkpointing=True)
    first.fit(ClockedModel(clock), _loader(), _loader())
    (ckpt,) = list(tmp_path.glob("*.ckpt"))  # saved after 3 of the 4 batches of epoch 1

    out = io.StringIO()
    cb = ProgbarCallback(file=out, dynamic=False, clock=clock)
    resumed = _trainer(cb, max_epochs=2)
    resumed.fit(ClockedModel(clock), _loader(), _loader(), ckpt_path=str(ckpt))
    lines = out.getvalue().splitlines()
    # the run's time left counts what this run did: a quarter epoch in one second
    assert lines[0] == "Epoch 1/2" and lines[2] == "Epoch 2/2 - 0:04 left", lines
    # the resumed epoch: one batch in one second, not four (nor a bar at 0 jumping to 4)
    assert lines[1].startswith("4/4 100% 0:01 1.0 step/s - loss: "), lines[1]
    assert lines[3].startswith("4/4 100% 0:04 1.0 step/s - loss: "), lines[3]
    assert len(lines) == 4
