"""Ray: a bar that moves as tasks finish, and a handle usable on any node.

See design.md, "Workers, async code, Ray".

``import progbar.ray`` imports Ray; ``import progbar`` never does.

- ``progbar.ray.get(refs, **options)`` returns what ``ray.get(refs)`` returns; the bar
  moves as tasks finish (``ray.wait``: no polling loop, no sleeps).
- ``progbar.ray.handle(bar)`` returns a handle with :class:`progbar.Handle`'s
  interface for tasks and actors on any node.  Workers batch exactly as a
  ``progbar.Handle`` does (a local sum, one send per interval) and send to one small
  actor (``num_cpus=0``); the driver takes what the actor holds once per interval and
  once more when the bar closes.  A task should end its use with ``with handle:`` or
  ``handle.close()``, which waits until its last batch is in the actor, so that the
  driver's final line holds it.
"""

from __future__ import annotations

import threading
import uuid
import weakref
from typing import Any

import ray

from . import Progbar
from .transport import LIVE, BatchApplier, Handle, WorkerClient, WorkerSpec, add_drainer

__all__ = ["RayHandle", "get", "handle"]

def get(refs: Any, **options: Any) -> Any:
    """``ray.get(refs)`` with a bar that moves as each task finishes.

    ``refs`` is an ``ObjectRef`` or a list of them; ``options`` are
    :class:`progbar.Progbar`'s.
    """
    if isinstance(refs, ray.ObjectRef):
        todo = [refs]
    else:
        todo = list(refs)
    counts: dict[Any, int] = {}
    for ref in todo:  # ray.wait wants unique refs; a repeated ref counts each time
        counts[ref] = counts.get(ref, 0) + 1
    bar: Progbar[Any]
    with Progbar(len(todo), **options) as bar:
        pending = list(counts)
        while pending:
            done, pending = ray.wait(pending, num_returns=1)
            if pending:  # whatever else is ready too, without waiting
                more, pending = ray.wait(pending, num_returns=len(pending), timeout=0)
                done += more
            bar.add(sum(counts[ref] for ref in done))
        return ray.get(refs)


@ray.remote(num_cpus=0)
class _Relay:
    """Holds batches from workers until the driver takes them."""

    def __init__(self) -> None:
        self.batches: list[tuple[str, Any]] = []

    def report(self, client: str, batch: Any) -> None:
        self.batches.append((client, batch))

    def take(self) -> list[tuple[str, Any]]:
        out, self.batches = self.batches, []
        return out


class _RayClient(WorkerClient):
    """A worker's side: the socket client's batching, sent through the relay."""

    def connect(self, timeout: float) -> None:
        self.relay = self.key
        self.id = uuid.uuid4().hex
        self.last: Any = None
        self.stopped = threading.Event()

    def run(self) -> None:
        try:
            while self.state is LIVE and not self.stopped.wait(self.interval):
                self.flush()
        except Exception:
            self.die()

    def send(self, msg: tuple[Any, ...]) -> None:
        self.last = self.relay.report.remote(self.id, msg[2])
        self.sent_messages += 1

    def delivered(self) -> None:
        """Wait until the actor holds every batch sent (calls from one caller run in
        order, so the last one is enough)."""
        last = self.last
        if last is not None:
            try:
                ray.get(last)
            except Exception:  # the driver closed the bar: go on silently
                self.die()


_ray_clients: dict[str, _RayClient] = {}
_ray_lock = threading.Lock()


class RayHandle(Handle):
    """:class:`progbar.Handle`'s interface for Ray tasks and actors on any node."""

    __slots__ = ()

    def __reduce__(self) -> tuple[Any, ...]:
        return (_rebuild, (self._spec,))

    def _client(self) -> WorkerClient:
        c = self._c
        if c is None:
            with _ray_lock:
                c = _ray_clients.get(self._spec.address)
                if c is None:
                    c = _ray_clients[self._spec.address] = _RayClient(self._spec)
            self._c = c
        return c

    def close(self) -> None:
        """Send what is pending and wait until the driver's actor has it."""
        c = self._client()
        if c.state is LIVE:
            c.flush()
            if isinstance(c, _RayClient):
                c.delivered()


def _rebuild(spec: WorkerSpec) -> RayHandle:
    return RayHandle(spec)


class _Poller:
    """The driver's side: takes batches from the relay once per interval."""

    def __init__(self, bar: Progbar[Any], interval: float) -> None:
        self.bar = weakref.ref(bar)
        self.relay = _Relay.remote()  # type: ignore[attr-defined]
        self.name = "ray:" + uuid.uuid4().hex
        self.interval = interval
        self.peers: dict[str, BatchApplier] = {}
        self.stopped = threading.Event()
        self.lock = threading.Lock()
        self.thread = threading.Thread(target=self.run, name="progbar-ray", daemon=True)
        self.thread.start()

    def run(self) -> None:
        while not self.stopped.wait(self.interval):
            try:
                self.pull()
            except Exception:  # the cluster is going down: the final pull decides
                pass

    def pull(self) -> None:
        with self.lock:
            bar = self.bar()
            if bar is None:
                return
            for client, batch in ray.get(self.relay.take.remote()):
                peer = self.peers.get(client)
                if peer is None:
                    peer = self.peers[client] = BatchApplier()
                try:
                    peer.apply(bar, batch)
                except Exception:
                    pass

    def close(self) -> None:
        self.stopped.set()
        if threading.current_thread() is not self.thread:
            self.thread.join(5.0)
        try:
            self.pull()
        except Exception:
            pass
        for peer in self.peers.values():
            peer.end()
        try:
            ray.kill(self.relay)
        except Exception:
            pass


_pollers: weakref.WeakKeyDictionary[Progbar[Any], tuple[_Poller, WorkerSpec]] = (
    weakref.WeakKeyDictionary()
)


def handle(bar: Progbar[Any]) -> RayHandle:
    """A handle on ``bar`` for Ray tasks and actors, on any node of the cluster."""
    known = _pollers.get(bar)
    if known is not None:
        return RayHandle(known[1])
    if bar.closed:
        return RayHandle(WorkerSpec(None, None, None, 1.0, frozenset(), None))
    interval = max(bar.interval, 0.02)
    poller = _Poller(bar, interval)
    stateful, stateless = bar.stateful_names
    spec = WorkerSpec(poller.name, None, poller.relay, interval, stateful, stateless)
    _pollers[bar] = (poller, spec)
    add_drainer(bar, poller.close)
    return RayHandle(spec)

