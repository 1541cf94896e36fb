"""A minimal HTTP/1.1 server that answers every request after a delay (run by path).

`python benchmarks/slow_http.py DELAY_S` listens on 127.0.0.1 on a free port, prints the
port, and serves until terminated. Keep-alive connections, no request bodies: exactly what
the benchmark's `bench-http-wait` jobs send.
"""

from __future__ import annotations

import asyncio
import sys

RESPONSE = b"HTTP/1.1 200 OK\r\nContent-Length: 2\r\nContent-Type: text/plain\r\n\r\nok"


async def _serve(reader: asyncio.StreamReader, writer: asyncio.StreamWriter, delay_s: float) -> None:
    try:
        while True:
            try:
                await reader.readuntil(b"\r\n\r\n")
            except (asyncio.IncompleteReadError, asyncio.LimitOverrunError, ConnectionError):
                return
            await asyncio.sleep(delay_s)
            writer.write(RESPONSE)
            await writer.drain()
    finally:
        writer.close()


async def main(delay_s: float) -> None:
    server = await asyncio.start_server(lambda r, w: _serve(r, w, delay_s), "127.0.0.1", 0, backlog=1024)
    port = server.sockets[0].getsockname()[1]
    sys.stdout.write(f"{port}\n")
    sys.stdout.flush()
    async with server:
        await server.serve_forever()


if __name__ == "__main__":
    asyncio.run(main(float(sys.argv[1])))
