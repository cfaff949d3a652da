"""Sends messages over a few reused SMTP connections and classifies each outcome.

Permanent rejections (5xx) are per message: that recipient bounced and the
rest go on. Temporary ones (4xx, a refused or dropped connection, a timeout)
are deferred: the caller releases those messages and retries later.
"""

import asyncio
import contextlib
from collections.abc import Sequence
from dataclasses import dataclass
from enum import Enum

import aiosmtplib

from conveyor.settings import Settings


class Outcome(Enum):
    SENT = "SENT"
    REJECTED = "REJECTED"
    DEFERRED = "DEFERRED"


@dataclass(frozen=True)
class Outbound:
    sender: str
    recipient: str
    data: bytes


@dataclass(frozen=True)
class SendResult:
    outcome: Outcome
    error: str | None = None


_NOT_SENT = SendResult(Outcome.DEFERRED, "not sent: the SMTP server could not be reached")


class SmtpNotConfigured(RuntimeError):
    pass


class SmtpSender:
    def __init__(self, settings: Settings) -> None:
        self._settings = settings

    def check_configured(self) -> None:
        if not self._settings.smtp_host:
            raise SmtpNotConfigured("SMTP_HOST is not set: email cannot be sent")

    async def send_all(self, outbound: Sequence[Outbound]) -> list[SendResult]:
        """One result per message, in order; never raises for a single message."""
        self.check_configured()
        results: list[SendResult] = [_NOT_SENT] * len(outbound)
        queue: asyncio.Queue[int] = asyncio.Queue()
        for index in range(len(outbound)):
            queue.put_nowait(index)
        workers = min(self._settings.smtp_connections, len(outbound))
        await asyncio.gather(*(self._drain(queue, outbound, results) for _ in range(workers)))
        return results

    async def _drain(
        self, queue: "asyncio.Queue[int]", outbound: Sequence[Outbound], results: list[SendResult]
    ) -> None:
        client: aiosmtplib.SMTP | None = None
        try:
            while not queue.empty():
                index = queue.get_nowait()
                if client is None:
                    try:
                        client = await self._connect()
                    except (aiosmtplib.SMTPException, OSError) as err:
                        # This connection gives up; what is left stays deferred.
                        results[index] = SendResult(Outcome.DEFERRED, self._unreachable(err))
                        return
                results[index], healthy = await _send_one(client, outbound[index])
                if not healthy:
                    client.close()
                    client = None
        finally:
            if client is not None:
                with contextlib.suppress(aiosmtplib.SMTPException, OSError):
                    await client.quit()

    async def _connect(self) -> aiosmtplib.SMTP:
        settings = self._settings
        client = aiosmtplib.SMTP(
            hostname=settings.smtp_host,
            port=settings.smtp_port,
            start_tls=settings.smtp_starttls,
            username=settings.smtp_username or None,
            password=settings.smtp_password or None,
            timeout=settings.smtp_timeout_seconds,
        )
        await client.connect()
        return client

    def _unreachable(self, err: BaseException) -> str:
        where = f"{self._settings.smtp_host}:{self._settings.smtp_port}"
        return f"SMTP server {where} unavailable: {err}"


async def _send_one(client: aiosmtplib.SMTP, item: Outbound) -> tuple[SendResult, bool]:
    """The result, and whether the connection can carry on."""
    try:
        await client.sendmail(item.sender, [item.recipient], item.data)
    except aiosmtplib.SMTPRecipientsRefused as err:
        refused = err.recipients[0]
        return _classify(refused.code, refused.message), True
    except aiosmtplib.SMTPResponseException as err:
        return _classify(err.code, err.message), err.code != 421
    except (aiosmtplib.SMTPException, OSError) as err:
        return SendResult(Outcome.DEFERRED, f"SMTP connection failed: {err}"), False
    return SendResult(Outcome.SENT), True


def _classify(code: int, message: str) -> SendResult:
    outcome = Outcome.REJECTED if 500 <= code < 600 else Outcome.DEFERRED
    return SendResult(outcome, f"{code} {message}".strip())
