"""`conveyor`: run the stack, the API or a worker; migrate; create tokens; seed data."""

import argparse
import asyncio
import re
import sys

from conveyor.settings import Settings, get_settings

_SLUG = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.-]{0,63}$")


def _slug(value: str) -> str:
    if not _SLUG.match(value):
        raise argparse.ArgumentTypeError(f"{value!r}: use letters, digits, '_', '.', '-' (1-64)")
    return value


_SERVICES = ("database_url", "temporal_address", "s3_endpoint_url")


def _settings(*required: str) -> Settings:
    settings = get_settings()
    settings.require(*required)
    return settings


def _cmd_dev(_: argparse.Namespace) -> None:
    from conveyor.dev import run_dev_stack

    run_dev_stack(get_settings())


def _cmd_api(args: argparse.Namespace) -> None:
    import uvicorn

    from api.main import create_app
    from conveyor.logs import configure_logging
    from conveyor.memory import return_large_buffers_to_the_os

    settings = _settings(*_SERVICES)
    configure_logging(settings.log_level)
    if settings.queue_workers_enabled:
        return_large_buffers_to_the_os()
    uvicorn.run(
        create_app(settings),
        host=args.host or settings.api_host,
        port=args.port or settings.api_port,
        log_config=None,
    )


def _cmd_worker(args: argparse.Namespace) -> None:
    from conveyor.worker_process import run_worker_process
    from worker.main import parse_queues

    try:
        queues = parse_queues(args.queues)
    except ValueError as err:
        raise SystemExit(f"conveyor worker: {err}") from err
    run_worker_process(_settings(*_SERVICES), queues)


def _cmd_migrate(args: argparse.Namespace) -> None:
    from conveyor import migrate

    url = _settings("database_url").database_url
    if args.action == "status":
        print(migrate.status(url))
    else:
        migrate.upgrade(url)
        print("database is at head")


def _cmd_tokens_create(args: argparse.Namespace) -> None:
    from conveyor.auth import create_token
    from conveyor.db import create_engine, create_session_maker

    async def create() -> str:
        engine = create_engine(_settings("database_url").database_url)
        try:
            async with create_session_maker(engine).begin() as session:
                return await create_token(session, args.org, args.user, args.name)
        finally:
            await engine.dispose()

    print(asyncio.run(create()))


def _cmd_seed_sessions(args: argparse.Namespace) -> None:
    from conveyor.db import asyncpg_dsn
    from conveyor.seed import seed_sessions

    inserted = asyncio.run(
        seed_sessions(asyncpg_dsn(_settings("database_url").database_url), args.org, args.count)
    )
    print(f"inserted {inserted} sessions for org {args.org}")


def _cmd_email_tick(args: argparse.Namespace) -> None:
    from conveyor.email.schedule import trigger_tick
    from conveyor.temporal import connect

    settings = _settings("temporal_address")

    async def tick() -> str:
        return await trigger_tick(await connect(settings), settings)

    print(f"tick started: {asyncio.run(tick())}")


def _cmd_email_outbox(args: argparse.Namespace) -> None:
    from conveyor.email.sink import read_outbox

    folder = get_settings().state_dir / "outbox"
    entries = read_outbox(folder, args.limit)
    if not entries:
        print(f"no messages in {folder}")
    for entry in entries:
        print(f"{entry.date}  {entry.recipient}  {entry.subject!r}  {entry.message_id}")
        print(f"    {entry.path}")


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="conveyor", description=__doc__)
    commands = parser.add_subparsers(dest="command", required=True)
    commands.add_parser("dev", help="start the whole stack on embedded defaults").set_defaults(
        run=_cmd_dev
    )
    api = commands.add_parser("api", help="serve the HTTP API")
    api.add_argument("--host")
    api.add_argument("--port", type=int)
    api.set_defaults(run=_cmd_api)
    worker = commands.add_parser("worker", help="run workers")
    worker.add_argument("--queues", help="comma-separated, e.g. exports,ai (default: all)")
    worker.set_defaults(run=_cmd_worker)
    migrate = commands.add_parser("migrate", help="upgrade the database to head, or show status")
    migrate.add_argument("action", nargs="?", choices=["upgrade", "status"], default="upgrade")
    migrate.set_defaults(run=_cmd_migrate)
    tokens = commands.add_parser("tokens", help="API tokens").add_subparsers(required=True)
    create = tokens.add_parser("create", help="create a bearer token, printed once")
    create.add_argument("--org", required=True, type=_slug)
    create.add_argument("--user", required=True, type=_slug)
    create.add_argument("--name", default="")
    create.set_defaults(run=_cmd_tokens_create)
    seed = commands.add_parser("seed", help="sample data").add_subparsers(required=True)
    sessions = seed.add_parser("sessions", help="insert sample sessions rows")
    sessions.add_argument("--count", type=int, default=1000)
    sessions.add_argument("--org", required=True, type=_slug)
    sessions.set_defaults(run=_cmd_seed_sessions)
    email = commands.add_parser("email", help="email sequences").add_subparsers(required=True)
    email.add_parser("tick", help="send due steps now (triggers the schedule)").set_defaults(
        run=_cmd_email_tick
    )
    outbox = email.add_parser("outbox", help="list what the local SMTP sink received")
    outbox.add_argument("--limit", type=int, default=20)
    outbox.set_defaults(run=_cmd_email_outbox)
    return parser


def main(argv: list[str] | None = None) -> None:
    args = build_parser().parse_args(argv)
    try:
        args.run(args)
    except KeyboardInterrupt:
        sys.exit(130)


if __name__ == "__main__":
    main()
