"""Record timing traces from real runs on this machine, for the ETA benchmark.

    python benchmarks/eta/record.py            # every family (a few minutes)
    python benchmarks/eta/record.py keras_fit  # one

Each run is a small but real training job (Keras ``fit`` with validation, a Hugging
Face ``Trainer`` with evaluations and saves, a JAX ``jit`` loop, a PyTorch
``DataLoader`` whose workers restart each epoch, Lightning with ``val_check_interval``)
instrumented through the framework's own callbacks: every step's time is written down,
and nothing else is changed.  The traces go to ``benchmarks/eta/traces/<family>.json``
as events (see ``timeline.py``), in the seconds they took here; ``replay.py`` scales them
to realistic durations (the factor is stated on the page).  The recorded files are
committed: the page is made from them, and recording again gives other numbers (a
machine's own noise is part of what is measured).
"""

from __future__ import annotations

import json
import os
import sys
import tempfile
import time
from pathlib import Path
from typing import Any, Callable

os.environ.setdefault("KERAS_BACKEND", "torch")
sys.path.insert(0, str(Path(__file__).resolve().parent))

from timeline import Recorder  # noqa: E402  (benchmarks/eta/timeline.py)

HERE = Path(__file__).resolve().parent


def keras_fit(rec: Recorder) -> None:
    """Keras 3 ``fit``: 6 epochs of 200 steps, validation of 50 steps after each."""
    import keras
    import numpy as np

    rng = np.random.default_rng(0)
    x = rng.normal(size=(6400, 64)).astype("float32")
    y = (x[:, :8].sum(axis=1) > 0).astype("float32")
    xv, yv = x[:1600], y[:1600]
    model = keras.Sequential([keras.Input((64,)), keras.layers.Dense(256, activation="relu"),
                              keras.layers.Dense(256, activation="relu"),
                              keras.layers.Dense(1, activation="sigmoid")])
    model.compile("adam", "binary_crossentropy", metrics=["accuracy"])

    class Timings(keras.callbacks.Callback):  # type: ignore[misc]
        def on_epoch_begin(self, epoch: int, logs: Any = None) -> None:
            rec.open("train", 200)

        def on_train_batch_end(self, batch: int, logs: Any = None) -> None:
            rec.step("train")

        def on_test_begin(self, logs: Any = None) -> None:
            rec.close("train")
            rec.open("val", 50)

        def on_test_batch_end(self, batch: int, logs: Any = None) -> None:
            rec.step("val")

        def on_test_end(self, logs: Any = None) -> None:
            rec.close("val")

        def on_epoch_end(self, epoch: int, logs: Any = None) -> None:
            rec.epoch_done()

    rec.begin(epochs=6)
    model.fit(x, y, batch_size=32, epochs=6, validation_data=(xv, yv), verbose=0,
              callbacks=[Timings()])


def hf_trainer(rec: Recorder) -> None:
    """A Hugging Face ``Trainer``: 600 steps, an evaluation of 150 batches every 100
    and a save every 200 (one bar over ``max_steps``, as HF shows it)."""
    import torch
    from transformers import Trainer, TrainerCallback, TrainingArguments

    class Model(torch.nn.Module):
        def __init__(self) -> None:
            super().__init__()
            self.net = torch.nn.Sequential(torch.nn.Linear(64, 256), torch.nn.ReLU(),
                                           torch.nn.Linear(256, 256), torch.nn.ReLU(),
                                           torch.nn.Linear(256, 2))

        def forward(self, x: Any, labels: Any = None) -> dict[str, Any]:
            logits = self.net(x)
            loss = torch.nn.functional.cross_entropy(logits, labels)
            return {"loss": loss, "logits": logits}

    g = torch.Generator().manual_seed(0)
    xs = torch.randn(9600, 64, generator=g)
    ys = (xs[:, :8].sum(dim=1) > 0).long()
    train = [{"x": xs[i], "labels": ys[i]} for i in range(9600)]
    evals = [{"x": xs[i], "labels": ys[i]} for i in range(4800)]

    class Timings(TrainerCallback):  # type: ignore[misc]
        def on_step_end(self, args: Any, state: Any, control: Any, **kw: Any) -> None:
            rec.step("train")

        def on_prediction_step(self, args: Any, state: Any, control: Any, **kw: Any) -> None:
            rec.step("eval")

    class TimedTrainer(Trainer):  # type: ignore[misc]
        def evaluate(self, *args: Any, **kwargs: Any) -> Any:
            rec.open("eval", 150)
            try:
                return super().evaluate(*args, **kwargs)
            finally:
                rec.close("eval")

    with tempfile.TemporaryDirectory() as out:
        args = TrainingArguments(
            output_dir=out, max_steps=600, per_device_train_batch_size=16,
            per_device_eval_batch_size=32, eval_strategy="steps", eval_steps=100,
            save_strategy="steps", save_steps=200, logging_steps=100, report_to=[],
            disable_tqdm=True, use_cpu=True, dataloader_num_workers=0)
        trainer = TimedTrainer(model=Model(), args=args, train_dataset=train,
                               eval_dataset=evals, callbacks=[Timings()])
        rec.begin(epochs=None)
        rec.open("train", 600)
        trainer.train()
        rec.close("train")


