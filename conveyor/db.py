"""Engine and session factory; created by the API lifespan or the worker's main."""

from sqlalchemy.ext.asyncio import (
    AsyncEngine,
    AsyncSession,
    async_sessionmaker,
    create_async_engine,
)

SessionMaker = async_sessionmaker[AsyncSession]


def create_engine(database_url: str, pool_size: int = 10, pre_ping: bool = True) -> AsyncEngine:
    """An engine whose pool, with `pre_ping`, tests each connection as it is checked out.

    The test costs two round trips per checkout (asyncpg pings with a
    transaction). Without it, the first statement on a connection that
    PostgreSQL dropped fails, and SQLAlchemy then discards the whole pool:
    fine where a failure is retried anyway (an activity), not for a request.
    """
    return create_async_engine(database_url, pool_size=pool_size, pool_pre_ping=pre_ping)


def create_session_maker(engine: AsyncEngine) -> SessionMaker:
    return async_sessionmaker(engine, expire_on_commit=False)


def asyncpg_dsn(database_url: str) -> str:
    """The same URL in the form asyncpg.connect() takes (no `+asyncpg` driver suffix)."""
    return database_url.replace("postgresql+asyncpg://", "postgresql://", 1)
