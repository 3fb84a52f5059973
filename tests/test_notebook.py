"""The notebook bar, proven in a real Jupyter kernel (nbclient + ipykernel).

The kernel runs from a kernelspec written into a temporary JUPYTER_PATH that points
at this interpreter, so the test needs no installed kernelspec.  Every message the
kernel sends is recorded; the executed notebook's outputs are the final state a
user would see.  Time in the kernel is a fake clock advanced by the cell.
"""

from __future__ import annotations

import importlib
import json
import sys
from pathlib import Path
from typing import Any

import pytest

nbformat = importlib.import_module("nbformat")
nbclient = importlib.import_module("nbclient")
importlib.import_module("ipykernel")

ROOT = Path(__file__).resolve().parents[1]
KERNEL = "progbar-test-python"
STEPS = 100_000
DT = 1e-4  # fake seconds per step: the loop "takes" 10 s

BAR_CELL = f"""
import sys
import progbar
from progbar import Progbar

t = [0.0]
bar = Progbar({STEPS}, clock=lambda: t[0])
for i in range(1, {STEPS} + 1):
    t[0] += {DT}
    bar.update(i, [("loss", 0.25 + (i % 2) * 0.5), ("acc", 0.5 + (i % 2) * 0.25)])
bar.close()
assert "IPython" in sys.modules and "ipywidgets" not in sys.modules
print(type(bar._display).__name__, bar._display.updates)
"""

KERAS_CELL = """
t2 = [0.0]
kbar = Progbar(20, style="keras", clock=lambda: t2[0])
for i in range(1, 21):
    t2[0] += 0.1
    kbar.update(i, [("loss", 1.0)])
"""

UNFINISHED_CELL = """
left = Progbar(1000, clock=lambda: 0.0)
left.update(10)  # an interrupted loop: never finished, never closed
"""

NESTED_CELL = """
t3 = [0.0]
for epoch in (outer := progbar.track(range(3), label="epoch", clock=lambda: t3[0])):
    for step in (inner := progbar.track(range(200), label="train", clock=lambda: t3[0])):
        t3[0] += 0.01
        inner.log(loss=1.0)
        if epoch == 1 and step == 100:
            inner.write("checkpoint saved")
"""

HISTORY_CELL = """
progbar.History({"loss": [0.9, 0.5, 0.3, 0.25], "accuracy": [0.6, 0.8, 0.85, 0.9]})
"""


class RecordingClient(nbclient.NotebookClient):  # type: ignore[misc]
    """Keeps every IOPub message type per cell, alongside the usual outputs."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.messages: dict[int, list[dict[str, Any]]] = {}

    def process_message(self, msg: dict[str, Any], cell: Any, cell_index: int) -> Any:
        self.messages.setdefault(cell_index, []).append(msg)
        return super().process_message(msg, cell, cell_index)


@pytest.fixture(scope="module")
def executed(tmp_path_factory: pytest.TempPathFactory) -> tuple[Any, RecordingClient]:
    home = tmp_path_factory.mktemp("jupyter")
    spec_dir = home / "kernels" / KERNEL
    spec_dir.mkdir(parents=True)
    spec = {
        "argv": [sys.executable, "-m", "ipykernel_launcher", "-f", "{connection_file}"],
        "display_name": "progbar test",
        "language": "python",
        "env": {"PYTHONPATH": str(ROOT)},
    }
    (spec_dir / "kernel.json").write_text(json.dumps(spec))
    mp = pytest.MonkeyPatch()
    mp.setenv("JUPYTER_PATH", str(home))
    mp.setenv("JUPYTER_PLATFORM_DIRS", "1")
    mp.setenv("JUPYTER_RUNTIME_DIR", str(home / "runtime"))
    try:
        nb = nbformat.v4.new_notebook()
        nb.cells = [nbformat.v4.new_code_cell(c) for c in (BAR_CELL, KERAS_CELL, HISTORY_CELL,
                                                              UNFINISHED_CELL, NESTED_CELL)]
        client = RecordingClient(
            nb, kernel_name=KERNEL, timeout=60, resources={"metadata": {"path": str(home)}}
        )
        client.execute()
    finally:
        mp.undo()
    return nb, client


def _types(client: RecordingClient, cell: int) -> list[str]:
    return [m["msg_type"] for m in client.messages.get(cell, [])]


def test_default_bar_is_one_html_display_updated_in_place(executed: Any) -> None:
    nb, client = executed
    types = _types(client, 0)
    assert types.count("display_data") == 1
    updates = types.count("update_display_data")
    # The loop's 100,000 steps take 10 fake seconds and the notebook renders at most
    # every 0.1 s: about 100 updates, never one per step.
    assert 2 <= updates <= 10 / 0.1 + 2
    assert "stream" in types  # the print at the end

    outputs = nb.cells[0].outputs
    displays = [o for o in outputs if o.output_type == "display_data"]
    assert len(displays) == 1  # updated in place: still one output
    html = displays[0].data["text/html"]
    assert "<div" in html and 'aria-valuenow="100"' in html and "width:100.00%" in html
    assert f"{STEPS}/{STEPS} 100%" in html
    # averaged, not the last value passed (0.25 / 0.5 on an even step)
    assert "loss: 0.5000" in html and "acc: 0.6250" in html
    assert "\r" not in html and "\x1b" not in html
    # frontends without HTML (jupyter console) get the plain line, not an object repr
    plain = displays[0].data["text/plain"]
    assert plain.startswith(f"{STEPS}/{STEPS} 100% ") and "loss: 0.5000" in plain
    text = "".join(o.text for o in outputs if o.output_type == "stream")
    assert text.split() == ["NotebookDisplay", str(updates)]


def test_keras_style_keeps_its_text_in_a_notebook(executed: Any) -> None:
    nb, client = executed
    types = _types(client, 1)
    assert "display_data" not in types and "update_display_data" not in types
    text = "".join(o.text for o in nb.cells[1].outputs if o.output_type == "stream")
    assert "20/20" in text and "loss: 1.0000" in text


def test_history_renders_an_svg_chart(executed: Any) -> None:
    nb, _ = executed
    (result,) = [o for o in nb.cells[2].outputs if o.output_type == "execute_result"]
    html = result.data["text/html"]
    assert html.count("<svg") == 2 and "<polyline" in html
    assert "loss" in html and "accuracy" in html and "4 epochs" in html


def test_nested_bars_are_one_display_updated_in_place(executed: Any) -> None:
    nb, client = executed
    # the bar left unfinished in the cell before keeps its own output, untouched
    (left,) = [o for o in nb.cells[3].outputs if o.output_type == "display_data"]
    assert "10/1000" in left.data["text/plain"] and "train" not in left.data["text/html"]
    types = _types(client, 4)
    assert types.count("display_data") == 1  # one HTML output for the whole block
    assert types.count("update_display_data") >= 3
    outputs = nb.cells[4].outputs
    displays = [o for o in outputs if o.output_type == "display_data"]
    assert len(displays) == 1
    assert not [o for o in outputs if o.output_type == "stream"]  # write() went in it
    html = displays[0].data["text/html"]
    # finished bars stay as rows, in finishing order, the message above the later ones
    order = [html.index(text) for text in (
        "train 200/200", "checkpoint saved", "epoch 3/3 100%")]
    assert order == sorted(order)
    assert html.count("train 200/200 100%") == 3 and html.count("epoch 3/3") == 1
    plain = displays[0].data["text/plain"].splitlines()
    assert plain[0].startswith("train 200/200 100%") and plain[1] == "checkpoint saved"
    assert plain[-1].startswith("epoch 3/3 100%") and len(plain) == 5
