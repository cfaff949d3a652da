"""A local SMTP sink: accepts every message and keeps it, for `make run`, tests and benchmarks.

Each message is written as an `.eml` file into the outbox folder (and kept in
memory), so `conveyor email outbox` can list what a sequence sent without a
real mail server. Tests can make it refuse a recipient (550) or defer the
next few (451), to exercise bounces and retries against a real SMTP server.

Run on its own: `python -m conveyor.email.sink --port 1025 --dir .state/outbox`.
"""

import argparse
import itertools
import signal
import threading
import time
from dataclasses import dataclass, field
from email import message_from_bytes, policy
from email.message import EmailMessage
from email.parser import BytesHeaderParser
from pathlib import Path
from typing import Any

from aiosmtpd.controller import Controller


@dataclass(frozen=True)
class Received:
    mail_from: str
    rcpt_tos: list[str]
    data: bytes

    @property
    def message(self) -> EmailMessage:
        parsed = message_from_bytes(self.data, policy=policy.default)
        assert isinstance(parsed, EmailMessage)
        return parsed


@dataclass
class OutboxHandler:
    """The aiosmtpd handler: what to refuse, and where accepted messages go."""

    folder: Path | None = None
    keep_in_memory: bool = True
    rejected: set[str] = field(default_factory=set)
    defer_next: int = 0
    received: list[Received] = field(default_factory=list)
    _counter: Any = field(default_factory=itertools.count)
    _lock: threading.Lock = field(default_factory=threading.Lock)

    async def handle_RCPT(
        self, server: Any, session: Any, envelope: Any, address: str, rcpt_options: Any
    ) -> str:
        if address.lower() in self.rejected:
            return f"550 5.1.1 <{address}>: mailbox unavailable"
        with self._lock:
            if self.defer_next > 0:
                self.defer_next -= 1
                return "451 4.3.0 try again later"
        envelope.rcpt_tos.append(address)
        return "250 OK"

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
        item = Received(envelope.mail_from, list(envelope.rcpt_tos), bytes(envelope.content))
        if self.folder is not None:
            name = f"{time.time_ns()}-{next(self._counter):06d}.eml"
            (self.folder / name).write_bytes(item.data)
        if self.keep_in_memory:
            with self._lock:
                self.received.append(item)
        return "250 Message accepted for delivery"

    def to(self, recipient: str) -> list[Received]:
        with self._lock:
            return [
                r for r in self.received if recipient.lower() in (t.lower() for t in r.rcpt_tos)
            ]


class SmtpSink:
    """A running sink on 127.0.0.1 (its own thread and event loop)."""

    def __init__(self, port: int, folder: Path | None = None, keep_in_memory: bool = True) -> None:
        if folder is not None:
            folder.mkdir(parents=True, exist_ok=True)
        self.port = port
        self.handler = OutboxHandler(folder, keep_in_memory)
        self._controller = Controller(self.handler, hostname="127.0.0.1", port=port)

    def start(self) -> "SmtpSink":
        self._controller.start()
        return self

    def stop(self) -> None:
        self._controller.stop()

    def restart(self) -> None:
        self._controller = Controller(self.handler, hostname="127.0.0.1", port=self.port)
        self._controller.start()


@dataclass(frozen=True)
class OutboxEntry:
    path: Path
    date: str
    sender: str
    recipient: str
    subject: str
    message_id: str


def read_outbox(folder: Path, limit: int | None = None) -> list[OutboxEntry]:
    """The messages the sink kept, newest first."""
    paths = sorted(folder.glob("*.eml"), reverse=True) if folder.is_dir() else []
    entries = []
    for path in paths[:limit]:
        with path.open("rb") as file:
            headers = BytesHeaderParser(policy=policy.default).parse(file)
        entries.append(
            OutboxEntry(
                path, str(headers["Date"] or ""), str(headers["From"] or ""),
                str(headers["To"] or ""), str(headers["Subject"] or ""),
                str(headers["Message-ID"] or ""),
            )
        )  # fmt: skip
    return entries


def main() -> None:
    parser = argparse.ArgumentParser(description="A local SMTP sink that keeps every message.")
    parser.add_argument("--port", type=int, default=1025)
    parser.add_argument("--dir", type=Path, required=True)
    args = parser.parse_args()
    sink = SmtpSink(args.port, args.dir, keep_in_memory=False).start()
    print(f"SMTP sink on 127.0.0.1:{args.port}, keeping messages in {args.dir}", flush=True)
    stop = threading.Event()
    for sig in (signal.SIGINT, signal.SIGTERM):
        signal.signal(sig, lambda *_: stop.set())
    stop.wait()
    sink.stop()


if __name__ == "__main__":
    main()
