"""Binding the service's listening sockets before anything starts.

Both listeners (AudioSocket and HTTP) are bound here first, so an address that is taken,
privileged or not on this machine stops ``voiceguard serve`` with one clear message and
exit code 2, instead of a traceback from whichever server library tried first (uvicorn
exits with ``SystemExit(3)`` after logging the raw ``OSError``).
"""

from __future__ import annotations

import errno
import socket
from dataclasses import dataclass, field
from typing import Any

from voiceguard.errors import VoiceguardError

__all__ = ["ListenError", "Listeners", "bind", "bind_listeners"]


class ListenError(VoiceguardError, OSError):
    """A listener cannot bind its address (in use, not permitted, not on this machine)."""


def _why(exc: OSError, port: int) -> str:
    if exc.errno == errno.EADDRINUSE:
        return ("the port is already in use (another voiceguard serve, or another program, listens there); "
                "choose another port or stop that program")
    if exc.errno == errno.EACCES:
        return (f"permission denied{' (ports below 1024 need privileges)' if 0 < port < 1024 else ''}; "
                "choose another port")
    if exc.errno == errno.EADDRNOTAVAIL:
        return "this machine has no such address; listen on 127.0.0.1, 0.0.0.0 or one of its own addresses"
    return exc.strerror or str(exc)


def bind(host: str, port: int, what: str, backlog: int = 512) -> list[socket.socket]:
    """Bind and listen on every address ``host`` resolves to (one for port 0).

    Parameters
    ----------
    host : str
    port : int
    what : str
        The listener's name for messages (``'the HTTP API'``, ``'AudioSocket'``).
    backlog : int

    Returns
    -------
    list of socket.socket
        Listening, non-blocking sockets.

    Raises
    ------
    ListenError
        With a message that says what is wrong and what to do.
    """
    try:
        infos = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM, flags=socket.AI_PASSIVE)
    except socket.gaierror as exc:
        raise ListenError(f"cannot listen for {what} on {host}:{port}: unknown host ({exc.strerror})") from exc
    seen: set[Any] = set()
    socks: list[socket.socket] = []
    for family, kind, proto, _, addr in infos[:1] if port == 0 else infos:
        if (family, addr) in seen:
            continue
        seen.add((family, addr))
        sock = socket.socket(family, kind, proto)
        try:
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
            if family == socket.AF_INET6:
                sock.setsockopt(socket.IPPROTO_IPV6, socket.IPV6_V6ONLY, 1)
            sock.bind(addr)
            sock.listen(backlog)
            sock.setblocking(False)
        except OSError as exc:
            sock.close()
            for s in socks:
                s.close()
            raise ListenError(f"cannot listen for {what} on {host}:{port}: {_why(exc, port)}") from exc
        socks.append(sock)
    return socks


@dataclass
class Listeners:
    """The bound sockets of the service's two listeners."""

    audiosocket: list[socket.socket] = field(default_factory=list)
    http: list[socket.socket] = field(default_factory=list)

    def close(self) -> None:
        """Close every socket (when the service does not start after all)."""
        for s in self.audiosocket + self.http:
            s.close()


def bind_listeners(config: Any) -> Listeners:
    """Bind the AudioSocket and HTTP addresses of a :class:`ServiceConfig` (either may be
    ``None``); all or nothing.

    Raises
    ------
    ListenError
    """
    out = Listeners()
    try:
        if config.audiosocket is not None:
            host, port = config.audiosocket
            out.audiosocket = bind(host, port, "AudioSocket")
        if config.http is not None:
            host, port = config.http
            out.http = bind(host, port, "the HTTP API")
    except BaseException:
        out.close()
        raise
    return out
