"""What arrives from outside without a bearer token: provider events and unsubscribe clicks.

`POST /api/email/events` is authenticated by an HMAC-SHA256 of the raw body
(`X-Conveyor-Signature: sha256=<hex>`, key `EMAIL_WEBHOOK_SECRET`).
`/unsubscribe/{token}` is authenticated by the token itself, an HMAC of the
enrollment id: GET shows a confirmation page (so link scanners unsubscribe
no one) and POST unsubscribes, which is what mail clients' one-click
unsubscribe sends (RFC 8058, `List-Unsubscribe=One-Click`).
"""

import html
import uuid
from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse

from api.deps import SessionDep, SettingsDep
from conveyor.email import service, signing
from conveyor.email.requests import EmailEventIn
from conveyor.errors import ConveyorError, NotFound, Unavailable
from conveyor.settings import Settings

router = APIRouter(tags=["email events"])


class BadSignature(ConveyorError):
    status_code = 401
    code = "bad_signature"


@router.post("/api/email/events")
async def receive_event(
    request: Request, session: SessionDep, settings: SettingsDep
) -> dict[str, Any]:
    """A reply, bounce, complaint or unsubscribe; stops what it concerns.

    Answers 200 with `matched: false` for a message Conveyor does not know,
    so providers do not retry it forever.
    """
    if not settings.email_webhook_secret:
        raise Unavailable("EMAIL_WEBHOOK_SECRET is not set: email events are not accepted")
    body = await request.body()
    header = request.headers.get(signing.SIGNATURE_HEADER)
    if not signing.body_signature_valid(settings.email_webhook_secret, body, header):
        raise BadSignature(f"missing or invalid {signing.SIGNATURE_HEADER} header")
    event = EmailEventIn.model_validate_json(body)  # a ValidationError is a 400
    return await service.apply_event(session, event)


@router.get("/unsubscribe/{token}", response_class=HTMLResponse, include_in_schema=False)
async def unsubscribe_page(token: str, session: SessionDep, settings: SettingsDep) -> HTMLResponse:
    enrollment_id = _verified(settings, token)
    if await service.unsubscribe_target(session, enrollment_id) is None:
        raise NotFound("this unsubscribe link is not valid")
    action = html.escape(f"/unsubscribe/{token}")
    return HTMLResponse(
        _page(
            "Unsubscribe",
            f'<form method="post" action="{action}">'
            '<input type="hidden" name="List-Unsubscribe" value="One-Click">'
            "<p>Stop receiving these emails?</p>"
            '<button type="submit">Unsubscribe</button></form>',
        )
    )


@router.post("/unsubscribe/{token}", response_class=HTMLResponse, include_in_schema=False)
async def unsubscribe(token: str, session: SessionDep, settings: SettingsDep) -> HTMLResponse:
    enrollment = await service.unsubscribe(session, _verified(settings, token))
    if enrollment is None:
        raise NotFound("this unsubscribe link is not valid")
    return HTMLResponse(
        _page(
            "Unsubscribed",
            f"<p>{html.escape(enrollment.email)} will not receive these emails again.</p>",
        )
    )


def _verified(settings: Settings, token: str) -> uuid.UUID:
    try:
        key = signing.unsubscribe_key(settings)
    except signing.SigningNotConfigured as err:
        raise Unavailable(str(err)) from None
    enrollment_id = signing.verify_unsubscribe_token(key, token)
    if enrollment_id is None:
        raise NotFound("this unsubscribe link is not valid")
    return enrollment_id


def _page(title: str, content: str) -> str:
    return (
        f"<!doctype html><html><head><meta charset=utf-8><title>{title}</title></head>"
        f"<body><h1>{title}</h1>{content}</body></html>"
    )
