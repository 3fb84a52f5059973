"""PyTorch adapter: :func:`track` for training loops, distributed-aware.

::

    from progbar.torch import epochs, track

    for epoch in epochs(10):                 # "Epoch 1/10", ... (rank 0 only)
        for x, y in (bar := track(loader)):
            loss = step(x, y)
            bar.log(loss=loss)               # a tensor: no host sync per step

Tensor metrics are detached at once (no autograd graph is kept alive), summed where
they live and turned into Python floats only when a line is rendered: at most one
device-to-host copy per metric per render, none between renders.

Under ``torch.distributed`` only global rank 0 prints; the other ranks still record
their metrics.  When the loop is exhausted, every rank takes part in one small
collective (an ``all_gather_object`` of each rank's metric names, totals and counts):
the names are checked first, and if they differ every rank raises the same
``RuntimeError`` (no rank is left waiting); otherwise the totals and counts are summed
so rank 0's final line shows the global average.  **Every rank must run its loop to
the end** (a rank that breaks out early leaves the others waiting in the collective,
as with any collective); pass ``reduce=False`` where ranks' loops differ.

Before ``init_process_group`` the rank is read from the launcher's environment
(``RANK``, else ``LOCAL_RANK``, as torchrun sets them), so non-zero ranks are quiet
from the first line on.  Importing this module imports torch; ``import progbar``
alone never does.
"""

from __future__ import annotations

import os
from typing import Any, Iterable, Iterator, TypeVar

import torch.distributed as dist

from progbar import Progbar, all_ranks, format_epoch
from progbar import track as _track

__all__ = ["epochs", "format_epoch", "global_rank", "reduce_metrics", "track"]

T = TypeVar("T")


def global_rank() -> int:
    """This process's global rank: from ``torch.distributed`` once it is initialized,
    else from the launcher's ``RANK`` / ``LOCAL_RANK`` environment, else 0."""
    if dist.is_available() and dist.is_initialized():
        return int(dist.get_rank())
    for name in ("RANK", "LOCAL_RANK"):
        value = os.environ.get(name, "").strip()
        if value:
            try:
                return int(value)
            except ValueError:
                continue
    return 0


def _quiet_options(options: dict[str, Any]) -> dict[str, Any]:
    # PROGBAR_ALL_RANKS=1 shows every rank, as it does for the core (design.md, "Distributed jobs").
    if global_rank() != 0 and not all_ranks():
        options = dict(options, verbose=0)
    return options


def epochs(n: int, start: int = 0, **options: Any) -> Iterator[int]:
    """``range(start, n)`` that prints Keras's ``Epoch i/n`` header before each epoch.

    Yields 0-based epoch indices, like ``range``; prints ``Epoch {i + 1}/{n}`` on
    global rank 0 only, and, as Keras, only when ``n > 1``.  ``options`` are
    :class:`progbar.Progbar` options (``file``, ``verbose``, ...) for where and
    whether to print.
    """
    options = _quiet_options(options)
    for epoch in range(start, n):
        if n > 1:
            # A bar that is never drawn, used for its write(): the header goes
            # through the writer as every other line does.
            Progbar(None, **options).write(format_epoch(epoch + 1, n))
        yield epoch


def reduce_metrics(bar: Progbar[Any]) -> None:
    """Combine ``bar``'s metrics over the ranks of the default process group.

    A collective: every rank must call it.  One ``all_gather_object`` carries each
    rank's metric names, totals and counts; the names are checked first, and a
    mismatch raises ``RuntimeError`` on every rank.  Then each metric's totals and
    counts are summed, so the bar shows the global step-weighted average.  Does
    nothing outside an initialized process group of more than one rank.
    """
    if not (dist.is_available() and dist.is_initialized()) or dist.get_world_size() < 2:
        return
    totals = bar.totals()
    # One host copy per metric, here at the end of the loop, not per step.
    mine = {name: (_to_float(total), float(count)) for name, (total, count) in totals.items()}
    gathered: list[Any] = [None] * dist.get_world_size()
    dist.all_gather_object(gathered, mine)
    names = [sorted(part) for part in gathered]
    if any(n != names[0] for n in names):
        listing = "; ".join(f"rank {r}: {n}" for r, n in enumerate(names))
        raise RuntimeError(
            "progbar.torch: the ranks logged different metric names, so their averages "
            f"cannot be combined ({listing}). Log the same metrics on every rank, or "
            "pass reduce=False to track()."
        )
    combined = {
        name: (sum(part[name][0] for part in gathered), sum(part[name][1] for part in gathered))
        for name in mine
    }
    bar.set_totals(combined)


def _to_float(value: Any) -> float:
    try:
        return float(value)
    except Exception:
        return float("nan")


def track(
    iterable: Iterable[T],
    target: int | None = None,
    *,
    reduce: bool = True,
    **options: Any,
) -> Progbar[T]:
    """:func:`progbar.track` for PyTorch loops.

    Same items, same options.  Only global rank 0 prints.  With ``reduce=True`` (the
    default), when the loop is exhausted the metrics of all ranks are combined (see
    :func:`reduce_metrics`) before the final line, so it shows the global average;
    every rank must then run the loop to its end.
    """
    if target is None:
        try:
            target = len(iterable)  # type: ignore[arg-type]
        except Exception:
            target = None
    holder: list[Progbar[T]] = []

    def items() -> Iterator[T]:
        yield from iterable
        # The loop is exhausted and the last step's log() is in: combine the ranks
        # before the core draws the final line.
        if reduce:
            reduce_metrics(holder[0])

    bar = _track(items(), target, **_quiet_options(options))
    holder.append(bar)
    return bar
