"""HMAC signatures: the webhook's body signature and the unsubscribe links' tokens."""

import base64
import hashlib
import hmac
import uuid

from conveyor.settings import Settings

SIGNATURE_HEADER = "X-Conveyor-Signature"


class SigningNotConfigured(RuntimeError):
    pass


def body_signature(secret: str, body: bytes) -> str:
    """`sha256=<hex>`: what a webhook sender puts in the X-Conveyor-Signature header."""
    return "sha256=" + hmac.new(secret.encode(), body, hashlib.sha256).hexdigest()


def body_signature_valid(secret: str, body: bytes, header: str | None) -> bool:
    return bool(secret and header) and hmac.compare_digest(
        body_signature(secret, body), (header or "").strip()
    )


def unsubscribe_key(settings: Settings) -> bytes:
    """The unsubscribe secret, or one derived from the webhook secret (never the same key)."""
    if settings.email_unsubscribe_secret:
        return settings.email_unsubscribe_secret.encode()
    if settings.email_webhook_secret:
        return hmac.new(
            settings.email_webhook_secret.encode(), b"conveyor-unsubscribe", hashlib.sha256
        ).digest()
    raise SigningNotConfigured(
        "EMAIL_UNSUBSCRIBE_SECRET or EMAIL_WEBHOOK_SECRET must be set to sign unsubscribe links"
    )


def unsubscribe_token(key: bytes, enrollment_id: uuid.UUID) -> str:
    return f"{enrollment_id.hex}.{_mac(key, enrollment_id)}"


def verify_unsubscribe_token(key: bytes, token: str) -> uuid.UUID | None:
    """The enrollment the token was signed for, or None when it is forged or garbled."""
    raw_id, _, mac = token.partition(".")
    try:
        enrollment_id = uuid.UUID(hex=raw_id)
    except ValueError:
        return None
    return enrollment_id if hmac.compare_digest(_mac(key, enrollment_id), mac) else None


def _mac(key: bytes, enrollment_id: uuid.UUID) -> str:
    digest = hmac.new(key, b"unsubscribe:" + enrollment_id.bytes, hashlib.sha256).digest()
    return base64.urlsafe_b64encode(digest).decode().rstrip("=")


def public_base_url(settings: Settings) -> str:
    base = settings.email_public_base_url or f"http://{settings.api_host}:{settings.api_port}"
    return base.rstrip("/")


def unsubscribe_url(settings: Settings, key: bytes, enrollment_id: uuid.UUID) -> str:
    return f"{public_base_url(settings)}/unsubscribe/{unsubscribe_token(key, enrollment_id)}"
