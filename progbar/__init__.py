"""progbar: the Keras progress bar, freed from Keras.

A zero-dependency progress bar with Keras's running-average metrics for any loop::

    from progbar import Progbar, track

    for batch in (bar := track(loader)):
        bar.log(loss=loss, acc=acc)
"""

from ._format import format_epoch
from ._progbar import Progbar, track
from ._rank import all_ranks, process_rank
from ._redirect import logging_redirect

__all__ = [
    "Handle",
    "History",
    "Progbar",
    "__version__",
    "all_ranks",
    "as_completed",
    "format_epoch",
    "gather",
    "logging_redirect",
    "process_rank",
    "track",
    "wrap_file",
]
# ``progbar.open`` and ``progbar.map`` are public too, but left out of ``__all__``:
# ``from progbar import *`` must not shadow the built-in ``open`` and ``map``.

__version__ = "0.1.0"

TYPE_CHECKING = False
if TYPE_CHECKING:
    from ._async import as_completed, gather
    from ._files import open as open  # noqa: A004 -- progbar.open, not in __all__
    from ._files import wrap_file
    from ._history import History
    from ._map import map as map  # noqa: A004 -- progbar.map, not in __all__
    from ._workers.handle import Handle

# Names that load on first use, so that ``import progbar`` stays cheap: the
# end-of-training table, the worker handle (multiprocessing, sockets), asyncio, and
# the file and pool helpers (concurrent.futures).
_LAZY = {
    "History": "._history",
    "Handle": "._workers.handle",
    "gather": "._async",
    "as_completed": "._async",
    "open": "._files",
    "wrap_file": "._files",
    "map": "._map",
}


def __getattr__(name: str) -> object:
    module = _LAZY.get(name)
    if module is None:
        raise AttributeError(f"module 'progbar' has no attribute {name!r}")
    import importlib

    value = getattr(importlib.import_module(module, __name__), name)
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return sorted(set(globals()) | set(__all__) | set(_LAZY))
