"""Command line: ``progbar demo``."""

from __future__ import annotations

import argparse
import sys
from typing import Sequence


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="progbar",
        description="The Keras progress bar, freed from Keras.",
    )
    sub = parser.add_subparsers(dest="command")
    demo = sub.add_parser("demo", help="train a small model in pure Python and show it")
    demo.add_argument("--epochs", type=int, default=5)
    demo.add_argument("--style", choices=("default", "keras", "keras2"), default="default")
    args = parser.parse_args(argv)
    if args.command == "demo":
        from ._demo import run_demo

        try:
            run_demo(epochs=args.epochs, style=args.style)
        except KeyboardInterrupt:
            return 130
        return 0
    parser.print_help(sys.stderr)
    return 2


if __name__ == "__main__":
    sys.exit(main())
