"""progbar.ray on a local two-node cluster: get() and handle() from both nodes (design.md, "Workers, async code, Ray").

One module-scoped cluster (Ray's start-up is the slow part); every address is the
loopback.
"""

from __future__ import annotations

import io
import os
import sys
from typing import Any, Iterator

import pytest

os.environ["RAY_ENABLE_WINDOWS_OR_OSX_CLUSTER"] = "0"
ray = pytest.importorskip("ray")
cluster_utils = pytest.importorskip("ray.cluster_utils")

import progbar  # noqa: E402
import progbar.ray  # noqa: E402


@pytest.fixture(scope="module")
def cluster() -> Iterator[Any]:
    root = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
    os.environ["PYTHONPATH"] = os.pathsep.join(
        [root] + [p for p in os.environ.get("PYTHONPATH", "").split(os.pathsep) if p])
    c = cluster_utils.Cluster(
        initialize_head=True,
        connect=True,
        head_node_args={"num_cpus": 1, "node_ip_address": "127.0.0.1",
                        "include_dashboard": False, "resources": {"head": 1}},
    )
    c.add_node(num_cpus=1, node_ip_address="127.0.0.1", resources={"other": 1})
    c.wait_for_nodes()
    try:
        yield c
    finally:
        ray.shutdown()
        c.shutdown()


@ray.remote(num_cpus=0)
def task(h: Any, i: int) -> str:
    with h:  # the last batch is in the relay actor when the task returns
        for _ in range(10):
            h.add(1, [("loss", i)])
        with h.bar(4, label=f"task {i}") as child:
            child.add(4)
    return str(ray.get_runtime_context().get_node_id())


@ray.remote(num_cpus=0)
class Reporter:
    def __init__(self, h: Any) -> None:
        self.h = h

    def run(self, n: int) -> str:
        for _ in range(n):
            self.h.add(1, [("loss", 100.0)])
        self.h.close()
        return str(ray.get_runtime_context().get_node_id())


def last(out: io.StringIO) -> str:
    return out.getvalue().strip().splitlines()[-1].strip()


def test_tasks_and_an_actor_on_both_nodes_report_exactly(cluster: Any) -> None:
    out = io.StringIO()
    bar = progbar.Progbar(None, file=out, dynamic=False)
    h = progbar.ray.handle(bar)
    refs = [task.options(resources={"head" if i % 2 else "other": 0.01}).remote(h, i)
            for i in range(20)]
    actor = Reporter.options(resources={"other": 0.01}).remote(h)
    refs.append(actor.run.remote(20))
    shown = io.StringIO()
    nodes = progbar.ray.get(refs, file=shown, dynamic=False)
    bar.close()
    assert len(set(nodes)) == 2  # both nodes reported
    assert last(shown).startswith("21/21 100%")
    # 20 tasks x 10 steps of loss i (mean 9.5) + the actor's 20 steps of 100.0
    assert last(out).startswith("220 ")
    assert bar.metrics() == {"loss": (10 * sum(range(20)) + 20 * 100.0) / 220}
    children = [line for line in out.getvalue().splitlines() if "4/4 100%" in line]
    assert len(children) == 20


def test_get_returns_what_ray_get_returns(cluster: Any) -> None:
    @ray.remote(num_cpus=0)
    def square(x: int) -> int:
        return x * x

    refs = [square.remote(i) for i in range(8)]
    out = io.StringIO()
    assert progbar.ray.get(refs + refs[:2], file=out, dynamic=False) == ray.get(refs + refs[:2])
    assert last(out).startswith("10/10 100%")
    assert progbar.ray.get(square.remote(3), verbose=0) == 9


def test_ray_is_imported_only_by_progbar_ray() -> None:
    import subprocess

    code = "import sys, progbar; progbar.Progbar(1, verbose=0); print('ray' in sys.modules)"
    root = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
    got = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                         check=True, cwd=root).stdout.strip()
    assert got == "False"
