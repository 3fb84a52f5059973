"""``progbar ls`` and ``progbar watch``: a real job in a subprocess, its output in a log
file, watched from here -- as JSON, on a real pseudo-terminal read back as a screen --
and the faults: a job that dies or is stopped mid-watch, no job, a stale socket, garbage
on a socket, a directory open to others or another user's, 50 watchers, a watcher that
stops reading.  Each job runs in a private XDG_RUNTIME_DIR of its own."""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import pytest
from support.ptyscreen import run_with_checkpoints

from progbar import _watch

ROOT = Path(__file__).resolve().parents[1]
pytestmark = pytest.mark.skipif(not hasattr(socket, "AF_UNIX"), reason="needs Unix sockets")

# A job of three epochs of 30 steps; each step waits for the test's go (a line on its
# stdin) once the job is published, so that the test sets the pace, not a clock.
JOB = """
import sys, time
from progbar import Progbar, track
log = open(sys.argv[1], "w")
paced = sys.argv[2] == "paced"
with Progbar(3, label="epoch", file=log) as epochs:
    for epoch in range(3):
        for step in (bar := track(range(30), label="train", file=log)):
            time.sleep(0.1)  # the job's own work (the test never sleeps)
            if paced and epoch == 0 and step == 25:
                sys.stdin.readline()  # wait here until the test has looked
            bar.log(loss=1.0 / (step + 1), acc=step / 30)
        epochs.add(1, [("val_loss", 0.25)])
"""


@pytest.fixture
def env(tmp_path: Path) -> dict[str, str]:
    runtime = tmp_path / "run"
    runtime.mkdir(mode=0o700)
    e = {k: v for k, v in os.environ.items() if not k.startswith("PROGBAR_")}
    # PROGBAR_WATCH_DIR: this test's jobs only (other processes' bars publish elsewhere)
    e.update(XDG_RUNTIME_DIR=str(runtime), PYTHONPATH=str(ROOT), PROGBAR_WATCH="1",
             PROGBAR_WATCH_DIR=str(runtime / "progbar"))
    return e


def start(env: dict[str, str], tmp_path: Path, paced: bool = True) -> subprocess.Popen[str]:
    return subprocess.Popen([sys.executable, "-c", JOB, str(tmp_path / "job.log"),
                             "paced" if paced else "free"],
                            stdin=subprocess.PIPE, env=env, text=True, cwd=ROOT)


def cli(env: dict[str, str], *args: str, timeout: float = 60) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "progbar", *args], env=env,
                          capture_output=True, text=True, timeout=timeout, cwd=ROOT)


def published(env: dict[str, str], pid: int) -> Path:
    """The job's socket, once it is there (polled: it appears after two seconds)."""
    path = Path(env["XDG_RUNTIME_DIR"]) / "progbar" / f"{pid}.sock"
    deadline = time.monotonic() + 60
    while not path.exists():
        assert time.monotonic() < deadline, "the job never published"
        time.sleep(0.05)  # polling for the socket, not timing anything
    return path


def finish(job: subprocess.Popen[str]) -> None:
    """Let the job go on to its end (or reap it), and close its stdin."""
    assert job.stdin is not None
    try:
        if job.poll() is None:
            job.stdin.write("go\n")
        job.stdin.close()
    except OSError:
        pass
    job.wait(timeout=60)


def test_ls_lists_the_job_and_its_bars(env: dict[str, str], tmp_path: Path) -> None:
    job = start(env, tmp_path)
    try:
        published(env, job.pid)
        res = cli(env, "ls", "--json")
        assert res.returncode == 0, res.stderr
        jobs = [j for j in json.loads(res.stdout) if j["pid"] == job.pid]
        assert len(jobs) == 1
        bars = jobs[0]["bars"]
        assert [b["label"] for b in bars] == ["epoch", "train"]
        assert bars[0]["target"] == 3 and bars[1]["target"] == 30
        assert bars[1]["state"] == "running" and isinstance(bars[1]["metrics"]["loss"], float)
        text = cli(env, "ls")
        assert text.returncode == 0
        assert f"{job.pid}  started " in text.stdout and "train " in text.stdout
    finally:
        finish(job)
    assert job.returncode == 0
    assert not (Path(env["XDG_RUNTIME_DIR"]) / "progbar").exists()  # nothing left at exit


def test_watch_json_follows_the_job_to_its_end(env: dict[str, str], tmp_path: Path) -> None:
    job = start(env, tmp_path, paced=False)
    try:
        published(env, job.pid)
        res = cli(env, "watch", str(job.pid), "--json")
    finally:
        finish(job)
    assert res.returncode == 0, res.stderr
    states = [json.loads(line) for line in res.stdout.splitlines()]
    assert len(states) >= 3 and all(s["pid"] == job.pid for s in states)
    assert states[-1]["ended"] and not states[-1]["stopped"]
    epochs = [s["bars"][0]["current"] for s in states if s["bars"]]
    assert epochs == sorted(epochs) and epochs[-1] == 3
    assert states[-1]["bars"][0]["state"] == "done"
    # the job's own output is its log, untouched by the watching
    assert (tmp_path / "job.log").read_text().splitlines()[-1].startswith("epoch 3/3 100%")


