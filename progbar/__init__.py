"""progbar: the Keras progress bar, freed from Keras.

A zero-dependency progress bar with Keras's running-average metrics for any loop::

    from progbar import Progbar, track

    for batch in (bar := track(loader)):
        bar.log(loss=loss, acc=acc)
"""

from ._history import History
from ._progbar import Progbar, track
from ._redirect import logging_redirect

__all__ = ["History", "Progbar", "__version__", "logging_redirect", "track"]

__version__ = "0.1.0"
