"""The wire between worker handles and their bar: the challenge both sides speak,
``multiprocessing.connection``'s framing, and the sockets (design.md, "Workers: the
transport under faults").

The challenge: the parent sends ``HELLO`` and a fresh nonce; the worker answers with
its own nonce and an HMAC-SHA256 of both under the bar's key; the parent checks it and
answers with its own HMAC of both (or ``REFUSED``).  Fresh nonces on both sides:
nothing recorded can be replayed to either.  The worker's half is :func:`authenticate`
(blocking, in its sender thread); the parent's is read without blocking by the
listener (``_Server.answer`` in ``listener``).
"""

from __future__ import annotations

import hmac
import os
import socket
import struct
from multiprocessing import AuthenticationError
from multiprocessing import connection as mpc

TYPE_CHECKING = False
if TYPE_CHECKING:
    from typing import Any

HELLO = b"progbar-handle-1 "
REFUSED = b"refused"
NONCE = 32  # bytes of each side's nonce
MAC = 32  # bytes of an HMAC-SHA256


def mac(key: bytes, who: bytes, parent_nonce: bytes, worker_nonce: bytes) -> bytes:
    return hmac.digest(key, who + parent_nonce + worker_nonce, "sha256")


def frame(data: bytes) -> bytes:
    """``Connection.send_bytes``'s framing: a 4-byte length, then the bytes."""
    return struct.pack("!i", len(data)) + data


class Framed:
    """``multiprocessing.connection``'s framing (a 4-byte length, then the bytes) over
    a socket with a timeout: what its challenge functions call, and no more."""

    def __init__(self, sock: socket.socket) -> None:
        self.sock = sock

    def send_bytes(self, data: bytes) -> None:
        self.sock.sendall(struct.pack("!i", len(data)) + bytes(data))

    def recv_bytes(self, maxlength: int | None = None) -> bytes:
        (size,) = struct.unpack("!i", self.read(4))
        if size < 0 or (maxlength is not None and size > maxlength):
            raise OSError("bad message length")
        return self.read(size)

    def read(self, n: int) -> bytes:
        buf = bytearray()
        while len(buf) < n:
            chunk = self.sock.recv(n - len(buf))
            if not chunk:
                raise EOFError
            buf += chunk
        return bytes(buf)


def open_socket(address: Any, family: str, timeout: float) -> socket.socket:
    """A connected socket to the parent's listener (queued in its backlog: the
    parent need not have accepted it), or the error, within ``timeout``."""
    fam = socket.AF_INET if family == "AF_INET" else socket.AF_UNIX
    sock = socket.socket(fam, socket.SOCK_STREAM)
    try:
        sock.settimeout(timeout)
        sock.connect(address)
        return sock
    except BaseException:
        sock.close()
        raise


def authenticate(sock: socket.socket, key: bytes, timeout: float) -> mpc.Connection:
    """The worker's half of the challenge (see the module's docstring) on ``sock``, bounded: a
    parent that accepts nothing (out of file descriptors, stopped) makes this fail
    after ``timeout``, not hang.  A wrong key is ``AuthenticationError``; a parent
    that closed the connection unanswered, ``EOFError`` (it may pass: see
    the client's authenticate).  The socket is the connection's, or closed."""
    try:
        sock.settimeout(timeout)
        framed = Framed(sock)
        hello = framed.recv_bytes(len(HELLO) + NONCE)
        if len(hello) != len(HELLO) + NONCE or not hello.startswith(HELLO):
            raise AuthenticationError("not a progbar listener")
        theirs, ours = hello[len(HELLO):], os.urandom(NONCE)
        framed.send_bytes(ours + mac(key, b"worker", theirs, ours))
        proof = framed.recv_bytes(MAC)
        if not hmac.compare_digest(proof, mac(key, b"parent", theirs, ours)):
            raise AuthenticationError("the listener refused this handle's key")
        sock.settimeout(None)
        return mpc.Connection(sock.detach())
    except BaseException:
        sock.close()
        raise


def listen(address: str) -> socket.socket:
    lsock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    try:
        lsock.bind(address)
        lsock.listen(128)
        lsock.setblocking(False)
    except BaseException:
        lsock.close()
        raise
    return lsock
