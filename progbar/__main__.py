"""Command line: ``progbar demo`` and pipe mode (``... | progbar | ...``)."""

from __future__ import annotations

import argparse
import sys
from typing import Sequence


def _positive_int(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"not a whole number: {text!r}") from None
    if value < 1:
        raise argparse.ArgumentTypeError(f"must be at least 1, got {value}")
    return value


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="progbar",
        description=(
            "The Keras progress bar, freed from Keras.\n\n"
            "Without a command, progbar is a pipe: it copies stdin to stdout unchanged\n"
            "(binary-safe) and shows progress on stderr, counting lines (or bytes with\n"
            "--bytes)."
        ),
        epilog=(
            "examples:\n"
            "  progbar demo\n"
            "  seq 1000000 | progbar --total 1000000 | gzip > numbers.gz\n"
            "  tar c data/ | progbar --bytes > data.tar\n"
            "\nOn a terminal the bar redraws in place; when stderr is a file or pipe,\n"
            "it writes a plain line every PROGBAR_LOG_INTERVAL seconds (10) and at the end."
        ),
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("--total", type=int, metavar="N", default=None,
                        help="expected number of lines (or bytes): shows %%, bar and ETA")
    parser.add_argument("--bytes", action="store_true",
                        help="count bytes instead of lines")
    parser.add_argument("--unit", metavar="NAME", default=None,
                        help='what a counted item is called (default "line" or "byte")')
    sub = parser.add_subparsers(dest="command")
    demo = sub.add_parser("demo", help="train a small model in pure Python and show it")
    demo.add_argument("--epochs", type=_positive_int, default=5, help="epochs (default 5)")
    demo.add_argument("--style", choices=("default", "keras", "keras2", "tf_keras"),
                      default="default")
    args = parser.parse_args(argv)
    if args.command == "demo":
        from ._demo import run_demo

        try:
            run_demo(epochs=args.epochs, style=args.style)
        except KeyboardInterrupt:
            return 130
        return 0
    if args.total is not None and args.total < 0:
        parser.error("--total must be >= 0")
    if sys.stdin is None or sys.stdin.isatty():  # nothing piped in: explain instead
        parser.print_help(sys.stderr)
        return 2
    if sys.stdout is None:  # started with stdout closed (``>&-``)
        _say("stdout is closed: there is nowhere to copy the input to")
        return 1
    from ._pipe import copy_with_progress

    try:
        # With stderr closed (``2>&-``) there is no bar: never one on stdout.
        copy_with_progress(sys.stdin.buffer, sys.stdout.buffer, sys.stderr,
                           total=args.total, count_bytes=args.bytes, unit=args.unit)
    except KeyboardInterrupt:
        return 130
    except OSError as exc:  # stdout or stdin unusable (closed descriptor, full disk...)
        _say(f"cannot copy the input: {exc.strerror or exc}")
        return 1
    return 0


def _say(message: str) -> None:
    """One line on stderr, if there is one."""
    if sys.stderr is not None:
        print(f"progbar: {message}", file=sys.stderr)


if __name__ == "__main__":
    sys.exit(main())
