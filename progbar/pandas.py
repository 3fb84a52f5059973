"""pandas: ``progress_apply`` and ``progress_map`` with a bar, as ``tqdm.pandas()`` adds.

``import progbar.pandas`` imports pandas; ``import progbar`` never does::

    import progbar.pandas
    progbar.pandas.register(label="clean")
    df["y"] = df["x"].progress_map(parse)
    totals = df.groupby("user").progress_apply(summarize)

:func:`register` adds, for each call a new bar that closes when the call returns:

- ``Series.progress_apply`` / ``progress_map`` (one step per element),
- ``DataFrame.progress_apply`` (per column, or per row with ``axis=1``) and
  ``DataFrame.progress_map`` (per element),
- ``progress_apply``, ``progress_aggregate`` and ``progress_transform`` on
  ``SeriesGroupBy`` and ``DataFrameGroupBy`` (per group),
- ``Rolling.progress_apply`` / ``Expanding.progress_apply`` (per window).

The result is what the plain method returns: the function is wrapped in one that
counts its calls and calls it.  pandas may call it more often than there are steps
(a group tried twice to pick a fast path): the count stops at the target.  A
function pandas does not call per step (``"sum"``, a list, a NumPy ufunc, which pandas
applies to the whole column at once, a dict or Series given to ``map``) runs as the
plain method does, and the bar jumps to its end.  Groupby
objects have no ``map`` in pandas, so they get no ``progress_map``.
"""

from __future__ import annotations

from typing import Any, Callable

try:
    import numpy as np
    import pandas as pd
    from pandas.api.typing import DataFrameGroupBy, Expanding, Rolling, SeriesGroupBy
except ModuleNotFoundError as exc:  # name pandas (numpy comes with it), as adapters do
    raise ModuleNotFoundError(
        f"progbar.pandas needs pandas (pip install pandas): {exc}", name="pandas") from exc

from progbar import Progbar

__all__ = ["register"]


def _frame_apply_steps(frame: pd.DataFrame, args: tuple[Any, ...],
                       kwargs: dict[str, Any]) -> tuple[int, str]:
    axis = kwargs.get("axis", args[0] if args else 0)
    if axis in (1, "columns"):
        return frame.shape[0], "row"
    return frame.shape[1], "column"


def _progress(method: str, steps: Callable[[Any, tuple[Any, ...], dict[str, Any]],
                                           tuple[int, str]],
              options: dict[str, Any]) -> Callable[..., Any]:
    def progress(obj: Any, func: Any = None, *args: Any, **kwargs: Any) -> Any:
        target, unit = steps(obj, args, kwargs)
        bar: Progbar[Any] = Progbar(target, **{"unit_name": unit, **options})
        with bar:
            if callable(func) and not isinstance(func, np.ufunc):
                add = bar.add

                def counted(*a: Any, **k: Any) -> Any:
                    result = func(*a, **k)
                    if bar.current < target:
                        add(1)
                    return result

                result = getattr(obj, method)(counted, *args, **kwargs)
            else:
                result = getattr(obj, method)(func, *args, **kwargs)
            if bar.current < target:  # steps pandas did not call for (NaN skipped...)
                bar.update(target)
        return result

    progress.__name__ = progress.__qualname__ = f"progress_{method}"
    progress.__doc__ = (f"``{method}`` with a progress bar (progbar.pandas.register); "
                        f"takes the same arguments and returns the same result.")
    return progress


def register(**options: Any) -> None:
    """Add ``progress_apply``, ``progress_map`` (and the groupby and window methods
    listed in the module's docstring) to pandas; ``options`` are
    :class:`progbar.Progbar`'s, used for every bar these methods make.  Calling it
    again replaces the options."""

    def rows(obj: Any, args: tuple[Any, ...], kwargs: dict[str, Any]) -> tuple[int, str]:
        return len(obj), "row"

    def cells(obj: Any, args: tuple[Any, ...], kwargs: dict[str, Any]) -> tuple[int, str]:
        return int(obj.size), "cell"

    def groups(obj: Any, args: tuple[Any, ...], kwargs: dict[str, Any]) -> tuple[int, str]:
        return int(obj.ngroups), "group"

    def windows(obj: Any, args: tuple[Any, ...], kwargs: dict[str, Any]) -> tuple[int, str]:
        return int(obj.obj.size), "window"

    options = dict(options)
    pd.Series.progress_apply = _progress("apply", rows, options)
    pd.Series.progress_map = _progress("map", rows, options)
    pd.DataFrame.progress_apply = _progress("apply", _frame_apply_steps, options)
    pd.DataFrame.progress_map = _progress("map", cells, options)
    for grouped in (SeriesGroupBy, DataFrameGroupBy):
        grouped.progress_apply = _progress("apply", groups, options)
        grouped.progress_aggregate = _progress("aggregate", groups, options)
        grouped.progress_transform = _progress("transform", groups, options)
    for window in (Rolling, Expanding):
        window.progress_apply = _progress("apply", windows, options)
