"""progbar: the Keras progress bar, freed from Keras.

A zero-dependency progress bar with Keras's running-average metrics for any loop::

    from progbar import Progbar, track

    for batch in (bar := track(loader)):
        bar.log(loss=loss, acc=acc)
"""

from ._progbar import Progbar, track

__all__ = ["Progbar", "__version__", "track"]

__version__ = "0.1.0"