def test_watch_on_a_terminal_draws_the_block_and_keeps_the_final_lines(
        env: dict[str, str], tmp_path: Path) -> None:
    job = start(env, tmp_path, paced=False)
    try:
        published(env, job.pid)
        run = run_with_checkpoints(f"""
            import sys
            from progbar.__main__ import main
            sys.exit(main(["watch", "{job.pid}"]))
            """, cols=100, rows=10, env={**env, "FORCE_COLOR": "1"}, preamble=False)
    finally:
        finish(job)
    assert run.returncode == 0
    rows = [row for row in run.final if row.strip()]
    assert rows[0].startswith("epoch 3/3 100%") and "val_loss: 0.2500" in rows[0]
    assert rows[1].startswith("train 30/30 100%") and "loss:" in rows[1]
    assert all(len(row) <= 99 for row in rows)


def test_a_job_killed_mid_watch_is_said_so(env: dict[str, str], tmp_path: Path) -> None:
    job = start(env, tmp_path)
    published(env, job.pid)
    watcher = subprocess.Popen([sys.executable, "-m", "progbar", "watch", str(job.pid),
                                "--json"], env=env, stdout=subprocess.PIPE,
                               stderr=subprocess.PIPE, text=True, cwd=ROOT)
    assert watcher.stdout is not None
    assert json.loads(watcher.stdout.readline())["pid"] == job.pid  # it is watching
    job.kill()
    finish(job)
    out, err = watcher.communicate(timeout=60)
    assert watcher.returncode == 1
    assert err.strip().splitlines() == [
        f"progbar: job {job.pid} ended without finishing its bars (killed, or it crashed)"]


def test_sigterm_mid_watch_is_said_so_and_the_socket_goes(
        env: dict[str, str], tmp_path: Path) -> None:
    job = start(env, tmp_path)
    path = published(env, job.pid)
    watcher = subprocess.Popen([sys.executable, "-m", "progbar", "watch", str(job.pid),
                                "--json"], env=env, stdout=subprocess.PIPE,
                               stderr=subprocess.PIPE, text=True, cwd=ROOT)
    assert watcher.stdout is not None
    first = json.loads(watcher.stdout.readline())  # it is watching
    assert first["pid"] == job.pid
    job.send_signal(signal.SIGTERM)  # a scheduler stops the job
    job.wait(timeout=60)
    finish(job)
    out, err = watcher.communicate(timeout=60)
    assert job.returncode == -signal.SIGTERM  # the exit status still says so
    assert watcher.returncode == 1
    assert err.strip() == f"progbar: job {job.pid} was stopped by SIGTERM"
    last = json.loads(out.splitlines()[-1])
    assert last["ended"] and last["stopped"] == "SIGTERM" and last["bars"]
    assert not path.exists()


def test_a_job_killed_leaves_a_socket_the_next_look_removes(
        env: dict[str, str], tmp_path: Path) -> None:
    job = start(env, tmp_path)
    path = published(env, job.pid)
    job.kill()  # SIGKILL: nothing of the job's runs
    finish(job)
    assert path.exists()
    assert json.loads(cli(env, "ls", "--json").stdout) == []
    assert not path.exists()


def test_no_job_is_one_line_and_exit_1(env: dict[str, str]) -> None:
    for args in (["watch"], ["ls"], ["watch", "999999"]):
        res = cli(env, *args)
        assert res.returncode == 1 and "Traceback" not in res.stderr
        assert len(res.stderr.strip().splitlines()) == 1


def test_a_stale_socket_is_removed_and_garbage_is_one_clear_line(
        env: dict[str, str], tmp_path: Path) -> None:
    folder = Path(env["XDG_RUNTIME_DIR"]) / "progbar"
    folder.mkdir(mode=0o700)
    dead = subprocess.run([sys.executable, "-c", "import os; print(os.getpid())"],
                          capture_output=True, text=True, check=True)
    stale = folder / f"{int(dead.stdout)}.sock"
    stale.touch()
    # a socket of a live process (this one) that answers garbage
    server = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    server.bind(str(folder / f"{os.getpid()}.sock"))
    server.listen(1)

    def garbage() -> None:
        conn, _ = server.accept()
        conn.recv(64)
        conn.sendall(b"HTTP/1.1 200 OK\r\n\r\nnot progbar\n")
        conn.close()

    import threading

    t = threading.Thread(target=garbage, daemon=True)
    t.start()
    res = cli(env, "watch", str(os.getpid()))
    t.join(10)
    server.close()
    assert not stale.exists()
    assert res.returncode == 1 and "Traceback" not in res.stderr
    assert res.stderr.strip() == (f"progbar: job {os.getpid()}'s socket does not speak "
                                  "progbar's protocol")


