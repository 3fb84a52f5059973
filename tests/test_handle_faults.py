"""progbar.Handle under faults: dying workers, strangers, closed bars (design.md, "Workers, async code, Ray")."""

from __future__ import annotations

import io
import multiprocessing as mp
import os
import pickle
import socket
import stat
import struct
import subprocess
import sys
import threading
from multiprocessing import connection as mpc

import pytest

import progbar
from progbar import _handle

sys.path.insert(0, os.path.dirname(__file__))
import _handle_workers as w  # noqa: E402

fork_ok = pytest.mark.filterwarnings("ignore:This process .*fork:DeprecationWarning")
ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def new_bar(target: int | None = None, **kw: object) -> tuple[progbar.Progbar, io.StringIO]:
    out = io.StringIO()
    return progbar.Progbar(target, file=out, dynamic=False, **kw), out  # type: ignore[arg-type]


def close_within(bar: progbar.Progbar, seconds: float) -> None:
    """bar.close() must return: run it in a thread and fail (not hang) if it does not."""
    done = threading.Thread(target=bar.close, daemon=True)
    done.start()
    done.join(seconds)
    assert not done.is_alive(), "bar.close() hung"


def report_once(bar: progbar.Progbar, n: int) -> None:
    """A real worker process reports n steps (the listener still works)."""
    proc = mp.get_context("spawn").Process(target=w.add_steps, args=(bar.handle(), 0, n))
    proc.start()
    proc.join(60)
    assert proc.exitcode == 0


@fork_ok
def test_worker_killed_mid_run_never_hangs_the_parent() -> None:
    bar, out = new_bar(None, interval=3600)
    h = bar.handle()
    proc = mp.get_context("fork").Process(target=w.die_mid_run, args=(h,))
    proc.start()
    proc.join(60)
    assert proc.exitcode == 1
    close_within(bar, 30)
    lines = out.getvalue().splitlines()
    # what it sent before dying counts; its child bar is ended where it stood (2/10)
    assert any(" 2/10 " in f" {line} " for line in lines), lines
    assert lines[-1].strip().startswith("3 ")


@fork_ok
def test_worker_killed_in_a_pool_never_hangs_the_parent() -> None:
    import concurrent.futures as cf

    bar, _ = new_bar(None)
    h = bar.handle()
    with cf.ProcessPoolExecutor(2, mp_context=mp.get_context("fork")) as pool:
        future = pool.submit(w.die_mid_run, h)
        with pytest.raises(cf.process.BrokenProcessPool):
            future.result(60)
    close_within(bar, 30)
    assert bar.closed and bar.current == 3


def test_handle_used_after_its_bar_closed_does_nothing() -> None:
    bar, out = new_bar(10)
    h = bar.handle()
    h.add(1)
    bar.close()
    before = out.getvalue()
    w.use_after_close(h)  # same process: no error
    late = bar.handle()  # a handle asked for after close: also inert
    late.add(4)
    late.close()
    proc = mp.get_context("spawn").Process(target=w.use_after_close, args=(h,))
    proc.start()
    proc.join(60)
    assert proc.exitcode == 0
    assert out.getvalue() == before and bar.current == 1


def test_wrong_key_and_raw_garbage_change_nothing(tmp_path: object) -> None:
    bar, out = new_bar(None)
    h = bar.handle()
    server = _handle._servers[bar]
    address, family = h._spec[0], h._spec[1]
    # A client with the wrong key is refused; nothing it could send is read.
    with pytest.raises(mpc.AuthenticationError):
        mpc.Client(address, family, authkey=b"not the key")
    # Raw bytes: a framed pickle that would create a file if it were ever unpickled,
    # then garbage, then a length header promising a huge message.
    marker = os.path.join(str(tmp_path), "unpickled")
    payload = b"c__builtin__\nopen\n(" + pickle.dumps(marker, 0)[:-1] + b"S'w'\ntR."
    for data in (struct.pack("!i", len(payload)) + payload, os.urandom(512),
                 struct.pack("!i", 2**31 - 1) + b"x" * 64):
        with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as sock:
            sock.connect(address)
            sock.sendall(data)
    # A stranger that connects and says nothing stalls neither workers nor close().
    silent = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    silent.connect(address)
    try:
        report_once(bar, 7)
        assert server.thread.is_alive()
        close_within(bar, 30)
    finally:
        silent.close()
    assert not os.path.exists(marker)
    assert bar.current == 7 and out.getvalue().splitlines()[-1].strip().startswith("7 ")


def test_socket_directory_is_private_and_removed() -> None:
    bar, _ = new_bar(None)
    h = bar.handle()
    address = h._spec[0]
    directory = os.path.dirname(address)
    info = os.stat(directory)
    assert stat.S_IMODE(info.st_mode) == 0o700 and info.st_uid == os.getuid()
    assert stat.S_ISSOCK(os.stat(address).st_mode)
    bar.close()
    assert not os.path.exists(directory)


def test_each_bar_has_its_own_random_key() -> None:
    a, _ = new_bar(None)
    b, _ = new_bar(None)
    ka, kb = a.handle()._spec[2], b.handle()._spec[2]
    assert len(ka) == 32 and ka != kb
    a.close()
    b.close()


PARENT = r"""
import sys, pickle, progbar
bar = progbar.Progbar(None, file=open('/dev/null', 'w'), dynamic=False)
sys.stdout.write(pickle.dumps(bar.handle()).hex() + '\n'); sys.stdout.flush()
sys.stdin.readline()  # killed while waiting here
"""

WORKER = r"""
import sys, pickle
h = pickle.loads(bytes.fromhex(sys.argv[1]))
h.add(1); h.flush()                      # connected to a live parent
print('connected', flush=True)
sys.stdin.readline()                     # the parent is killed meanwhile
for i in range(1000):
    h.add(1, [('loss', i)])
h.write('anyone?')
with h.bar(3) as child:
    child.add(3)
h.close()
print('done', flush=True)
"""


def test_worker_whose_parent_is_gone_goes_on_silently() -> None:
    import shutil

    env = dict(os.environ, PYTHONPATH=ROOT)
    with subprocess.Popen([sys.executable, "-c", PARENT], stdin=subprocess.PIPE,
                          stdout=subprocess.PIPE, text=True, env=env) as parent:
        assert parent.stdout is not None
        handle_hex = parent.stdout.readline().strip()
        with subprocess.Popen([sys.executable, "-c", WORKER, handle_hex],
                              stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                              stderr=subprocess.PIPE, text=True, env=env) as worker:
            assert worker.stdout is not None
            assert worker.stdout.readline().strip() == "connected"
            parent.kill()
            parent.wait(30)
            out, err = worker.communicate("go\n", timeout=60)
    assert worker.returncode == 0 and out.strip() == "done" and err == ""
    directory = os.path.dirname(pickle.loads(bytes.fromhex(handle_hex))._spec[0])
    shutil.rmtree(directory, ignore_errors=True)  # the killed parent could not
