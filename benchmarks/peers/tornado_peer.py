"""The hand-written support line on plain Tornado.

python benchmarks/peers/tornado_peer.py --port 8080
"""

from __future__ import annotations

import argparse
import asyncio
import json

import support_line
import tornado.web


class Realtime(tornado.web.RequestHandler):
    def post(self) -> None:
        answer = support_line.answer(json.loads(self.request.body))
        if answer is not None:  # None: the call has ended, CALLR ignores the answer
            self.write(answer)


async def serve(port: int) -> None:
    app = tornado.web.Application([(r"/", Realtime)])
    app.listen(port, "127.0.0.1")
    await asyncio.Event().wait()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--port", type=int, default=8080)
    args = parser.parse_args()
    asyncio.run(serve(args.port))


if __name__ == "__main__":
    main()