def jax_jit(rec: Recorder) -> None:
    """A JAX ``jit`` loop: 8 epochs of 150 full batches and a partial last one (step
    one compiles, the partial batch compiles again in epoch one), and an evaluation
    of 30 batches after each epoch (compiled on its first call)."""
    import jax
    import jax.numpy as jnp
    import numpy as np

    rng = np.random.default_rng(0)
    x = rng.normal(size=(150 * 64 + 40, 64)).astype("float32")
    y = (x[:, :8].sum(axis=1) > 0).astype("float32")
    key = jax.random.PRNGKey(0)
    k1, k2, k3 = jax.random.split(key, 3)
    params = {"w1": jax.random.normal(k1, (64, 512)) * 0.05,
              "w2": jax.random.normal(k2, (512, 512)) * 0.05,
              "w3": jax.random.normal(k3, (512, 1)) * 0.05}

    def loss_fn(p: Any, xb: Any, yb: Any) -> Any:
        h = jax.nn.relu(xb @ p["w1"])
        h = jax.nn.relu(h @ p["w2"])
        logits = (h @ p["w3"])[:, 0]
        return jnp.mean(jnp.logaddexp(0, logits) - yb * logits)

    @jax.jit
    def train_step(p: Any, xb: Any, yb: Any) -> Any:
        loss, grads = jax.value_and_grad(loss_fn)(p, xb, yb)
        return jax.tree_util.tree_map(lambda a, g: a - 0.01 * g, p, grads), loss

    evaluate = jax.jit(loss_fn)
    batches = [(x[i:i + 64], y[i:i + 64]) for i in range(0, len(x), 64)]
    rec.begin(epochs=8)
    for _ in range(8):
        rec.open("train", len(batches))
        for xb, yb in batches:
            params, loss = train_step(params, xb, yb)
            loss.block_until_ready()
            rec.step("train")
        rec.close("train")
        rec.open("val", 30)
        for xb, yb in batches[:30]:
            evaluate(params, xb, yb).block_until_ready()
            rec.step("val")
        rec.close("val")
        rec.epoch_done()


class _Slow:
    """A dataset whose items cost some CPU (decoding, augmenting)."""

    def __init__(self, n: int) -> None:
        self.n = n

    def __len__(self) -> int:
        return self.n

    def __getitem__(self, i: int) -> Any:
        import torch

        g = torch.Generator().manual_seed(i)
        x = torch.randn(64, 64, generator=g)
        for _ in range(3):
            x = torch.tanh(x @ x.T / 64)
        return x[0], int(x[0, 0] > 0)


