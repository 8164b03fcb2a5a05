"""A server that does nothing but answer: the same fixed command to every POST.

The yardstick for the load generator: it must drive this one much faster than any real server,
or the load generator, not the server, would set the pace.

    python benchmarks/peers/trivial.py --port 8080
"""

from __future__ import annotations

import argparse
import asyncio

ANSWER = b'{"command":"hangup","command_id":1,"params":{},"variables":{}}'
RESPONSE = b"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: %d\r\n\r\n%b" % (
    len(ANSWER),
    ANSWER,
)


class Answer(asyncio.Protocol):
    """Answers each request on a keep-alive connection as soon as it has arrived whole."""

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self.transport = transport
        self.buffer = b""

    def data_received(self, data: bytes) -> None:
        buffer = self.buffer + data
        while True:
            end = buffer.find(b"\r\n\r\n")
            if end < 0:
                break
            head = buffer[:end].lower()
            at = head.find(b"content-length:")
            length = 0
            if at >= 0:
                line_end = head.find(b"\r\n", at)
                length = int(head[at + 15 : line_end if line_end >= 0 else None])
            if len(buffer) < end + 4 + length:
                break
            buffer = buffer[end + 4 + length :]
            self.transport.write(RESPONSE)  # type: ignore[attr-defined]
        self.buffer = buffer


async def serve(port: int) -> None:
    loop = asyncio.get_running_loop()
    await loop.create_server(Answer, "127.0.0.1", port)
    await asyncio.Event().wait()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--port", type=int, default=8080)
    args = parser.parse_args()
    try:
        import uvloop
    except ImportError:
        asyncio.run(serve(args.port))
    else:
        uvloop.run(serve(args.port))


if __name__ == "__main__":
    main()
