"""Builds the MIME bytes of one step, with the RFC 8058 one-click unsubscribe headers.

Assembled directly rather than through `email.message.EmailMessage`, whose
header parsing and folding cost more per message than the SMTP round trip
to a local relay: a tick's throughput is bounded by this. Bodies are UTF-8,
quoted-printable; a non-ASCII or very long subject or sender name is
RFC 2047-encoded.
"""

import hashlib
import quopri
import uuid
from email.header import Header
from email.utils import formataddr, formatdate, parseaddr

from conveyor.email.templates import RenderedEmail


def address_of(sender: str) -> str:
    """The bare address of `Name <addr>` or `addr`."""
    return parseaddr(sender)[1]


def message_id(enrollment_id: uuid.UUID, step: int, sender: str) -> str:
    """Deterministic, so a retried send carries the same Message-ID as the first try."""
    domain = address_of(sender).rpartition("@")[2] or "conveyor.invalid"
    return f"<{enrollment_id}.{step}@{domain}>"


def build_message(
    rendered: RenderedEmail,
    *,
    sender: str,
    recipient: str,
    message_id: str,
    unsubscribe_url: str,
    uses_unsubscribe_url: bool,
) -> bytes:
    text, html = rendered.body_text, rendered.body_html
    if not uses_unsubscribe_url:
        # Every email carries its link, whether the template placed it or not.
        text = f"{text.rstrip()}\n\n--\nUnsubscribe: {unsubscribe_url}\n"
        if html is not None:
            html = f'{html}\n<p><a href="{unsubscribe_url}">Unsubscribe</a></p>\n'
    headers = [
        f"From: {formataddr(parseaddr(sender), charset='utf-8')}",
        f"To: {recipient}",
        f"Subject: {_text_header(rendered.subject)}",
        f"Message-ID: {message_id}",
        f"Date: {formatdate(localtime=False)}",
        "MIME-Version: 1.0",
        f"List-Unsubscribe: <{unsubscribe_url}>",
        "List-Unsubscribe-Post: List-Unsubscribe=One-Click",
    ]
    if html is None:
        return _join(headers, _part("plain", text))
    boundary = "=_" + hashlib.sha256(message_id.encode()).hexdigest()[:32]
    body = [
        f'Content-Type: multipart/alternative; boundary="{boundary}"',
        "",
        f"--{boundary}",
        *_part("plain", text),
        f"--{boundary}",
        *_part("html", html),
        f"--{boundary}--",
        "",
    ]
    return _join(headers, body)


def _text_header(value: str) -> str:
    if value.isascii() and len(value) < 900:
        return value
    return Header(value, "utf-8").encode()


def _part(subtype: str, content: str) -> list[str]:
    normalized = content.replace("\r\n", "\n").replace("\r", "\n")
    encoded = quopri.encodestring(normalized.encode()).decode("ascii")
    return [
        f'Content-Type: text/{subtype}; charset="utf-8"',
        "Content-Transfer-Encoding: quoted-printable",
        "",
        encoded,
    ]


def _join(headers: list[str], body: list[str]) -> bytes:
    return "\r\n".join([*headers, *body]).replace("\r\n", "\n").replace("\n", "\r\n").encode()
