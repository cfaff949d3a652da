"""`conveyor dev` (`make run`): the whole stack on embedded defaults, in one terminal.

Services given by environment (DATABASE_URL, TEMPORAL_ADDRESS, S3_ENDPOINT_URL)
are used as they are; the others are started with their data under the state
folder, so it survives a restart. Ctrl-C stops every process started here.
"""

import asyncio
import os
import secrets
import signal
import sys
import time
from pathlib import Path

from sqlalchemy import func, select

from conveyor import devstack, migrate
from conveyor.auth import create_token, principal_for_token
from conveyor.db import asyncpg_dsn, create_engine, create_session_maker
from conveyor.models import Session
from conveyor.seed import seed_sessions
from conveyor.settings import Settings

DEV_ORG, DEV_USER = "dev-org", "dev-user"
SAMPLE_SESSIONS = 1000


def _resolve_services(
    settings: Settings, state: Path
) -> tuple[dict[str, str], list[devstack.Service]]:
    env: dict[str, str] = {}
    started: list[devstack.Service] = []
    env["DATABASE_URL"] = settings.database_url or devstack.start_postgres(state / "postgres")
    if settings.s3_endpoint_url:
        env["S3_ENDPOINT_URL"] = settings.s3_endpoint_url
    else:
        seaweed = devstack.start_seaweedfs(
            state / "s3", s3_port=int(os.environ.get("DEV_S3_PORT", 8333))
        )
        started.append(seaweed)
        env["S3_ENDPOINT_URL"] = seaweed.url
    if settings.temporal_address:
        env["TEMPORAL_ADDRESS"] = settings.temporal_address
    else:
        temporal = devstack.start_temporal(
            state / "temporal" / "temporal.db",
            port=int(os.environ.get("DEV_TEMPORAL_PORT", 7233)),
            ui_port=int(os.environ.get("DEV_TEMPORAL_UI_PORT", 8233)),
        )
        started.append(temporal)
        env["TEMPORAL_ADDRESS"] = temporal.url
        env["TEMPORAL_UI"] = temporal.extra["ui"]
    env.update(_email_env(settings, state, started))
    return env, started


def _email_env(settings: Settings, state: Path, started: list[devstack.Service]) -> dict[str, str]:
    """SMTP for the worker (a local sink unless SMTP_HOST is given) and a webhook secret."""
    env: dict[str, str] = {}
    if not settings.smtp_host:
        port = int(os.environ.get("DEV_SMTP_PORT", 1025))
        command = [sys.executable, "-m", "conveyor.email.sink", "--port", str(port)]
        sink = devstack.spawn(
            "smtp-sink", [*command, "--dir", str(state / "outbox")], state / "logs" / "smtp.log"
        )
        started.append(sink)
        devstack.wait_until(lambda: not devstack.port_is_free(port), "the SMTP sink", sink)
        env |= {"SMTP_HOST": "127.0.0.1", "SMTP_PORT": str(port), "SMTP_STARTTLS": "false"}
        env["SMTP_SINK"] = f"127.0.0.1:{port}"
    if not settings.email_webhook_secret:
        secret_file = state / "email-webhook-secret"
        if not secret_file.exists():
            secret_file.write_text(secrets.token_urlsafe(32))
            secret_file.chmod(0o600)
        env["EMAIL_WEBHOOK_SECRET"] = secret_file.read_text().strip()
    return env


async def _dev_token(database_url: str, saved: str | None) -> str:
    """The saved development token if it still works, else a new one (and sample data)."""
    engine = create_engine(database_url, pool_size=1)
    try:
        async with create_session_maker(engine).begin() as session:
            if saved and await principal_for_token(session, saved) is not None:
                return saved
            token = await create_token(session, DEV_ORG, DEV_USER, "make run")
            has_sessions = await session.scalar(
                select(func.count()).select_from(Session).where(Session.org_id == DEV_ORG)
            )
        if not has_sessions:
            await seed_sessions(asyncpg_dsn(database_url), DEV_ORG, SAMPLE_SESSIONS)
    finally:
        await engine.dispose()
    return token


def _load_dev_token(database_url: str, token_file: Path) -> str:
    saved = token_file.read_text().strip() if token_file.exists() else None
    token = asyncio.run(_dev_token(database_url, saved))
    token_file.write_text(token)
    token_file.chmod(0o600)
    return token


def _banner(env: dict[str, str], api_url: str, token: str) -> str:
    ui = env.get("TEMPORAL_UI", "(your Temporal cluster's UI)")
    return f"""
Conveyor is running.
  API          {api_url}   (OpenAPI docs: {api_url}/docs)
  Temporal UI  {ui}
  S3           {env["S3_ENDPOINT_URL"]}
  Database     {env["DATABASE_URL"]}
  SMTP         {env.get("SMTP_SINK", "your relay")}   (`conveyor email outbox`: what it got)
  Token        {token}   (org {DEV_ORG}, user {DEV_USER})

Try an export:
  curl -s -H "Authorization: Bearer {token}" "{api_url}/api/export/async?entity=sessions&format=csv"

Press Ctrl-C to stop everything.
"""


def run_dev_stack(settings: Settings) -> None:
    state = settings.state_dir.resolve()
    state.mkdir(parents=True, exist_ok=True)
    env, services = _resolve_services(settings, state)
    dev_env = state / "dev.env"
    try:
        # Other `conveyor` commands run beside the stack read this (see Settings).
        dev_env.write_text("".join(f"{key}={value}\n" for key, value in env.items()))
        dev_env.chmod(0o600)
        migrate.upgrade(env["DATABASE_URL"])
        token = _load_dev_token(env["DATABASE_URL"], state / "dev-token")
        child_env = {**env, "QUEUE_WORKERS_ENABLED": "false"}
        for name in ("worker", "api"):
            command = [sys.executable, "-m", "conveyor.cli", name]
            services.append(
                devstack.spawn(name, command, state / "logs" / f"{name}.log", child_env)
            )
        api_url = f"http://{settings.api_host}:{settings.api_port}"
        devstack.wait_until(
            lambda: devstack.http_answers(api_url + "/healthz"), "the API", services[-1]
        )
        print(_banner(env, api_url, token), flush=True)
        print(f"Logs: {state / 'logs'}", flush=True)
        _wait_for_signal(services)
    finally:
        dev_env.unlink(missing_ok=True)
        for service in reversed(services):
            service.stop()


def _wait_for_signal(services: list[devstack.Service]) -> None:
    def interrupt(*_: object) -> None:
        raise KeyboardInterrupt

    signal.signal(signal.SIGTERM, interrupt)
    try:
        while all(service.process.poll() is None for service in services):
            time.sleep(0.5)
        dead = next(s for s in services if s.process.poll() is not None)
        print(f"{dead.name} exited; see {dead.log_path}. Stopping.", file=sys.stderr)
    except KeyboardInterrupt:
        print("\nStopping...", flush=True)
