"""Process rank from the launcher's environment (design.md, "Distributed jobs"): one display per job.

Each case runs a plain ``track()`` loop in a fresh interpreter with the launcher's
variables set, as ``torchrun``, ``mpirun`` or ``srun`` would set them, and checks that
only rank 0 prints (every rank with ``PROGBAR_ALL_RANKS=1``) and that
``progbar.process_rank()`` reads the right number.  No framework is imported."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest
from conftest import needs

import progbar
from progbar._rank import is_main_process

ROOT = Path(__file__).resolve().parent.parent

_LAUNCHER_VARS = ("RANK", "LOCAL_RANK", "WORLD_SIZE", "PMI_RANK", "OMPI_COMM_WORLD_RANK",
                  "MV2_COMM_WORLD_RANK", "SLURM_PROCID", "SLURM_NTASKS", "JSM_NAMESPACE_RANK",
                  "PROGBAR_ALL_RANKS", "PROGBAR_DISABLE", "PROGBAR_DYNAMIC")

_CHILD = """
import sys
import progbar
for _ in (bar := progbar.track(range(3))):
    bar.log(loss=1.0)
bar.write("a message")
print(progbar.process_rank(), file=sys.stderr)
"""

# (environment, expected rank, prints?)
CASES: list[tuple[dict[str, str], int, bool]] = [
    ({}, 0, True),
    ({"RANK": "0", "WORLD_SIZE": "4"}, 0, True),  # torchrun / accelerate launch
    ({"RANK": "3", "WORLD_SIZE": "4"}, 3, False),
    ({"PMI_RANK": "0"}, 0, True),  # MPICH / Intel MPI
    ({"PMI_RANK": "2"}, 2, False),
    ({"OMPI_COMM_WORLD_RANK": "0"}, 0, True),  # Open MPI
    ({"OMPI_COMM_WORLD_RANK": "5"}, 5, False),
    ({"MV2_COMM_WORLD_RANK": "1"}, 1, False),  # MVAPICH
    ({"SLURM_PROCID": "1", "SLURM_NTASKS": "4"}, 1, False),  # srun -n 4
    ({"SLURM_PROCID": "0", "SLURM_NTASKS": "4"}, 0, True),
    # a single-task srun or an sbatch shell is no job of several processes
    ({"SLURM_PROCID": "1"}, 0, True),
    ({"SLURM_PROCID": "1", "SLURM_NTASKS": "1"}, 0, True),
    ({"JSM_NAMESPACE_RANK": "7"}, 7, False),  # LSF jsrun
    # RANK wins over the others: torchrun inside an srun allocation
    ({"RANK": "0", "SLURM_PROCID": "3", "SLURM_NTASKS": "8"}, 0, True),
    ({"RANK": "2", "OMPI_COMM_WORLD_RANK": "0"}, 2, False),
    ({"RANK": "junk", "PMI_RANK": "1"}, 1, False),  # unreadable counts as unset
    ({"RANK": " 1 "}, 1, False),
    # PROGBAR_ALL_RANKS=1: every rank draws
    ({"RANK": "3", "PROGBAR_ALL_RANKS": "1"}, 3, True),
    ({"SLURM_PROCID": "2", "SLURM_NTASKS": "4", "PROGBAR_ALL_RANKS": "1"}, 2, True),
    ({"RANK": "3", "PROGBAR_ALL_RANKS": "0"}, 3, False),
]


def _env(extra: dict[str, str]) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if k not in _LAUNCHER_VARS}
    env["PYTHONPATH"] = str(ROOT) + os.pathsep + env.get("PYTHONPATH", "")
    env.update(extra)
    return env


@pytest.mark.parametrize(("extra", "rank", "prints"), CASES, ids=[
    ",".join(f"{k}={v}" for k, v in case[0].items()) or "none" for case in CASES
])
def test_plain_track_loop_prints_on_rank_zero_only(
    extra: dict[str, str], rank: int, prints: bool
) -> None:
    done = subprocess.run(
        [sys.executable, "-c", _CHILD], env=_env(extra), capture_output=True, text=True,
        timeout=60, check=False,
    )
    assert done.returncode == 0, done.stderr
    assert done.stderr.strip() == str(rank)
    if prints:
        lines = done.stdout.splitlines()
        assert "a message" in lines
        assert any(line.startswith("3/3") and "loss: 1.0000" in line for line in lines), lines
    else:
        assert done.stdout == ""  # not a byte: no bar, no message


def test_process_rank_in_process(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in _LAUNCHER_VARS:
        monkeypatch.delenv(name, raising=False)
    assert progbar.process_rank() == 0 and is_main_process()
    monkeypatch.setenv("SLURM_PROCID", "2")
    monkeypatch.setenv("SLURM_NTASKS", "3")
    assert progbar.process_rank() == 2 and not is_main_process()
    monkeypatch.setenv("PROGBAR_ALL_RANKS", "yes")
    assert is_main_process()
    monkeypatch.setenv("PMI_RANK", "1")
    assert progbar.process_rank() == 1  # MPI's variable before Slurm's


_TORCH_CHILD = """
import sys
from progbar.torch import epochs, track
for epoch in epochs(2):
    for _ in (bar := track(range(3))):
        bar.log(loss=1.0)
"""


@needs("torch")
@pytest.mark.parametrize(("extra", "prints"), [
    ({"RANK": "1", "WORLD_SIZE": "2"}, False),
    ({"RANK": "1", "WORLD_SIZE": "2", "PROGBAR_ALL_RANKS": "1"}, True),
    ({"RANK": "0", "WORLD_SIZE": "2"}, True),
])
def test_torch_adapter_follows_the_same_rule(extra: dict[str, str], prints: bool) -> None:
    # before init_process_group, progbar.torch reads the launcher's rank too
    done = subprocess.run(
        [sys.executable, "-c", _TORCH_CHILD], env=_env(extra), capture_output=True, text=True,
        timeout=120, check=False,
    )
    assert done.returncode == 0, done.stderr
    lines = done.stdout.splitlines()
    if prints:
        assert lines[0] == "Epoch 1/2" and lines[2].split(" - ")[0] == "Epoch 2/2", lines
        assert lines[1].startswith("3/3") and "loss: 1.0000" in lines[1]
    else:
        assert done.stdout == ""
