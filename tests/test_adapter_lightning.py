"""progbar.lightning.ProgbarCallback: logic against a recording bar, and a real
Lightning Trainer (CPU) replacing its tqdm bar."""

from __future__ import annotations

import importlib
import io
from types import SimpleNamespace
from typing import Any

import pytest
from recording import RecordingBar

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
    assert lines[0] == "Epoch 1/2" and lines[2] == "Epoch 2/2"
    final = trainer.progress_bar_metrics
    assert lines[3].startswith("4/4 100%")
    assert lines[3].endswith(f" - loss: {final['loss']:.4f} - val_loss: {final['val_loss']:.4f}")
    assert "hidden" not in out.getvalue()
    assert len(lines) == 4  # the sanity check and the validation runs are silent
    (validated,) = trainer.validate(model, _loader(), verbose=False)
    trainer.predict(model, _loader())
    lines = out.getvalue().splitlines()
    assert lines[4].startswith("4/4 100%") and lines[4].endswith(
        f"val_loss: {validated['val_loss']:.4f}"
    )
    assert lines[5].startswith("4/4 100%") and len(lines) == 6
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
