"""The metric store: running means weighted by steps, stateful values shown as passed.

Each metric is an entry ``[total, count]``.  An averaged metric adds ``value * w`` to
its total and ``w`` to its count, ``w = max(current - seen, 1)`` (the steps the value
stands for); a stateful metric is replaced by ``[value, 1]``.  Names keep the order in
which they were first seen.

Values stay what they are until a line is rendered: a tensor is detached at once (so
no autograd graph is kept alive) and summed where it lives; ``float()`` is called only
in :meth:`MetricStore.snapshot`, once per metric per render.  A value that is not a
number is shown with ``str()`` (entry ``[value, None]``); nothing here ever raises on
a value.
"""

from __future__ import annotations

import math

# collections.abc is this module re-exported; importing it by that name would load
# the whole ``collections`` package at ``import progbar`` (import time:
# design.md, "Performance targets").
from _collections_abc import Mapping

TYPE_CHECKING = False
if TYPE_CHECKING:
    from typing import Any, Iterable

    from ._format import Shown

__all__ = ["MetricStore", "as_pairs", "coerce"]

_NUMBER_TYPES = (int, float)


class _Raw:
    """A value that is not a number; it is shown with ``str()``."""

    __slots__ = ("value",)

    def __init__(self, value: object) -> None:
        self.value = value


def _mean_of_sequence(seq: Iterable[Any]) -> Any:
    total: Any = 0
    n = 0
    values = []
    for item in seq:
        v = coerce(item)
        if isinstance(v, _Raw):  # not all numbers: show the whole value, not one item
            return _Raw(seq)
        values.append(v)
        n += 1
    if n == 0:
        return math.nan
    try:
        for v in values:
            total = total + v
        return total / n
    except ArithmeticError:  # ints beyond a float's range: their exact mean
        try:
            from decimal import Decimal

            return sum((Decimal(v) for v in values), Decimal(0)) / n
        except Exception:
            return _Raw(seq)


def coerce(value: Any) -> Any:
    """Turn a metric value into something that can be summed, without a host sync.

    Returns a number-like object (int, float, numpy scalar, a detached 0-d tensor, ...)
    or a :class:`_Raw` wrapper for values that are shown as text.
    """
    cls = type(value)
    if cls is float or cls is int:
        return value
    if cls is bool:
        return int(value)
    if isinstance(value, _NUMBER_TYPES):  # int/float subclasses, numpy float64
        return value
    if isinstance(value, (str, bytes, complex)) or value is None:
        return _Raw(value)
    detach = getattr(value, "detach", None)
    if callable(detach):  # a tensor: drop the graph now, keep the data on its device
        try:
            value = detach()
        except Exception:
            return _Raw(value)
        return _tensor_mean(value)
    if isinstance(value, (list, tuple)):
        return _mean_of_sequence(value)
    ndim = getattr(value, "ndim", None)
    if isinstance(ndim, int) and ndim > 0:  # an array: its mean
        try:
            if getattr(value, "size", 1) == 0:  # numpy warns on the mean of nothing
                return math.nan
            return value.mean()
        except Exception:
            return _Raw(value)
    if _is_jax_array(cls):
        # float(x) on a JAX array waits for the device to finish computing it (a host
        # sync per step); x + y does not.  Keep it as it is: it is summed on the device
        # and read back once per render, in snapshot().
        if getattr(getattr(value, "dtype", None), "kind", "f") == "c":
            return _Raw(value)  # complex: shown as text, as numpy's complex numbers
        return value
    if hasattr(cls, "__float__"):
        try:
            probe = value * 1 + value  # can it be summed as it is? (Decimal, numpy)
            if isinstance(probe, complex):
                return _Raw(value)
            float(probe)
            return value
        except Exception:
            pass
        try:
            return float(value)
        except Exception:
            return _Raw(value)
    if hasattr(cls, "__iter__") and hasattr(cls, "__len__"):
        try:
            return _mean_of_sequence(value)
        except Exception:
            return _Raw(value)
    return _Raw(value)


def _is_jax_array(cls: type) -> bool:
    """A JAX array (``jax.Array``: ``jaxlib``'s ``ArrayImpl``), told by its type alone
    so that jax is never imported here."""
    module = getattr(cls, "__module__", None) or ""
    return module.partition(".")[0] in ("jax", "jaxlib") and hasattr(cls, "block_until_ready")


def _tensor_mean(t: Any) -> Any:
    try:
        if t.ndim == 0:
            return t
        if t.numel() == 0:
            return math.nan
        if t.is_floating_point():
            return t.mean()
        return t.double().mean()
    except Exception:
        try:
            return t.mean()
        except Exception:
            return _Raw(t)


def _own(value: Any) -> Any:
    """A new object equal to ``value`` (``value * 1``), or ``value`` itself if that fails."""
    try:
        return value * 1
    except Exception:
        return value


