"""5. ``import progbar`` above ``python -c pass``, beside ``import tqdm``, in subprocesses."""

from __future__ import annotations

import os
import statistics
import subprocess
import sys
import time

from .common import Row, keras, rich_progress, tqdm_mod


def case_import(reps: int, with_keras: bool) -> list[Row]:
    stmts = {"python -c pass": "pass", "import progbar": "import progbar"}
    if tqdm_mod is not None:
        stmts["import tqdm"] = "import tqdm"
    if rich_progress is not None:
        stmts["import rich.progress"] = "import rich.progress"
    if keras is not None and with_keras:
        stmts["import keras (torch)"] = "import keras"
    # Bytecode is cached in a private folder, as an installed package has it (a
    # source tree where writing bytecode is off would be compiled at every import).
    import tempfile

    cache = tempfile.mkdtemp(prefix="progbar-bench-pyc-")
    env = dict(os.environ, PYTHONPATH=os.path.join(os.path.dirname(__file__), "..", ".."),
               PYTHONPYCACHEPREFIX=cache)
    env.pop("PYTHONDONTWRITEBYTECODE", None)
    for stmt in stmts.values():  # warm the cache (and the OS's file cache)
        subprocess.run([sys.executable, "-c", stmt], env=env, check=True)
    times: dict[str, list[float]] = {k: [] for k in stmts}
    for r in range(reps):
        for name, stmt in stmts.items():
            if name.startswith("import keras") and r >= 3:
                continue
            t0 = time.perf_counter()
            subprocess.run([sys.executable, "-c", stmt], env=env, check=True)
            times[name].append((time.perf_counter() - t0) * 1e3)
    base = min(times["python -c pass"])
    base_med = statistics.median(times["python -c pass"])
    tqdm_net = min(times["import tqdm"]) - base if "import tqdm" in times else None
    rows = []
    for name, ts in times.items():
        ratio = (min(ts) - base) / tqdm_net if name == "import progbar" and tqdm_net else None
        rows.append(Row(
            "5. import (ms, subprocess)", name, "-", f"{min(ts):.1f}",
            f"{statistics.median(ts):.1f}",
            "" if name == "python -c pass"
            else f"{min(ts) - base:.1f} (med {statistics.median(ts) - base_med:.1f})",
            f"{ratio:.2f}× import tqdm" if ratio is not None else "", ratio,
            value=min(ts) - base,
        ))
    return rows
