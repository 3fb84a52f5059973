"""progbar.transformers: logic against a recording bar, and a real ``Trainer.train()``
on a tiny randomly initialised BERT (CPU, synthetic data, no downloads)."""

from __future__ import annotations

import importlib
import io
import json
import re
import sys
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import pytest

transformers = pytest.importorskip("transformers", reason="needs transformers (the `hf` extra)")
torch = pytest.importorskip("torch")
pytest.importorskip("accelerate", reason="Trainer needs accelerate (the `hf` extra)")

from support.recording import RecordingBar  # noqa: E402

import progbar.transformers as ptf  # noqa: E402
from progbar.transformers import ProgbarCallback, attach  # noqa: E402


@pytest.fixture
def recording(monkeypatch: pytest.MonkeyPatch) -> list[RecordingBar]:
    RecordingBar.bars = []
    monkeypatch.setattr(ptf, "Progbar", RecordingBar)
    return RecordingBar.bars


def _args(accumulation: int = 1) -> Any:
    return SimpleNamespace(gradient_accumulation_steps=accumulation)


def _state(**kw: Any) -> Any:
    base = dict(global_step=0, max_steps=10, num_train_epochs=2, is_world_process_zero=True)
    base.update(kw)
    return SimpleNamespace(**base)


def _control(**kw: Any) -> Any:
    base = dict(should_log=False, should_evaluate=False)
    base.update(kw)
    return SimpleNamespace(**base)


class _Loader:
    def __init__(self, n: int) -> None:
        self.n = n

    def __len__(self) -> int:
        return self.n


# --------------------------------------------------------------------------- logic


def test_loss_is_weighted_by_its_logging_window(recording: list[RecordingBar]) -> None:
    cb = ProgbarCallback(width=10)
    recording.clear()  # the bar that checked the options
    args, state, ctl = _args(), _state(), _control()
    cb.on_train_begin(args, state, ctl, train_dataloader=_Loader(5))
    cb.on_epoch_begin(args, state, ctl)
    logs = {1: 2.0, 4: 0.5}  # step 1 (a window of 1 step), step 4 (3 steps: 2..4)
    for step in range(1, 6):
        state.global_step = step
        cb.on_step_end(args, state, ctl)
        if step in logs:
            cb.on_log(args, state, ctl, logs={
                "loss": logs[step], "grad_norm": float(step), "learning_rate": 1e-3 / step,
                "epoch": step / 5,
            })
    # on_epoch_end: the Trainer will evaluate after it; the line waits for the metrics
    cb.on_epoch_end(args, state, _control(should_evaluate=True))
    bar = recording[0]
    assert bar.target == 5 and bar.options == {"width": 10, "stateless_metrics": ()}
    assert ("close",) not in bar.calls
    cb.on_prediction_step(args, state, ctl, eval_dataloader=_Loader(2))
    cb.on_prediction_step(args, state, ctl, eval_dataloader=_Loader(2))
    cb.on_log(args, state, ctl, logs={"eval_loss": 0.25, "epoch": 1.0})  # ignored
    cb.on_evaluate(args, state, ctl, metrics={
        "eval_loss": 0.25, "eval_acc": 0.5, "eval_runtime": 0.1,
        "eval_samples_per_second": 9.0, "eval_steps_per_second": 3.0, "epoch": 1.0,
    })
    evalbar = recording[1]
    assert evalbar.target == 2
    assert evalbar.options == {"width": 10, "stateless_metrics": (), "leave": False, "label": "eval"}
    assert evalbar.calls == [("update", 1, None, None), ("update", 2, None, None), ("close",)]
    mean = (2.0 * 1 + 0.5 * 3) / 4  # not (2.0 + 0.5) / 2
    assert bar.calls[0] == ("write", "Epoch 1/2")
    assert bar.calls[-2:] == [
        ("update", 5, [("loss", mean), ("grad_norm", 4.0), ("learning_rate", 1e-3 / 4),
                       ("eval_loss", 0.25), ("eval_acc", 0.5)], True),
        ("close",),
    ]
    # Epoch 2: the first window crosses the epoch boundary (steps 5..7 -> 3 steps).
    cb.on_epoch_begin(args, state, ctl)
    for step in range(6, 11):
        state.global_step = step
        cb.on_step_end(args, state, ctl)
        if step == 7:
            cb.on_log(args, state, ctl, logs={  # include_num_input_tokens_seen's keys
                "loss": 1.0, "num_input_tokens_seen": 64, "train_runtime": 0.5,
                "train_tokens_per_second": 128.0,
            })
    cb.on_epoch_end(args, state, _control(should_log=True))  # a log follows
    cb.on_log(args, state, ctl, logs={"loss": 4.0})  # steps 8..10
    second = recording[2]
    assert second.calls[0] == ("write", "Epoch 2/2")
    assert second.calls[-2:] == [
        ("update", 5, [("loss", (1.0 * 3 + 4.0 * 3) / 6), ("num_input_tokens_seen", 64)], True),
        ("close",),
    ]
    cb.on_log(args, state, ctl, logs={"train_runtime": 1.5, "train_samples_per_second": 9.0,
                                      "total_flos": 9.0, "train_loss": 1.25, "epoch": 2.0})
    cb.on_train_end(args, state, ctl)
    assert recording[3].calls == [("write", "train_loss: 1.2500 - train_runtime: 1.50s")]
    assert len(recording) == 4