def _fallback_sum(total: Any, value: Any, weight: float) -> Any:
    """``total + value * weight`` where plain arithmetic failed: in floats, or exactly
    (a Decimal) where a float cannot hold the total.  None if neither works."""
    if type(total).__name__ != "Decimal":
        try:
            return float(total) + float(value) * weight
        except Exception:
            pass
    return _exact_sum(total, value, weight)


def _exact_sum(total: Any, value: Any, weight: float) -> Any:
    """``total + value * weight`` as a Decimal (ints beyond a float's range), or None."""
    try:
        from decimal import Decimal

        return Decimal(total) + Decimal(value) * Decimal(weight)
    except Exception:
        return None


def _show(total: Any, count: float) -> Shown:
    """The float shown for an entry; the only place values become Python floats."""
    try:
        if type(total) is int:
            total = float(total)
        avg = total / max(1, count)
        # + 0.0: a mean of -0.0 shows as 0.0, as numpy's mean (Keras's) gives it
        shown = float(avg) + 0.0
    except OverflowError:
        return _huge_mean(total, count)
    except Exception:
        if type(total).__name__ == "Decimal":
            return _huge_mean(total, count)
        return _text(total)
    if math.isinf(shown) and type(total).__name__ == "Decimal" and total.is_finite():
        return _huge_mean(total, count)  # past a float's range: shown exactly
    return shown


def _huge_mean(total: Any, count: float) -> Shown:
    """The mean of ints too big for a float (``10**400``), in Keras's ``%.4e`` form."""
    try:
        from decimal import Decimal, localcontext

        with localcontext() as ctx:
            ctx.prec = 28
            exact = total if isinstance(total, Decimal) else Decimal(int(total))
            return f"{exact / Decimal(max(1, count)):.4e}"
    except Exception:
        return _text(total)


def _text(value: object) -> str:
    try:
        return str(value)
    except Exception:
        return f"<{type(value).__name__}>"


def as_pairs(values: Iterable[tuple[str, Any]] | Mapping[str, Any]) -> list[tuple[str, Any]]:
    """``values`` (a mapping, or (name, value) pairs) as a list of pairs; anything
    else is a programming error, raised as a clear ``TypeError``."""
    if isinstance(values, Mapping) or hasattr(type(values), "items"):
        return list(values.items())  # type: ignore[union-attr]
    try:
        return [(k, v) for k, v in values]
    except (TypeError, ValueError):
        raise TypeError(
            "values must be a list of (name, value) pairs or a mapping, "
            f"got {_text(values)[:80]!r}"
        ) from None


