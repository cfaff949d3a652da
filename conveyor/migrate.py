"""Alembic, driven from Python: `conveyor migrate`, `conveyor dev` and the tests."""

import io
from contextlib import redirect_stdout
from pathlib import Path

from alembic import command
from alembic.config import Config

ALEMBIC_INI = Path(__file__).resolve().parent.parent / "alembic.ini"


def _config(database_url: str) -> Config:
    config = Config(str(ALEMBIC_INI))
    config.set_main_option("sqlalchemy.url", database_url.replace("%", "%%"))
    return config


def upgrade(database_url: str) -> None:
    """Upgrades to head. Blocking (Alembic runs its own event loop): call it off-loop."""
    command.upgrade(_config(database_url), "head")


def status(database_url: str) -> str:
    """`current: <rev>` and `head: <rev>`, one per line."""
    config = _config(database_url)
    out = io.StringIO()
    with redirect_stdout(out):
        config.stdout = out
        command.current(config)
        current = out.getvalue().strip() or "none (empty database)"
        out.truncate(0)
        out.seek(0)
        command.heads(config)
    return f"current: {current}\nhead:    {out.getvalue().strip()}"