def test_epoch_without_pending_log_or_eval_ends_at_once(recording: list[RecordingBar]) -> None:
    cb = ProgbarCallback()
    recording.clear()
    args, ctl = _args(accumulation=2), _control()
    state = _state(max_steps=3, num_train_epochs=1)
    cb.on_train_begin(args, state, ctl, train_dataloader=_Loader(5))  # 5 batches, 3 steps
    cb.on_epoch_begin(args, state, ctl)
    for step in (1, 2, 3):
        state.global_step = step
        cb.on_step_end(args, state, ctl)
    cb.on_epoch_end(args, state, ctl)
    bar = recording[0]
    assert bar.target == 3
    assert not any(c[0] == "write" for c in bar.calls)  # one epoch: no header (as Keras)
    assert bar.calls[-2:] == [("update", 3, [], True), ("close",)]


def test_iterable_dataset_counts_to_max_steps(recording: list[RecordingBar]) -> None:
    cb = ProgbarCallback()
    recording.clear()
    args, ctl = _args(), _control()
    state = _state(max_steps=6, num_train_epochs=2**63 - 1)  # the Trainer's "unknown"
    cb.on_train_begin(args, state, ctl, train_dataloader=iter(()))  # no len()
    cb.on_epoch_begin(args, state, ctl)
    for step in range(1, 5):  # the iterator runs dry after 4 steps
        state.global_step = step
        cb.on_step_end(args, state, ctl)
    cb.on_epoch_end(args, state, ctl)
    cb.on_epoch_begin(args, state, ctl)
    for step in (5, 6):
        state.global_step = step
        cb.on_step_end(args, state, ctl)
    cb.on_epoch_end(args, state, ctl)
    first, second = recording
    assert first.target == 6 and not any(c[0] == "write" for c in first.calls)
    assert first.calls[-2:] == [("update", 4, [], True), ("close",)]  # shown honestly
    assert second.target == 2 and second.calls[0] == ("write", "Epoch 2")
    assert second.calls[-2:] == [("update", 2, [], True), ("close",)]


def test_other_processes_draw_nothing(recording: list[RecordingBar]) -> None:
    cb = ProgbarCallback()
    recording.clear()
    args, ctl = _args(), _control()
    state = _state(is_world_process_zero=False)
    cb.on_train_begin(args, state, ctl, train_dataloader=_Loader(5))
    cb.on_epoch_begin(args, state, ctl)
    state.global_step = 1
    cb.on_step_end(args, state, ctl)
    cb.on_log(args, state, ctl, logs={"loss": 1.0})
    cb.on_prediction_step(args, state, ctl, eval_dataloader=_Loader(2))
    cb.on_evaluate(args, state, ctl, metrics={"eval_loss": 1.0})
    cb.on_epoch_end(args, state, ctl)
    cb.on_log(args, state, ctl, logs={"train_runtime": 1.0})
    cb.on_train_end(args, state, ctl)
    assert recording == []


