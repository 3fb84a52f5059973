"""The extension point for transports of worker handles.

``bar.handle()`` carries a worker's counts and metrics to its bar over a Unix socket
(see ``progbar.Handle``).  Another transport -- ``progbar.ray`` sends them through a
Ray actor, so that tasks on any node of a cluster can report -- reuses the two halves
that make the counts exact, and replaces only how bytes travel:

* :class:`WorkerClient`, the worker's side: it gathers ``add``/``log``/``write`` calls
  and sends a batch at most once per interval.  A transport subclasses it and
  overrides ``connect(timeout)`` (open the way, in the worker; raise to retry later),
  ``send(msg)`` (deliver one batch: ``msg[2]``) and ``run()`` (the sending thread's
  loop, which calls ``flush()`` while ``state is LIVE``, and ``die()`` on a failure).
* :class:`BatchApplier`, the parent's side: ``apply(bar, batch)`` merges one worker's
  batch into the bar exactly (steps, metric sums, child bars, messages); ``end()``
  closes the child bars of a worker that is gone.
* :func:`add_drainer`: have ``bar.close()`` first take in what is still in transit.

Importing this module loads the handle machinery (``multiprocessing``, sockets), not
any framework.
"""

from __future__ import annotations

from ._handle import _LIVE as LIVE
from ._handle import Handle
from ._handle import _Client as WorkerClient
from ._listener import _Peer as BatchApplier
from ._listener import add_drainer

__all__ = ["LIVE", "BatchApplier", "Handle", "WorkerClient", "add_drainer"]
