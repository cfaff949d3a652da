"""Bearer tokens bound to an org and a user, stored as SHA-256 digests."""

import hashlib
import secrets
from dataclasses import dataclass

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from conveyor.constants import SYSTEM_ORG
from conveyor.models import ApiToken

TOKEN_PREFIX = "cvy_"


@dataclass(frozen=True)
class Principal:
    """Who is calling: every query the API makes is scoped to `org_id`."""

    org_id: str
    user_id: str


def hash_token(token: str) -> str:
    # Tokens are 256 random bits, so a fast unsalted hash is enough to make a
    # stolen table useless; a slow KDF would only slow every request.
    return hashlib.sha256(token.encode()).hexdigest()


async def create_token(session: AsyncSession, org_id: str, user_id: str, name: str = "") -> str:
    """Stores a new token and returns it in plain text: the only time it is visible."""
    if org_id == SYSTEM_ORG:
        raise ValueError(f"{SYSTEM_ORG!r} is reserved for the jobs the system schedules")
    token = TOKEN_PREFIX + secrets.token_urlsafe(32)
    session.add(ApiToken(org_id=org_id, user_id=user_id, name=name, token_hash=hash_token(token)))
    await session.flush()
    return token


async def principal_for_token(session: AsyncSession, token: str) -> Principal | None:
    row = await session.scalar(
        select(ApiToken).where(
            ApiToken.token_hash == hash_token(token), ApiToken.revoked_at.is_(None)
        )
    )
    return Principal(row.org_id, row.user_id) if row else None
