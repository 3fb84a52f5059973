"""``logging_redirect()``: log records (and, opt-in, ``print``) above the live bar.

A live bar owns the last line of the terminal; a log line written straight to the
same terminal lands in the middle of it.  Inside ``with logging_redirect():`` the
console handlers of the chosen loggers are swapped for one that hands each formatted
record to the open bar's :meth:`~progbar.Progbar.write` — the record is printed on
its own line and the bar is redrawn below it.  When no live bar is open, or when the
record's stream is not the bar's screen (``2> errors.log``), records go where they
always went.  ``logging`` itself is imported only when the context is entered.
"""

from __future__ import annotations

import sys

from ._display import newest_live_display
from ._writer import StdoutRedirect, isatty

TYPE_CHECKING = False
if TYPE_CHECKING:
    import logging
    from typing import Any, Callable, Iterable, Protocol

    class Writable(Protocol):
        """What a bar offers here (``progbar.Progbar`` has it): no import of it."""

        @property
        def live(self) -> bool: ...

        @property
        def stream(self) -> object: ...

        def write(self, message: object) -> None: ...

__all__ = ["logging_redirect"]


def _same_screen(screen: object, stream: object) -> bool:
    """Would text on ``stream`` land on ``screen``?  The same stream, or two terminals
    (stdout and stderr of one console)."""
    if isinstance(stream, StdoutRedirect):
        stream = stream.original
    return stream is screen or (isatty(stream) and isatty(screen))


def _handler_chain(logger: logging.Logger) -> list[logging.Logger]:
    chain = []
    current: logging.Logger | None = logger
    while current is not None:
        chain.append(current)
        current = current.parent if current.propagate else None
    return chain


def _is_console_handler(handler: logging.Handler) -> bool:
    import logging

    # Exactly StreamHandler: a FileHandler (a subclass) never shares a bar's screen.
    # Whether this one does is decided per record (see _same_screen).
    return type(handler) is logging.StreamHandler


class _Redirect:
    """The context manager returned by :func:`logging_redirect`."""

    def __init__(
        self,
        bar: Writable | None,
        loggers: Iterable[logging.Logger] | None,
        stdout: bool,
    ) -> None:
        self._bar = bar
        self._loggers = list(loggers) if loggers is not None else None
        self._stdout = stdout
        self._patched: list[logging.Logger] = []
        self._last_resort: tuple[logging.Handler | None] | None = None
        self._proxy: StdoutRedirect | None = None
        self._saved_stdout: Any = None

    def target(self, stream: object) -> Callable[[str], None] | None:
        """Where text for ``stream`` should go instead: the ``write`` of the given bar,
        or of the newest terminal display with a live bar; None if nowhere."""
        bar = self._bar
        if bar is not None:
            if not bar.live or not _same_screen(bar.stream, stream):
                return None
            return bar.write
        display = newest_live_display()
        if display is None or not _same_screen(display.stream, stream):
            return None
        return display.message

    def __enter__(self) -> _Redirect:
        import logging

        handler_cls = _handler_class()
        loggers = self._loggers if self._loggers is not None else [logging.getLogger()]
        orphans = False
        for logger in loggers:
            # A record goes to the handlers of its logger and of every ancestor up to
            # the first that does not propagate (Logger.callHandlers): the console
            # handlers on that chain are the ones that would print it.
            chain = _handler_chain(logger)
            if not any(c.handlers for c in chain):
                orphans = True  # logging would fall back to `lastResort`
                continue
            for c in chain:
                if c in self._patched or not any(_is_console_handler(h) for h in c.handlers):
                    continue
                self._patched.append(c)
                c.handlers = [
                    handler_cls(h, self) if _is_console_handler(h) else h for h in c.handlers
                ]
        if orphans:
            # Stand in for `lastResort` (WARNING and up, on stderr), through the bar;
            # no handler is added to a logger, so basicConfig() in the block still works.
            previous = logging.lastResort
            self._last_resort = (previous,)
            logging.lastResort = handler_cls(None, self, fallback=previous)
        if self._stdout:
            self._saved_stdout = sys.stdout
            original: Any = sys.stdout
            while isinstance(original, StdoutRedirect):  # nested: wrap the real one
                original = original.original
            self._proxy = StdoutRedirect(original, self._print_route)
            sys.stdout = self._proxy
        return self

    def _print_route(self) -> Callable[[str], None] | None:
        proxy = self._proxy
        return self.target(proxy.original if proxy is not None else sys.stdout)

    def __exit__(self, *exc: object) -> None:
        import logging

        # Put back only what we swapped: handlers the program added or removed inside
        # the block stay as it left them.
        for logger in reversed(self._patched):
            logger.handlers = [_unwrap(h, self) for h in logger.handlers]
        self._patched = []
        if self._last_resort is not None:
            if getattr(logging.lastResort, "redirect", None) is self:
                logging.lastResort = self._last_resort[0]
            self._last_resort = None
        proxy = self._proxy
        if proxy is not None:
            if sys.stdout is proxy:
                sys.stdout = self._saved_stdout
            proxy.drain()
            self._proxy = None


