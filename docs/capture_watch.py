"""A real job, watched: prints the job's log and the screen of ``progbar watch`` beside
it, for docs/watch.md.

    python docs/capture_watch.py

The job (three epochs of a tiny loop, writing to a log file) runs in a subprocess;
``progbar watch`` runs on a pseudo-terminal of 80 columns, read back through pyte
when the job is in its second epoch.
"""

from __future__ import annotations

import os
import subprocess
import sys
import tempfile
import textwrap
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parent / "tests"))

from support.ptyscreen import run_with_checkpoints  # noqa: E402

JOB = """
import sys, time
from progbar import Progbar, track
log = open(sys.argv[1], "w")
with Progbar(3, label="epoch", file=log) as epochs:
    for epoch in range(3):
        for step in (bar := track(range(40), label="train", file=log)):
            time.sleep(0.1)
            bar.log(loss=1.0 / (step + 1 + 40 * epoch), acc=0.5 + step / 100)
        epochs.add(1, [("val_loss", 0.3 - 0.05 * epoch), ("val_acc", 0.8 + 0.05 * epoch)])
"""


def main() -> None:
    with tempfile.TemporaryDirectory() as tmp:
        runtime = Path(tmp) / "run"
        runtime.mkdir(mode=0o700)
        env = {k: v for k, v in os.environ.items() if not k.startswith("PROGBAR_")}
        env.update(XDG_RUNTIME_DIR=str(runtime), PYTHONPATH=str(HERE.parent))
        log = Path(tmp) / "train.log"
        job = subprocess.Popen([sys.executable, "-c", JOB, str(log)], env=env)
        while not list((runtime / "progbar").glob("*.sock")) if (runtime / "progbar").exists() \
                else True:
            time.sleep(0.05)
        time.sleep(3.0)  # into the second epoch
        run = run_with_checkpoints(textwrap.dedent(f"""
            import sys, threading
            from progbar.__main__ import main
            threading.Timer(1.5, lambda: checkpoint("mid")).start()
            sys.exit(main(["watch", "{job.pid}"]))
            """), cols=80, rows=6, env=env)
        job.wait()
        print("$ tail -3 train.log             # the job's own log, when it ended")
        print("\n".join(log.read_text().splitlines()[-3:]))
        print()
        print(f"$ progbar watch                 # another shell, mid-run (job {job.pid})")
        print("\n".join(row.rstrip() for row in run.rows("mid") if row.strip()))


if __name__ == "__main__":
    main()