def test_all_ranks_opt_in_draws_on_other_processes(
    recording: list[RecordingBar], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("PROGBAR_ALL_RANKS", "1")
    cb = ProgbarCallback(label="train")
    recording.clear()
    args, ctl = _args(), _control()
    state = _state(is_world_process_zero=False, num_train_epochs=1)
    cb.on_train_begin(args, state, ctl, train_dataloader=_Loader(2))
    cb.on_epoch_begin(args, state, ctl)
    cb.on_prediction_step(args, state, ctl, eval_dataloader=_Loader(1))
    assert [bar.options.get("label") for bar in recording] == ["train", "eval"]


def test_standalone_evaluate_keeps_its_line(recording: list[RecordingBar]) -> None:
    cb = ProgbarCallback()
    recording.clear()
    args, state, ctl = _args(), _state(), _control()
    for _ in range(3):
        cb.on_prediction_step(args, state, ctl, eval_dataloader=_Loader(3))
    cb.on_evaluate(args, state, ctl, metrics={"eval_loss": 0.5, "eval_runtime": 1.0})
    (bar,) = recording
    assert "leave" not in bar.options and "label" not in bar.options
    assert bar.calls[-2:] == [("update", 3, [("eval_loss", 0.5)], True), ("close",)]


def test_options_are_checked_at_construction() -> None:
    with pytest.raises(ValueError, match="style"):
        ProgbarCallback(style="nope")
    with pytest.raises(TypeError, match="target"):
        ProgbarCallback(target=3)
    assert not isinstance(ProgbarCallback(), transformers.ProgressCallback)
    assert isinstance(ProgbarCallback(), transformers.TrainerCallback)


# --------------------------------------------------------------------------- real Trainer


class _Tokens(torch.utils.data.Dataset):  # type: ignore[misc]
    def __init__(self, n: int, seed: int) -> None:
        g = torch.Generator().manual_seed(seed)
        self.x = torch.randint(0, 32, (n, 8), generator=g)
        self.y = self.x.sum(1) % 2

    def __len__(self) -> int:
        return len(self.x)

    def __getitem__(self, i: int) -> dict[str, Any]:
        return {"input_ids": self.x[i], "labels": self.y[i]}


def _trainer(tmp_path: Any, **arguments: Any) -> Any:
    config = transformers.BertConfig(
        vocab_size=32, hidden_size=16, num_hidden_layers=1, num_attention_heads=2,
        intermediate_size=32, max_position_embeddings=16, num_labels=2,
    )
    torch.manual_seed(0)
    model = transformers.BertForSequenceClassification(config)
    args = transformers.TrainingArguments(
        output_dir=str(tmp_path), num_train_epochs=2, per_device_train_batch_size=4,
        per_device_eval_batch_size=4, eval_strategy="epoch", save_strategy="no",
        report_to="none", use_cpu=True, **arguments,
    )
    return transformers.Trainer(
        model=model, args=args, train_dataset=_Tokens(40, 0), eval_dataset=_Tokens(12, 1),
    )


def test_attach_replaces_the_trainers_display(tmp_path: Any) -> None:
    trainer = _trainer(tmp_path)
    names = [type(c).__name__ for c in trainer.callback_handler.callbacks]
    assert names == ["DefaultFlowCallback", "ProgressCallback"]
    ours = attach(trainer, width=12)
    assert [type(c).__name__ for c in trainer.callback_handler.callbacks] == [
        "DefaultFlowCallback", "ProgbarCallback",
    ]
    assert attach(trainer) is ours  # again: nothing changes
    replaced = attach(trainer, width=20)
    assert replaced is not ours
    assert trainer.callback_handler.callbacks[-1] is replaced
    notebook = importlib.import_module("transformers.utils.notebook")
    trainer.remove_callback(replaced)
    trainer.add_callback(notebook.NotebookProgressCallback)
    assert attach(trainer) is not replaced
    assert [type(c).__name__ for c in trainer.callback_handler.callbacks] == [
        "DefaultFlowCallback", "ProgbarCallback",
    ]
    printer = _trainer(tmp_path, disable_tqdm=True)
    assert type(printer.callback_handler.callbacks[-1]).__name__ == "PrinterCallback"
    attach(printer)
    assert [type(c).__name__ for c in printer.callback_handler.callbacks] == [
        "DefaultFlowCallback", "ProgbarCallback",
    ]


def test_real_trainer_one_display_window_weighted_loss_and_eval(
    tmp_path: Any, capfd: pytest.CaptureFixture[str]
) -> None:
    # logging_first_step gives windows of 1, 2, 3, 3, 3, ... steps: unequal weights,
    # and the window logged at step 12 crosses the epoch boundary (steps 10..12).
    trainer = _trainer(tmp_path, logging_steps=3, logging_first_step=True)
    out = io.StringIO()
    attach(trainer, file=out, dynamic=False)
    trainer.train()
    text = out.getvalue()
    captured = capfd.readouterr()
    # No tqdm frame anywhere: not in our stream, not on the process's stdout/stderr.
    for stream in (text, captured.out, captured.err):
        assert "\r" not in stream and "it/s" not in stream and "%|" not in stream
    # (a header from the second epoch on also says the run's time left)
    lines = [line.split(" - ")[0] if line.startswith("Epoch ") else line
             for line in text.splitlines()]
    assert lines.count("Epoch 1/2") == 1 and lines.count("Epoch 2/2") == 1
    epoch_lines = [line for line in lines if line.startswith("10/10 100%")]
    assert len(epoch_lines) == 2
    assert lines.index("Epoch 1/2") < lines.index(epoch_lines[0]) < lines.index("Epoch 2/2")
    assert lines.index("Epoch 2/2") < lines.index(epoch_lines[1])

    history = trainer.state.log_history
    previous = 0
    windows: dict[int, list[tuple[float, int]]] = {0: [], 1: []}
    evals: dict[int, float] = {}
    for entry in history:
        if "loss" in entry:
            step = entry["step"]
            windows[(step - 1) // 10].append((entry["loss"], step - previous))
            previous = step
        if "eval_loss" in entry:
            evals[entry["step"] // 10 - 1] = entry["eval_loss"]
    assert [w for _, w in windows[0]] == [1, 2, 3, 3] and [w for _, w in windows[1]] == [3, 3, 3]
    for epoch, line in enumerate(epoch_lines):
        pairs = windows[epoch]
        mean = sum(v * w for v, w in pairs) / sum(w for _, w in pairs)
        assert f" - loss: {mean:.4f} - " in line, (line, pairs)
        assert re.search(r" - grad_norm: \S+ - learning_rate: \S+", line), line
        assert line.endswith(f" - eval_loss: {evals[epoch]:.4f}"), line
        assert "eval_runtime" not in line and "epoch" not in line
    summary = [line for line in lines if line.startswith("train_loss: ")]
    assert len(summary) == 1 and re.fullmatch(r"train_loss: \d\.\d{4} - train_runtime: \d+\.\d\ds",
                                              summary[0]), summary
    assert lines.index(summary[0]) > lines.index(epoch_lines[1])


# --------------------------------------------------------------------------- in a notebook

NOTEBOOK_CELL = """
import torch, transformers
import progbar.transformers

class Tokens(torch.utils.data.Dataset):
    def __init__(self, n, seed):
        g = torch.Generator().manual_seed(seed)
        self.x = torch.randint(0, 32, (n, 8), generator=g)
        self.y = self.x.sum(1) % 2
    def __len__(self):
        return len(self.x)
    def __getitem__(self, i):
        return {"input_ids": self.x[i], "labels": self.y[i]}

config = transformers.BertConfig(
    vocab_size=32, hidden_size=16, num_hidden_layers=1, num_attention_heads=2,
    intermediate_size=32, max_position_embeddings=16, num_labels=2)
torch.manual_seed(0)
args = transformers.TrainingArguments(
    output_dir=OUT, num_train_epochs=2, per_device_train_batch_size=4, logging_steps=3,
    eval_strategy="epoch", save_strategy="no", report_to="none", use_cpu=True)
trainer = transformers.Trainer(
    model=transformers.BertForSequenceClassification(config), args=args,
    train_dataset=Tokens(40, 0), eval_dataset=Tokens(12, 1))
before = [type(c).__name__ for c in trainer.callback_handler.callbacks]
progbar.transformers.attach(trainer)
after = [type(c).__name__ for c in trainer.callback_handler.callbacks]
trainer.train()
print("CALLBACKS", before, after)
"""


def test_real_trainer_in_a_notebook_kernel(tmp_path: Any) -> None:
    """In Jupyter the Trainer's default is NotebookProgressCallback: attach() takes it
    out, and the epochs are drawn as the core's HTML bars."""
    nbformat = pytest.importorskip("nbformat")
    nbclient = pytest.importorskip("nbclient")
    pytest.importorskip("ipykernel")
    home = tmp_path / "jupyter"
    spec_dir = home / "kernels" / "progbar-hf-test"
    spec_dir.mkdir(parents=True)
    spec = {
        "argv": [sys.executable, "-m", "ipykernel_launcher", "-f", "{connection_file}"],
        "display_name": "progbar hf test", "language": "python",
        "env": {"PYTHONPATH": str(Path(__file__).resolve().parents[1])},
    }
    (spec_dir / "kernel.json").write_text(json.dumps(spec))
    nb = nbformat.v4.new_notebook()
    nb.cells = [nbformat.v4.new_code_cell(f"OUT = {str(tmp_path / 'out')!r}\n" + NOTEBOOK_CELL)]
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("JUPYTER_PATH", str(home))
        mp.setenv("JUPYTER_PLATFORM_DIRS", "1")
        mp.setenv("JUPYTER_RUNTIME_DIR", str(home / "runtime"))
        client = nbclient.NotebookClient(
            nb, kernel_name="progbar-hf-test", timeout=180,
            resources={"metadata": {"path": str(tmp_path)}},
        )
        client.execute()
    outputs = nb.cells[0].outputs
    text = "".join(o.get("text", "") for o in outputs if o.output_type == "stream")
    assert ("CALLBACKS ['DefaultFlowCallback', 'NotebookProgressCallback'] "
            "['DefaultFlowCallback', 'ProgbarCallback']") in text
    assert "Epoch 1/2" in text and "Epoch 2/2" in text
    displays = [o for o in outputs if o.output_type == "display_data"]
    assert len(displays) == 2  # one per epoch; the transient eval bars left none
    for shown in displays:
        html, plain = shown.data["text/html"], shown.data["text/plain"]
        assert plain.startswith("10/10 100%") and " - eval_loss: " in plain, plain
        assert "<div" in html and "<progress" not in html  # ours, not the Trainer's
    assert "it/s" not in text and "\r" not in text


def test_real_standalone_evaluate_and_predict_print_one_line_each(tmp_path: Any) -> None:
    # Run on their own (not inside train()), each prints exactly one final line with
    # its metrics; the Trainer's timings (runtime, rates, model preparation) stay off.
    trainer = _trainer(tmp_path)
    out = io.StringIO()
    attach(trainer, file=out, dynamic=False)
    metrics = trainer.evaluate()
    predicted = trainer.predict(_Tokens(8, 2))
    assert "eval_model_preparation_time" in metrics  # the key the line must not show
    assert "test_model_preparation_time" in predicted.metrics
    lines = out.getvalue().splitlines()
    assert len(lines) == 2, lines
    evaluated, predict = lines
    assert re.fullmatch(r"3/3 100% 0:\d\d [^-]+ - eval_loss: " + re.escape(
        f"{metrics['eval_loss']:.4f}"), evaluated), evaluated
    assert re.fullmatch(r"2/2 100% 0:\d\d [^-]+ - test_loss: " + re.escape(
        f"{predicted.metrics['test_loss']:.4f}"), predict), predict


def test_real_resumed_train_starts_the_step_bar_at_the_resumed_step(tmp_path: Any) -> None:
    from conftest import FakeClock

    clock = FakeClock()

    class Seconds(transformers.TrainerCallback):  # type: ignore[misc]
        def on_step_end(self, args: Any, state: Any, control: Any, **kw: Any) -> None:
            clock.now += 1.0  # each optimizer step takes one second

    def make(**arguments: Any) -> Any:
        model = _trainer(tmp_path).model  # the tiny random BERT
        args = transformers.TrainingArguments(
            output_dir=str(tmp_path), num_train_epochs=2, per_device_train_batch_size=4,
            eval_strategy="no", report_to="none", use_cpu=True, **arguments,
        )
        trainer = transformers.Trainer(model=model, args=args, train_dataset=_Tokens(40, 0))
        trainer.add_callback(Seconds())
        return trainer

    first = make(save_strategy="steps", save_steps=3, max_steps=3)
    attach(first, verbose=0)
    first.train()
    checkpoint = tmp_path / "checkpoint-3"
    assert checkpoint.is_dir()

    resumed = make(save_strategy="no")
    out = io.StringIO()
    attach(resumed, file=out, dynamic=False, clock=clock)
    resumed.train(resume_from_checkpoint=str(checkpoint))
    lines = out.getvalue().splitlines()
    # the run's time left counts what this run does: the resumed epoch's 7 steps took
    # 7 s, so an epoch takes 10
    assert lines[0] == "Epoch 1/2" and "Epoch 2/2 - 0:10 left" in lines, lines
    finals = [line for line in lines if line.startswith("10/10 100% 0:") and "<" not in line]
    # the resumed epoch: 7 steps in 7 seconds, counted from step 3 (not 10 steps in 7)
    assert finals[0].startswith("10/10 100% 0:07 1.0 step/s"), finals
    assert lines.index(finals[0]) < lines.index("Epoch 2/2 - 0:10 left")
    assert finals[1].startswith("10/10 100% 0:10 1.0 step/s"), finals