def _unwrap(handler: logging.Handler, redirect: _Redirect) -> logging.Handler:
    """The console handler a stand-in of ``redirect``'s wraps, else ``handler``."""
    wrapped: logging.Handler | None = getattr(handler, "wrapped", None)
    if getattr(handler, "redirect", None) is redirect and wrapped is not None:
        return wrapped
    return handler


_HANDLER_CLASS: Any = None


def _handler_class() -> Any:
    """The logging handler class, built on first use so that ``import progbar`` does
    not import ``logging``."""
    global _HANDLER_CLASS
    if _HANDLER_CLASS is not None:
        return _HANDLER_CLASS
    import logging

    class BarHandler(logging.Handler):
        """Stands in for a console handler: same level, filters and format; the
        formatted record goes through the live bar when there is one."""

        def __init__(
            self,
            wrapped: logging.StreamHandler[Any] | None,
            redirect: _Redirect,
            fallback: logging.Handler | None = None,
        ):
            super().__init__(wrapped.level if wrapped is not None else logging.WARNING)
            self.wrapped = wrapped
            self.redirect = redirect
            self.fallback = fallback  # the lastResort this one stands in for

        def _stream(self) -> Any:
            return self.wrapped.stream if self.wrapped is not None else sys.stderr

        def emit(self, record: logging.LogRecord) -> None:
            wrapped = self.wrapped
            if wrapped is not None and not wrapped.filter(record):
                return
            write = self.redirect.target(self._stream())
            if write is None:
                if wrapped is not None:
                    wrapped.emit(record)
                elif self.fallback is not None:
                    self.fallback.handle(record)
                return
            try:
                text = (wrapped or self).format(record)
                write(text)
            except RecursionError:
                raise
            except Exception:
                self.handleError(record)

    _HANDLER_CLASS = BarHandler
    return BarHandler


def logging_redirect(
    bar: Writable | None = None,
    *,
    loggers: Iterable[logging.Logger] | None = None,
    stdout: bool = False,
) -> _Redirect:
    """Route ``logging`` records through the live bar's ``write()``.

    ::

        with progbar.logging_redirect():
            for batch in (bar := track(loader)):
                log.info("checkpoint saved")   # printed above the bar

    Args:
        bar: the bar to write through; None means the newest open live bar (so one
            ``with`` block can span several epochs' bars).
        loggers: whose records to route; default the root logger.  The console
            handlers (plain ``StreamHandler`` objects) on each logger's propagation
            chain are wrapped; file handlers are never touched.  Where the chain has
            no handler at all, ``logging.lastResort`` is stood in for (WARNING and
            up, through the bar) for the length of the block.
        stdout: also route ``print()`` (anything written to ``sys.stdout``): whole
            lines go above the bar; a partial line waits for its newline.

    Records and prints go through a bar only when it redraws in place (a terminal,
    or ``dynamic=True``) and the record's stream is that screen; in line mode and
    in notebooks they are written as they always are.  Nested use is fine; on
    exit the handlers and ``sys.stdout`` are put back.
    """
    return _Redirect(bar, loggers, stdout)