def dataloader_restart(rec: Recorder) -> None:
    """PyTorch with a ``DataLoader`` of 2 workers that restart at each epoch (no
    ``persistent_workers``): 5 epochs of 120 training and 30 validation batches."""
    import torch

    train = torch.utils.data.DataLoader(_Slow(120 * 16), batch_size=16, num_workers=2,
                                        multiprocessing_context="spawn")
    val = torch.utils.data.DataLoader(_Slow(30 * 16), batch_size=16, num_workers=2,
                                      multiprocessing_context="spawn")
    model = torch.nn.Sequential(torch.nn.Linear(64, 256), torch.nn.ReLU(), torch.nn.Linear(256, 2))
    opt = torch.optim.SGD(model.parameters(), lr=0.01)
    rec.begin(epochs=5)
    for _ in range(5):
        rec.open("train", len(train))
        for xb, yb in train:
            opt.zero_grad()
            torch.nn.functional.cross_entropy(model(xb), yb).backward()
            opt.step()
            rec.step("train")
        rec.close("train")
        rec.open("val", len(val))
        with torch.no_grad():
            for xb, _ in val:
                model(xb)
                rec.step("val")
        rec.close("val")
        rec.epoch_done()


def lightning_val_check(rec: Recorder) -> None:
    """Lightning ``Trainer``: 3 epochs of 240 steps, validating 40 batches every 60
    training steps (``val_check_interval=60``), the validation inside the epoch."""
    import lightning as L
    import torch

    class Module(L.LightningModule):  # type: ignore[misc]
        def __init__(self) -> None:
            super().__init__()
            self.net = torch.nn.Sequential(torch.nn.Linear(64, 256), torch.nn.ReLU(),
                                           torch.nn.Linear(256, 256), torch.nn.ReLU(),
                                           torch.nn.Linear(256, 2))

        def training_step(self, batch: Any, i: int) -> Any:
            x, y = batch
            return torch.nn.functional.cross_entropy(self.net(x), y)

        def validation_step(self, batch: Any, i: int) -> None:
            x, y = batch
            self.log("val_loss", torch.nn.functional.cross_entropy(self.net(x), y))

        def configure_optimizers(self) -> Any:
            return torch.optim.SGD(self.parameters(), lr=0.01)

    g = torch.Generator().manual_seed(0)
    xs = torch.randn(240 * 16, 64, generator=g)
    ys = (xs[:, :8].sum(dim=1) > 0).long()
    data = torch.utils.data.TensorDataset(xs, ys)
    train = torch.utils.data.DataLoader(data, batch_size=16)
    val = torch.utils.data.DataLoader(torch.utils.data.Subset(data, range(640)), batch_size=16)

    class Timings(L.Callback):  # type: ignore[misc]
        def on_train_epoch_start(self, trainer: Any, module: Any) -> None:
            rec.open("train", 240)

        def on_train_batch_end(self, trainer: Any, module: Any, *a: Any) -> None:
            rec.step("train")

        def on_validation_epoch_start(self, trainer: Any, module: Any) -> None:
            if not trainer.sanity_checking:
                rec.open("val", 40)

        def on_validation_batch_end(self, trainer: Any, module: Any, *a: Any) -> None:
            if not trainer.sanity_checking:
                rec.step("val")

        def on_validation_epoch_end(self, trainer: Any, module: Any) -> None:
            if not trainer.sanity_checking:
                rec.close("val")

        def on_train_epoch_end(self, trainer: Any, module: Any) -> None:
            rec.close("train")
            rec.epoch_done()

    trainer = L.Trainer(max_epochs=3, val_check_interval=60, accelerator="cpu", devices=1,
                        logger=False, enable_checkpointing=False, enable_progress_bar=False,
                        enable_model_summary=False, num_sanity_val_steps=0,
                        callbacks=[Timings()])
    rec.begin(epochs=3)
    trainer.fit(Module(), train, val)


FAMILIES: dict[str, Callable[[Recorder], None]] = {
    "keras_fit": keras_fit,
    "hf_trainer": hf_trainer,
    "jax_jit": jax_jit,
    "dataloader_restart": dataloader_restart,
    "lightning_val_check": lightning_val_check,
}


def main(names: list[str]) -> None:
    for name in names or list(FAMILIES):
        run = FAMILIES[name]
        rec = Recorder(name, (run.__doc__ or "").strip().replace("\n    ", " "))
        t0 = time.perf_counter()
        run(rec)
        rec.end()
        path = HERE / "traces" / f"{name}.json"
        path.write_text(json.dumps(rec.as_json(), separators=(",", ":")) + "\n")
        print(f"{name}: {len(rec.events)} events, {time.perf_counter() - t0:.1f} s -> {path}")


if __name__ == "__main__":
    main(sys.argv[1:])