def test_a_directory_open_to_others_or_a_symlink_is_refused(tmp_path: Path) -> None:
    open_dir = tmp_path / "open"
    open_dir.mkdir()
    open_dir.chmod(0o755)
    with pytest.raises(_watch.WatchError, match="open to other users"):
        _watch.private_dir(str(open_dir), create=False)
    link = tmp_path / "link"
    private = tmp_path / "private"
    private.mkdir(mode=0o700)
    link.symlink_to(private)
    with pytest.raises(_watch.WatchError, match="symlink"):
        _watch.private_dir(str(link), create=False)
    assert _watch.private_dir(str(private), create=False) == str(private)
    made = tmp_path / "made"
    assert _watch.private_dir(str(made), create=True) == str(made)
    assert made.stat().st_mode & 0o777 == 0o700


@pytest.mark.skipif(os.geteuid() != 0, reason="needs root to give a directory away")
def test_another_users_directory_is_refused_and_the_job_says_so(
        env: dict[str, str], tmp_path: Path) -> None:
    theirs = Path(env["XDG_RUNTIME_DIR"]) / "progbar"
    theirs.mkdir(mode=0o700)
    os.chown(theirs, 4242, -1)
    with pytest.raises(_watch.WatchError, match="another user"):
        _watch.private_dir(str(theirs), create=False)
    job = subprocess.run([sys.executable, "-c", textwrap.dedent("""
        import time
        from progbar import track
        for _ in track(range(30), file=open("/dev/null", "w")):
            time.sleep(0.1)
        """)], env=env, capture_output=True, text=True, timeout=60, cwd=ROOT)
    assert job.returncode == 0
    assert "belongs to another user: not used" in job.stderr
    assert job.stderr.count("\n") == 1 and not list(theirs.iterdir())


def test_fifty_watchers_and_one_that_stops_reading(env: dict[str, str], tmp_path: Path) -> None:
    job = start(env, tmp_path)
    try:
        path = published(env, job.pid)
        socks = [_connected(path) for _ in range(50)]
        stuck = _connected(path)  # says hello, never reads
        stuck.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 1024)
        for sock in socks:
            line = _read_line(sock)
            assert json.loads(line)["pid"] == job.pid
    finally:
        finish(job)
    assert job.returncode == 0  # the stuck watcher never held the job
    for sock in socks + [stuck]:
        sock.close()


def test_without_progbar_watch_dir_a_job_publishes_in_the_runtime_directory(
        env: dict[str, str], tmp_path: Path) -> None:
    env = {k: v for k, v in env.items() if k != "PROGBAR_WATCH_DIR"}
    job = start(env, tmp_path)
    try:
        path = published(env, job.pid)  # $XDG_RUNTIME_DIR/progbar/<pid>.sock
        assert path.stat().st_mode & 0o777 == 0o600
        assert path.parent.stat().st_mode & 0o777 == 0o700
        assert job.pid in [j["pid"] for j in json.loads(cli(env, "ls", "--json").stdout)]
    finally:
        finish(job)


def test_nothing_is_published_with_progbar_watch_0(env: dict[str, str], tmp_path: Path) -> None:
    env = dict(env, PROGBAR_WATCH="0")
    job = subprocess.run([sys.executable, "-c", JOB, str(tmp_path / "job.log"), "free"],
                         env=env, timeout=60, cwd=ROOT)
    assert job.returncode == 0
    assert not (Path(env["XDG_RUNTIME_DIR"]) / "progbar").exists()


def _connected(path: Path) -> socket.socket:
    sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    sock.settimeout(30)
    sock.connect(str(path))
    sock.sendall(b"progbar-watch 1\n")
    return sock


def _read_line(sock: socket.socket) -> bytes:
    buf = b""
    while b"\n" not in buf:
        data = sock.recv(65536)
        assert data
        buf += data
    return buf.split(b"\n", 1)[0]



def test_a_framework_that_chains_our_sigterm_handler_keeps_the_ending(env: dict[str, str]) -> None:
    # Lightning composes the SIGTERM handlers it finds with its own and stops the run
    # gracefully: ours, called from there, does its work and leaves the ending to it.
    code = textwrap.dedent("""
        import os, signal
        from progbar._workers import signals
        ran = []
        signals.on_terminate(lambda: ran.append("ours"))
        signals.install(watcher=False)
        previous = signal.getsignal(signal.SIGTERM)

        def framework(signum, frame):
            previous(signum, frame)  # it chains the handler it found
            print("framework handled it; ours ran:", ran, flush=True)

        signal.signal(signal.SIGTERM, framework)
        os.kill(os.getpid(), signal.SIGTERM)
        print("still running", flush=True)
        """)
    res = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True,
                         text=True, timeout=60, cwd=ROOT)
    assert res.returncode == 0, res.stderr
    assert res.stdout.splitlines() == ["framework handled it; ours ran: ['ours']",
                                       "still running"]
