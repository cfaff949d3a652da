"""A TCP proxy in front of the S3 server that can fail, stall or slow connections.

It injects faults at the transport level, where real outages happen: the
worker's boto3 client sees refused connections or a slow link, and the S3
server behind it is the real one.
"""

import asyncio
import contextlib


class FaultyProxy:
    def __init__(self, upstream_host: str, upstream_port: int) -> None:
        self._upstream = (upstream_host, upstream_port)
        self._server: asyncio.Server | None = None
        self._refuse_next = 0
        self._refuse_all = False
        self._open = asyncio.Event()
        self._open.set()
        self._bytes_per_second: float | None = None
        self._connections: set[asyncio.StreamWriter] = set()
        self.refused = 0
        self.port = 0

    async def start(self) -> None:
        self._server = await asyncio.start_server(self._handle, "127.0.0.1", 0)
        self.port = self._server.sockets[0].getsockname()[1]

    async def stop(self) -> None:
        if self._server is not None:
            self._server.close()

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def refuse_next(self, count: int) -> None:
        """Drops the next `count` connections the moment they open."""
        self._refuse_next = count
        self._cut_open_connections()

    def refuse_all(self) -> None:
        self._refuse_all = True
        self._cut_open_connections()

    def stall(self) -> None:
        """New connections wait, unanswered, until `release`."""
        self._open.clear()
        self._cut_open_connections()

    def release(self) -> None:
        self._open.set()

    def throttle(self, bytes_per_second: float | None) -> None:
        """Caps the upload rate of every connection (None lifts the cap)."""
        self._bytes_per_second = bytes_per_second

    def heal(self) -> None:
        self._refuse_next, self._refuse_all, self._bytes_per_second = 0, False, None
        self.release()

    def _cut_open_connections(self) -> None:
        # Clients keep connections alive; cutting them makes the next request
        # open a new one, which is where the fault applies.
        for writer in self._connections:
            writer.transport.abort()

    async def _handle(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        # A handler cancelled at shutdown ends quietly instead of logging a traceback.
        with contextlib.suppress(asyncio.CancelledError):
            await self._serve(reader, writer)

    async def _serve(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        if self._refuse_all or self._refuse_next > 0:
            self._refuse_next = max(0, self._refuse_next - 1)
            self.refused += 1
            writer.transport.abort()
            return
        await self._open.wait()
        up_reader, up_writer = await asyncio.open_connection(*self._upstream)
        self._connections.update((writer, up_writer))
        try:
            await asyncio.gather(
                self._pipe(reader, up_writer, throttled=True),
                self._pipe(up_reader, writer, throttled=False),
                return_exceptions=True,
            )
        finally:
            self._connections.difference_update((writer, up_writer))

    async def _pipe(
        self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter, throttled: bool
    ) -> None:
        try:
            while chunk := await reader.read(64 * 1024):
                writer.write(chunk)
                await writer.drain()
                if throttled and self._bytes_per_second:
                    await asyncio.sleep(len(chunk) / self._bytes_per_second)
        finally:
            with contextlib.suppress(Exception):
                writer.close()
