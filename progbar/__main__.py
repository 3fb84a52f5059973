"""Command line: ``progbar demo``, ``progbar ls`` / ``progbar watch`` and pipe mode
(``... | progbar | ...``)."""

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
            "  progbar ls                 # this user's running jobs with bars\n"
            "  progbar watch [PID]        # a running job's bars, live, here\n"
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
    listing = sub.add_parser("ls", help="list this user's running jobs with bars")
    listing.add_argument("--json", action="store_true", help="one JSON array of the jobs")
    watching = sub.add_parser("watch", help="draw a running job's bars here, live")
    watching.add_argument("pid", nargs="?", type=_positive_int, default=None,
                          help="the job (default: the only one, or the most recent)")
    watching.add_argument("--json", action="store_true",
                          help="one JSON object per update instead of the bars")
    args = parser.parse_args(argv)
    if args.command in ("ls", "watch"):
        return _watch_command(args)
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


def _watch_command(args: argparse.Namespace) -> int:
    """``progbar ls`` and ``progbar watch``: one clear line and exit 1 on a fault."""
    import socket

    if not hasattr(socket, "AF_UNIX"):
        _say("watching jobs needs Unix sockets, which this system does not have")
        return 1
    from . import _watch

    try:
        if args.command == "ls":
            return _list(_watch.list_jobs(), args.json)
        pid, path, hint = _watch.pick_job(args.pid)
        if hint and not args.json:
            _say(hint)
        return _watch.watch(pid, path, sys.stdout, args.json)
    except _watch.WatchError as exc:
        _say(str(exc))
        return 1
    except KeyboardInterrupt:  # the job goes on: only this watcher stops
        print()
        return 130
    except OSError as exc:
        _say(f"cannot reach the job: {exc.strerror or exc}")
        return 1


def _list(jobs: list[dict[str, object]], as_json: bool) -> int:
    import json
    import time

    if as_json:
        print(json.dumps(jobs))
        return 0
    if not jobs:
        _say("no job with bars is running for this user on this host")
        return 1
    for job in jobs:
        started = time.strftime("%Y-%m-%d %H:%M:%S",
                                time.localtime(float(job["started"])))  # type: ignore[arg-type]
        argv = " ".join(str(a) for a in job.get("argv") or [])  # type: ignore[attr-defined]
        print(f"{job['pid']}  started {started}  {argv}")
        for bar in job["bars"]:  # type: ignore[attr-defined]
            print("    " + _bar_summary(bar))
    return 0


def _bar_summary(bar: dict[str, object]) -> str:
    """``train 120/500 24% ETA 0:41`` for ``progbar ls``."""
    from ._format import format_duration

    label = f"{bar['label']} " if bar.get("label") else ""
    current, target = bar["current"], bar.get("target")
    if target:
        count = f"{current:g}/{target:g} {100.0 * float(current) / float(target):.0f}%"  # type: ignore[arg-type]
    else:
        count = f"{current:g} {bar.get('unit', 'step')}"
    eta = bar.get("eta")
    left = f" ETA {format_duration(float(eta))}" if eta is not None else ""  # type: ignore[arg-type]
    return f"{label}{count}{left} ({bar.get('state')})"


def _say(message: str) -> None:
    """One line on stderr, if there is one."""
    if sys.stderr is not None:
        print(f"progbar: {message}", file=sys.stderr)


if __name__ == "__main__":
    sys.exit(main())
