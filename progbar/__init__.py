"""progbar: the Keras progress bar, freed from Keras.

A zero-dependency progress bar with Keras's running-average metrics for any loop::

    from progbar import Progbar, track

    for batch in (bar := track(loader)):
        bar.log(loss=loss, acc=acc)
"""

from ._format import format_epoch
from ._progbar import Progbar, track
from ._redirect import logging_redirect

__all__ = ["History", "Progbar", "__version__", "format_epoch", "logging_redirect", "track"]

__version__ = "0.1.0"

TYPE_CHECKING = False
if TYPE_CHECKING:
    from ._history import History


def __getattr__(name: str) -> object:
    # ``History`` (the end-of-training table) loads on first use, so that
    # ``import progbar`` stays cheap (SPEC 9).
    if name == "History":
        from ._history import History

        globals()["History"] = History
        return History
    raise AttributeError(f"module 'progbar' has no attribute {name!r}")


def __dir__() -> list[str]:
    return sorted(set(globals()) | set(__all__))
