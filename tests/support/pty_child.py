"""A child process driven step by step under a real pty by tests/test_faults.py.

argv: mode ctl_fd ack_fd.  The parent sends one byte per step on ``ctl_fd``; after each
step the child writes the number of bytes it has sent to the terminal on ``ack_fd``.
"""

import os
import sys

from progbar import Progbar, track

mode, ctl, ack = sys.argv[1], int(sys.argv[2]), int(sys.argv[3])


class Counting:
    """sys.stdout, counting the bytes written (so the parent knows where a resize falls)."""

    encoding = "utf-8"

    def __init__(self, stream):
        self.stream = stream
        self.n = 0

    def write(self, text):
        self.n += len(text.encode())
        return self.stream.write(text)

    def flush(self):
        self.stream.flush()

    def isatty(self):
        return self.stream.isatty()

    def fileno(self):
        return self.stream.fileno()


out = Counting(sys.stdout)


def tell():
    os.write(ack, b"%d\n" % out.n)


def wait():
    return os.read(ctl, 1)


METRICS = [("loss", 0.25), ("accuracy", 0.5), ("a_rather_long_metric_name", 1.5)]

if mode == "winch":
    bar = Progbar(1000, file=out, interval=0)
    i = 0
    while wait() == b"s":
        i += 1
        bar.update(i, METRICS)
        tell()
    bar.close()
    tell()
elif mode == "uncaught":
    for _i in (bar := track(range(1000), file=out, interval=0)):
        bar.log(loss=0.5)
        tell()
        wait()
else:
    try:
        if mode == "track":
            for _i in (bar := track(range(1000), file=out, interval=0)):
                bar.log(loss=0.5)
                tell()
                wait()
        elif mode in ("with", "with-keras", "with-keras2"):
            style = {"with": "default", "with-keras": "keras", "with-keras2": "keras2"}[mode]
            with Progbar(1000, file=out, interval=0, style=style) as bar:
                for i in range(1000):
                    bar.update(i + 1, [("loss", 0.5)])
                    tell()
                    wait()
    except KeyboardInterrupt as exc:
        unchanged = type(exc) is KeyboardInterrupt and exc.args == () and exc.__context__ is None
        sys.stdout.write(f"CAUGHT unchanged={unchanged} current={bar.current}\n")
        sys.stdout.flush()
        tell()
