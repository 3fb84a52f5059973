"""7. Tensor metrics: host syncs per render (none between renders)."""

from __future__ import annotations

import time
from typing import Any

from .common import Recorder, Row


def case_tensors(steps: int) -> list[Row]:
    try:
        import torch

        import progbar.torch as pt
    except Exception as exc:
        return [Row("7. tensor host syncs", "skipped", "-", f"({type(exc).__name__})")]
    if not hasattr(pt, "track"):
        return [Row("7. tensor host syncs", "skipped", "-", "(no progbar.torch.track)")]
    counts = {"n": 0}
    names = {"item", "__float__", "tolist", "cpu", "numpy", "__bool__", "__int__"}

    class Counting(torch.Tensor):
        @classmethod
        def __torch_function__(cls, func: Any, types: Any, args: Any = (), kw: Any = None) -> Any:
            if getattr(func, "__name__", "") in names:
                counts["n"] += 1
            return super().__torch_function__(func, types, args, kw or {})

    rec = Recorder()
    w = torch.randn(8).as_subclass(Counting)
    for i in (bar := pt.track(range(steps), file=rec, dynamic=False, interval=0.005)):
        h = w * (i % 7)
        bar.log(loss=(h**2).sum(), acc=(h > 0).float().mean())
        time.sleep(0.0005)
    renders = sum(1 for _, text in rec.events if "/" in text)
    per_render = counts["n"] / max(renders, 1)
    return [Row(
        f"7. tensor metrics ({steps} steps, 2 metrics)", "progbar.torch track", "line (recorder)",
        f"{counts['n']} syncs", f"{renders} renders", f"{per_render:.1f}/render",
        ratio=per_render, value=2,  # syncs per render, for this many metrics
    )]