class MetricStore:
    """Running metric values for one bar: the one place the averaging rules live.

    Not thread-safe by itself: its owner (the bar) calls it only under the bar's lock,
    so every write to the count and the metrics happens under that one lock
    (design.md, "The count and the metrics").

    ``_entries`` maps each name, in first-seen order, to ``[total, count]`` (``count``
    None: a value shown as text).  ``_numeric`` holds the same entry objects for the
    averaged metrics whose total is a plain int/float: :meth:`record` adds to those in
    place, which is the common case of every step.
    """

    __slots__ = ("_entries", "_numeric", "_stateful", "_stateless")

    def __init__(
        self,
        stateful: Iterable[str] | None = None,
        stateless: Iterable[str] | None = None,
    ) -> None:
        if stateful is not None and stateless is not None:
            raise ValueError(
                # Keras's own words first: code that matches them keeps working.
                "Only one of `stateful_metrics` or `stateless_metrics` can be "
                "provided: stateful_metrics lists the metrics shown as passed (the rest are "
                "averaged), stateless_metrics lists the averaged ones (the rest are "
                "shown as passed)"
            )
        self._entries: dict[str, list[Any]] = {}
        self._numeric: dict[str, list[Any]] = {}
        self._stateful = frozenset(stateful) if stateful is not None else None
        self._stateless = frozenset(stateless) if stateless is not None else None
        if self._stateful is None and self._stateless is None:
            self._stateful = frozenset()

    def names(self) -> tuple[frozenset[str] | None, frozenset[str] | None]:
        """``(stateful, stateless)``: which names are shown as passed (one is None)."""
        return self._stateful, self._stateless

    def clear(self) -> None:
        """Forget every metric (``Progbar.reset``)."""
        self._entries.clear()
        self._numeric.clear()

    def add_stateful(self, names: Iterable[str]) -> None:
        """Take ``names`` as stateful from now on (shown as passed): the next value of
        each replaces what it had averaged so far."""
        names = frozenset(names)
        if self._stateful is not None:
            self._stateful = self._stateful | names
        else:
            assert self._stateless is not None
            self._stateless = self._stateless - names
        for name in names:
            self._numeric.pop(name, None)

    def is_averaged(self, name: str) -> bool:
        if self._stateful is not None:
            return name not in self._stateful
        assert self._stateless is not None
        return name in self._stateless

    def record(
        self,
        values: Iterable[tuple[str, Any]] | Mapping[str, Any],
        weight: float,
        replace: bool = False,
    ) -> None:
        """Add one step's values, each standing for ``weight`` steps.

        ``replace`` makes averaged metrics take the value as passed (Keras 3's rule
        for a finalizing call).  A malformed ``values`` is a programming error and
        raises ``TypeError`` before anything is recorded.
        """
        pairs: Iterable[tuple[Any, Any]] = values  # type: ignore[assignment]
        if type(values) is dict:
            pairs = values.items()
        elif type(values) is list:
            try:  # every pair unpacks, before anything is recorded (no copy made)
                for _name, _value in values:
                    pass
            except (TypeError, ValueError):
                pairs = as_pairs(values)  # raises the clear error
        else:
            pairs = as_pairs(values)
        numeric = self._numeric
        for name, v in pairs:
            cls = type(v)
            if (cls is float or cls is int) and not replace:
                try:
                    entry = numeric.get(name)
                    if entry is not None:  # an averaged number seen before: the usual case
                        entry[0] += v * weight
                        entry[1] += weight
                        continue
                except (TypeError, ArithmeticError):  # an unhashable name; an int beyond
                    pass  # a float's range: the general rule below
            self._record_one(name, v, weight, replace)

    def _record_one(self, name: object, value: Any, weight: float, replace: bool) -> None:
        """One pair by the general rules: new names, stateful names, tensors and any
        other value, totals that leave the float range."""
        if type(name) is not str:
            name = _text(name)
        entries = self._entries
        numeric = self._numeric
        v = value
        cls = type(v)
        if cls is not float and cls is not int:
            v = coerce(v)
            if isinstance(v, _Raw):
                entries[name] = [v.value, None]
                numeric.pop(name, None)
                return
        entry = entries.get(name)
        if replace or not self.is_averaged(name):
            # a copy, never the caller's array or tensor: a later `+` must not
            # change the caller's object (nor bump a tensor's version counter)
            entries[name] = [v if cls is float or cls is int else _own(v), 1]
            numeric.pop(name, None)
        elif entry is None or entry[1] is None:
            entries[name] = entry = [v * weight, weight]
            if type(entry[0]) in _NUMBER_TYPES:
                numeric[name] = entry
            else:
                numeric.pop(name, None)
        else:
            try:
                entry[0] = entry[0] + v * weight  # not +=: never in place
            except Exception:  # Decimal + float, an int beyond a float's range
                total = _fallback_sum(entry[0], v, weight)
                if total is None:
                    entries[name] = [v, None]
                    numeric.pop(name, None)
                    return
                entry[0] = total
                numeric.pop(name, None)
            entry[1] += weight

    def holds(self) -> bool:
        """Whether any metric was recorded since the last :meth:`clear`."""
        return bool(self._entries)

    def batch(self) -> tuple[dict[str, tuple[Any, float]], dict[str, Any]]:
        """What :meth:`merge` takes into another store: each averaged metric's raw
        ``(total, count)``, and the value of every other one as passed."""
        totals: dict[str, tuple[Any, float]] = {}
        last: dict[str, Any] = {}
        for name, (total, count) in self._entries.items():
            if count is not None and self.is_averaged(name):
                totals[name] = (total, count)
            else:
                last[name] = total
        return totals, last

    def snapshot(self) -> list[tuple[str, Shown]]:
        """``[(name, shown)]`` in first-seen order: a float, or text for non-numbers."""
        out: list[tuple[str, Shown]] = []
        append = out.append
        for name, (total, count) in self._entries.items():
            if type(total) is float and type(count) is int and count > 0:
                append((name, total / count + 0.0))  # _show's result for a float total
            elif count is None:
                append((name, _text(total)))
            else:
                append((name, _show(total, count)))
        return out

    def averages(self) -> dict[str, tuple[Any, float]]:
        """The raw ``(total, count)`` of each numeric metric (for cross-process sums)."""
        return {k: (t, c) for k, (t, c) in self._entries.items() if c is not None}

    def set_totals(self, totals: Mapping[str, tuple[Any, float]]) -> None:
        for name, (total, count) in totals.items():
            self._entries[str(name)] = [total, count if count >= 1 else 1]
            self._numeric.pop(str(name), None)

    def merge(self, totals: Mapping[str, tuple[Any, float]], last: Mapping[str, Any]) -> None:
        """Add other ``(total, count)`` sums to the averaged metrics (an exact merge
        of another store's running means: the sum of ``v*w`` and of ``w``) and take
        ``last`` values as passed, as :meth:`record` takes stateful ones."""
        entries = self._entries
        for name, (total, count) in totals.items():
            name = str(name)
            entry = entries.get(name)
            if entry is None or entry[1] is None:
                entries[name] = [total, count]
                self._numeric.pop(name, None)
                continue
            try:
                entry[0] = entry[0] + total
            except Exception:
                summed = _fallback_sum(entry[0], total, 1)
                if summed is None:
                    continue
                entry[0] = summed
                self._numeric.pop(name, None)
            entry[1] += count
        for name, value in last.items():
            v = coerce(value)
            entries[str(name)] = [v.value, None] if isinstance(v, _Raw) else [_own(v), 1]
            self._numeric.pop(str(name), None)

