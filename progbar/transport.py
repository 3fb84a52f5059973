"""The extension point for transports of worker handles.

``bar.handle()`` carries a worker's counts and metrics to its bar over a Unix socket
(see ``progbar.Handle``).  Another transport -- ``progbar.ray`` sends them through a
Ray actor, so that tasks on any node of a cluster can report -- reuses the two halves
that make the counts exact, and replaces only how bytes travel:

* :class:`WorkerSpec`: what a handle carries to a worker (a named tuple; a transport
  puts its own channel in ``address`` and ``key``, and ``None`` in ``family``).
* :class:`WorkerClient`, the worker's side: it gathers ``add``/``log``/``write`` calls
  and sends a batch at most once per interval.  A transport subclasses it and
  overrides the three methods of :class:`Transport`.
* :class:`BatchApplier`, the parent's side: ``apply(bar, batch)`` merges one worker's
  batch into the bar exactly (steps, metric sums, child bars, messages); ``end()``
  closes the child bars of a worker that is gone.
* :func:`add_drainer`: have ``bar.close()`` first take in what is still in transit.

Importing this module loads the handle machinery (``multiprocessing``, sockets), not
any framework.
"""

from __future__ import annotations

from typing import Any, Protocol

from ._workers.handle import _LIVE as LIVE
from ._workers.handle import Handle, WorkerSpec
from ._workers.handle import _Client as WorkerClient
from ._workers.listener import _Peer as BatchApplier
from ._workers.listener import add_drainer

__all__ = ["LIVE", "BatchApplier", "Handle", "Transport", "WorkerClient", "WorkerSpec",
           "add_drainer"]


class Transport(Protocol):
    """What a :class:`WorkerClient` subclass provides to move batches its own way.

    The client's ``spec`` (a :class:`WorkerSpec`), ``interval``, ``state`` and
    ``sent_messages`` are there to read; ``flush()`` sends what was gathered (through
    ``send``) and ``die()`` stops the client for good.
    """

    def connect(self, timeout: float) -> None:
        """Open the way, in the worker, on first use; raise to be retried later."""

    def send(self, msg: tuple[Any, ...]) -> None:
        """Deliver one batch (``msg[2]``, what :meth:`BatchApplier.apply` takes)."""

    def run(self) -> None:
        """The sending thread's loop: call ``flush()`` once per ``interval`` while
        ``state is LIVE``, and ``die()`` on a failure."""
