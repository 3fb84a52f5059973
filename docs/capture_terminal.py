"""Capture the terminal screens shown in the README's "Several bars" section.

Each example runs on a real pseudo-terminal (80 x 12) with an injected clock; the
screen is read back through pyte mid-run (at the script's ``checkpoint``) and at the
end, and printed as the README shows it::

    python docs/capture_terminal.py
"""

from __future__ import annotations

import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "tests"))

from ptyscreen import run_with_checkpoints  # noqa: E402

NESTED = """
from progbar import track
clock = Clock()

for epoch in (epochs := track(range(3), label="epoch", clock=clock)):
    for batch in (bar := track(range(200), label="train", clock=clock)):
        clock.t += 0.05  # one training step
        bar.log(loss=0.9 / (1 + epoch + batch / 200), acc=0.6 + 0.1 * epoch)
        if epoch == 1 and batch == 120:
            bar.write("checkpoint saved")
            checkpoint("mid")
"""

THREADS = """
import threading
from progbar import Progbar
clock = Clock()
ready, go = threading.Barrier(5), threading.Event()

def download(i, size):
    with Progbar(size, label=f"shard {i}", unit_name="MB", clock=clock) as bar:
        for k in range(1, size // (i + 2) + 1):
            clock.t += 0.01
            bar.update(k)
        ready.wait()
        go.wait()
        bar.update(size)

threads = [threading.Thread(target=download, args=(i, 400)) for i in range(4)]
for t in threads:
    t.start()
ready.wait()
checkpoint("mid")
go.set()
for t in threads:
    t.join()
"""


def show(title: str, code: str) -> None:
    run = run_with_checkpoints(code, cols=80, rows=12)
    print(f"--- {title}: mid-run")
    print("\n".join(run.rows("mid")))
    print(f"--- {title}: at the end")
    print("\n".join(run.rows()))


if __name__ == "__main__":
    show("nested", NESTED)
    show("threads", THREADS)
