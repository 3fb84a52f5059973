"""Dask: a bar for the local schedulers, and one for futures on a ``distributed`` cluster.

``import progbar.dask`` imports dask; ``import progbar`` never does.

- ``ProgbarCallback(**options)``: a ``dask.callbacks.Callback`` for the local
  schedulers (threads, processes, synchronous).  Used as a context manager around
  ``compute()`` (or made global with ``register()``), each computation gets a bar
  of its graph's tasks that moves as each task finishes and closes at the end.
- ``progress(*futures, **options)``: for a ``distributed`` cluster; blocks until the
  futures (or the futures behind persisted collections) are done, the bar moving as
  each finishes (``distributed.as_completed``: no polling loop).  ``distributed`` is
  imported on the first call.
"""

from __future__ import annotations

from typing import Any

from dask.callbacks import Callback

from progbar import Progbar

__all__ = ["ProgbarCallback", "progress"]


class ProgbarCallback(Callback):
    """A bar per computation on dask's local schedulers, counting finished tasks.

    ``options`` are :class:`progbar.Progbar`'s (``unit_name="task"`` by default)::

        with progbar.dask.ProgbarCallback(label="sum"):
            total = x.sum().compute()
    """

    def __init__(self, **options: Any) -> None:
        super().__init__()  # type: ignore[no-untyped-call]
        self.options = {"unit_name": "task", **options}
        self.bar: Progbar[Any] | None = None

    # dask's callback protocol: the scheduler calls these on the thread that
    # runs compute(), with its state dict.

    def _start_state(self, dsk: Any, state: dict[str, Any]) -> None:
        tasks = sum(len(state[k]) for k in ("ready", "waiting", "running", "finished"))
        self.bar = Progbar(tasks, **self.options)

    def _posttask(self, key: Any, result: Any, dsk: Any, state: Any, worker_id: Any) -> None:
        if self.bar is not None:
            self.bar.add(1)

    def _finish(self, dsk: Any, state: Any, errored: bool) -> None:
        if self.bar is not None:
            self.bar.close()


def progress(*futures: Any, **options: Any) -> None:
    """Block until ``futures`` are done, with a bar that moves as each finishes.

    ``futures``: ``distributed.Future`` objects, lists or dicts of them, or dask
    collections persisted on the cluster.  A future that fails counts as finished
    (its error is raised where its result is asked for, as with dask's own
    ``progress``).  ``options`` are :class:`progbar.Progbar`'s (``unit_name="task"``
    by default).
    """
    from distributed import as_completed, futures_of

    todo = futures_of(list(futures))  # type: ignore[no-untyped-call]
    options.setdefault("unit_name", "task")
    bar: Progbar[Any]
    with Progbar(len(todo), **options) as bar:
        if not todo:
            return
        for _ in as_completed(todo):  # type: ignore[no-untyped-call]
            bar.add(1)
