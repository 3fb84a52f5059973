"""11. ``progbar.open``: 64 KiB reads of a large file, beside a plain ``read()`` loop and tqdm."""

from __future__ import annotations

import os
import statistics
import tempfile
from typing import Any, Callable

import progbar

from .common import Pty, Row, fmt_ns, round_robin, tqdm_mod


def case_files(mib: int, rounds: int, tty: Pty) -> list[Row]:
    """11. Reading a file in 64 KiB reads: a plain ``read()`` loop, ``progbar.open`` and
    ``tqdm.wrapattr`` (target: <= 1.05x plain).  The file is read from the page
    cache, so the bar's share is as large as it can be; ns per read."""

    chunk = 64 * 1024
    fd, path = tempfile.mkstemp(prefix="progbar-bench-")
    with os.fdopen(fd, "wb") as f:
        f.write(os.urandom(1024 * 1024) * mib)
    reads = mib * 16

    def plain() -> int:
        with open(path, "rb") as f:
            read = f.read
            while read(chunk):
                pass
        return reads

    def ours(**kw: Any) -> Callable[[], int]:
        def run() -> int:
            with progbar.open(path, **kw) as f:
                read = f.read
                while read(chunk):
                    pass
            return reads

        return run

    variants: dict[str, Callable[[], int]] = {
        "plain read() loop": plain,
        "progbar.open": ours(file=tty.file, dynamic=True),
        "progbar.open · silent": ours(verbose=0),
    }
    if tqdm_mod is not None:

        def tq() -> int:
            with open(path, "rb") as raw, tqdm_mod.tqdm.wrapattr(
                raw, "read", total=os.path.getsize(path), file=tty.file
            ) as f:
                read = f.read
                while read(chunk):
                    pass
            return reads

        variants["tqdm.wrapattr"] = tq
    try:
        res = round_robin(variants, rounds)
    finally:
        os.unlink(path)
    base = "plain read() loop"
    rows = []
    for name, ts in res.items():
        ratios = [t / b for t, b in zip(ts, res[base])]
        what, _, mode = name.partition(" · ")
        ratio = None if name == base else statistics.median(ratios)
        rows.append(Row(
            f"11. file read, 64 KiB reads ({mib} MiB)", what,
            "-" if name == base else mode or "live pty",
            fmt_ns(min(ts)), fmt_ns(statistics.median(ts)),
            "" if name == base else fmt_ns(min(ts) - min(res[base])),
            "" if ratio is None else
            f"{ratio:.3f}× plain" + (" (target ≤ 1.05)" if what == "progbar.open" else ""),
            ratio,
        ))
    return rows
