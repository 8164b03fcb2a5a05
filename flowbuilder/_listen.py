"""Listening sockets for the callback server and the sandbox, and one line when that fails.

Unlike tornado's ``bind_sockets``, nothing leaks on failure, and the error says which address
and what to do (``[Errno 98] Address already in use`` names neither).
"""

from __future__ import annotations

import errno
import socket


def check_port(port: object) -> None:
    """Refuse a port no socket can have (the OS would pick a random one for some)."""
    if isinstance(port, bool) or not isinstance(port, int) or not 0 <= port <= 65535:
        raise ValueError(f"port must be 0 (any free port) to 65535, got {port!r}")


def listen(host: str, port: int, backlog: int = 1024) -> list[socket.socket]:
    """Sockets listening on every address of *host* (one port for all), SO_REUSEADDR set so a
    restarted server can bind at once. OSError in one line naming the host and port."""
    try:
        infos = socket.getaddrinfo(
            host or None, port, socket.AF_UNSPEC, socket.SOCK_STREAM, 0, socket.AI_PASSIVE
        )
    except socket.gaierror as exc:
        raise OSError(f"cannot serve on host {host!r}: {exc.strerror}") from None
    sockets: list[socket.socket] = []
    try:
        for family, kind, proto, _, address in sorted(set(infos), key=lambda info: info[0]):
            sock = socket.socket(family, kind, proto)
            sockets.append(sock)
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
            if family == socket.AF_INET6:  # a separate IPv4 socket serves IPv4
                sock.setsockopt(socket.IPPROTO_IPV6, socket.IPV6_V6ONLY, 1)
            if port == 0 and len(sockets) > 1:  # the same free port on every address
                address = (address[0], sockets[0].getsockname()[1], *address[2:])
            sock.setblocking(False)
            sock.bind(address)
            sock.listen(backlog)
    except OSError as exc:
        for sock in sockets:
            sock.close()
        where = f"{host}:{port}"
        if exc.errno == errno.EADDRINUSE:
            raise OSError(
                f"cannot serve on {where}: the address is in use by another program; "
                "stop it or choose another port"
            ) from None
        raise OSError(f"cannot serve on {where}: {exc.strerror or exc}") from None
    return sockets
