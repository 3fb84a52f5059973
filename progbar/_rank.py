"""Which process of a distributed job this is, read from the launcher's environment.

Under ``torchrun``, ``accelerate launch``, ``srun`` or ``mpirun`` every process runs the
same script; only one of them (rank 0) should draw.  The launchers say which process
is which in environment variables, so the rank is known before any framework is
imported or initialised (adapters refine it with the framework's own rank later).
"""

from __future__ import annotations

import os

__all__ = ["all_ranks", "is_main_process", "process_rank"]

# Checked in this order; the first one set wins.
_RANK_VARS = ("RANK", "PMI_RANK", "OMPI_COMM_WORLD_RANK", "MV2_COMM_WORLD_RANK")


def _int(raw: str | None) -> int | None:
    if raw is None:
        return None
    try:
        return int(raw.strip())
    except ValueError:
        return None


def process_rank() -> int:
    """This process's rank in its job, 0 when it is not part of one.

    ``RANK`` (torchrun, accelerate, DeepSpeed), then ``PMI_RANK`` /
    ``OMPI_COMM_WORLD_RANK`` / ``MV2_COMM_WORLD_RANK`` (MPI), then ``SLURM_PROCID``
    when ``SLURM_NTASKS`` > 1 (a single-task ``srun`` or an ``sbatch`` shell is no
    job of several processes), then ``JSM_NAMESPACE_RANK`` (LSF ``jsrun``).  An
    unreadable value counts as unset.
    """
    env = os.environ
    for name in _RANK_VARS:
        rank = _int(env.get(name))
        if rank is not None:
            return rank
    tasks = _int(env.get("SLURM_NTASKS"))
    if tasks is not None and tasks > 1:
        rank = _int(env.get("SLURM_PROCID"))
        if rank is not None:
            return rank
    rank = _int(env.get("JSM_NAMESPACE_RANK"))
    return rank if rank is not None else 0


def all_ranks() -> bool:
    """True when ``PROGBAR_ALL_RANKS=1`` asks every process of a distributed job to
    draw, not only rank 0 (adapters that learn the rank from their framework follow
    it too)."""
    raw = os.environ.get("PROGBAR_ALL_RANKS", "").strip().lower()
    return raw not in ("", "0", "false", "no", "off")


def is_main_process() -> bool:
    """True where bars should draw: rank 0, or every rank with ``PROGBAR_ALL_RANKS=1``."""
    return all_ranks() or process_rank() == 0
