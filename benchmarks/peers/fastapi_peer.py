"""The hand-written support line on FastAPI, served by uvicorn with uvloop and httptools.

python benchmarks/peers/fastapi_peer.py --port 8080
"""

from __future__ import annotations

import argparse

import support_line
import uvicorn
from fastapi import FastAPI, Request, Response
from fastapi.responses import JSONResponse

app = FastAPI()


@app.post("/")
async def realtime(request: Request) -> Response:
    answer = support_line.answer(await request.json())
    if answer is None:
        return Response()  # the call has ended: CALLR ignores the answer
    return JSONResponse(answer)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--port", type=int, default=8080)
    args = parser.parse_args()
    uvicorn.run(
        app,
        host="127.0.0.1",
        port=args.port,
        loop="uvloop",
        http="httptools",
        access_log=False,
        log_level="warning",
    )


if __name__ == "__main__":
    main()
