"""Load, a database outage and SIGTERM under load, for every server and process model.

Each pair is booted once, and one test runs its checks on it in order: a clean
load, a database outage under load (PostgreSQL only), and SIGTERM under load,
which stops the server. The load comes from `tests/load.py` in a process of its own
and covers `GET /health`, `POST /posts` and `GET /posts/{id}`. Every request's
outcome is kept, and the figures are printed at the end of the run.
"""

from __future__ import annotations

import json
import re
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import urlsplit

import httpx
import pytest

from tests.conftest import Render
from tests.load import Outcome
from tests.project import RenderedProject, ServerProcess
from tests.report import record
from tests.test_servers import BOOT_TIMEOUT, serving_pids, wait_for_workers

# server, process model, database, db_api, migrations: every server and
# process model on PostgreSQL, with both database APIs and both ways to create
# the schema among them, and SQLite with one and with several processes.
# Variants without a database serve only /health, which every pair loads.
PAIRS = [
    ("uvicorn", "single", "postgresql", "async", True),
    ("uvicorn", "workers", "postgresql", "sync", False),
    ("uvicorn", "gunicorn", "postgresql", "async", False),
    ("hypercorn", "single", "postgresql", "sync", True),
    ("hypercorn", "workers", "postgresql", "async", True),
    ("granian", "single", "postgresql", "sync", False),
    ("granian", "workers", "postgresql", "async", False),
    ("uvicorn", "workers", "sqlite", "async", True),
    ("granian", "single", "sqlite", "sync", False),
]
# One test per pair runs its checks in order on one booted server.
PAIR_IDS = ["-".join(pair[:3]) for pair in PAIRS]

# Worker processes of the multi-process models. Each keeps at most
# POOL_SIZE connections, so the PostgreSQL pairs stay far below PostgreSQL's
# default max_connections of 100 while other tests use the same server.
WORKERS = 2
POOL_SIZE = 4
CONNECTIONS = 50
# Seconds of load after every connection has had a response.
LOAD_SECONDS = 5.0
AFTER_RECOVERY_SECONDS = 1.0
# Seconds of load before a fault: right after every connection's first
# response, the load process is still sending the next requests.
LEAD_SECONDS = 1.0
# Upper bound on a load's run time, in case a test never stops it.
LOAD_MAX_SECONDS = 60.0
LOAD_EXIT_TIMEOUT = 60.0
# Seconds for /ready to report the outage, and to recover once the database
# accepts connections again.
OUTAGE_DETECT_TIMEOUT = 10.0
RECOVERY_TIMEOUT = 10.0
POLL_INTERVAL = 0.05
# Log lines that report a problem in the text log format, whose lines carry
# the level name after the timestamp.
PROBLEM_LINE = re.compile(r"^.* (WARNING|ERROR|CRITICAL) .*$|^Traceback", re.MULTILINE)
ERROR_LINE = re.compile(r"^.* (ERROR|CRITICAL) .*$|^Traceback", re.MULTILINE)

# The service has no route that reports which process served a request, and the
# product gets no test-only code paths, so each render gets one more router,
# added the way a user adds one. The route is the one that
# `tests.test_servers.serving_pids` calls, plus a database round trip, so a
# worker answers only when its connection pool works.
TEST_ROUTES = '''"""Routes added by the template's fault tests."""

from __future__ import annotations

import os
import time

from fastapi import APIRouter
from sqlalchemy import text

from {package}.deps import SessionDep

router = APIRouter(prefix="/server-test")


@router.get("/pid")
async def pid(session: SessionDep, hold: float = 0.0) -> dict[str, int]:
    """Return the PID after `SELECT 1` and blocking the event loop `hold` s."""
    {await_}session.execute(text("SELECT 1"))
    # A blocked loop accepts no connections, which pushes concurrent
    # requests onto the other workers.
    time.sleep(hold)
    return {{"pid": os.getpid()}}
'''
LOAD_SCRIPT = Path(__file__).with_name("load.py")


@dataclass
class Booted:
    """A served pair with its database and the credentials for the load."""

    name: str
    project: RenderedProject
    server: ServerProcess
    database: str
    # The PostgreSQL server's URL, or None on SQLite.
    server_url: str | None
    database_url: str
    headers: dict[str, str]
    workers: set[int]
    temporary: Path


def add_test_routes(project: RenderedProject) -> None:
    """Add the `/server-test/pid` router to the rendered project, once."""
    package = project.path / "src" / str(project.answers["package_name"])
    routes = package / "api" / "server_test.py"
    if routes.exists():
        return
    is_async = project.answers["db_api"] == "async"
    routes.write_text(
        TEST_ROUTES.format(package=package.name, await_="await " if is_async else ""),
        encoding="utf-8",
    )
    with (package / "main.py").open("a", encoding="utf-8") as main:
        main.write(
            f"\nfrom {package.name}.api import server_test  # noqa: E402\n\n"
            "app.include_router(server_test.router)\n"
        )


def sign_in(base_url: str) -> dict[str, str]:
    """Register a user through the API and return its bearer token header."""
    credentials = {"username": "load@example.com", "password": "long enough"}
    with httpx.Client(base_url=base_url, timeout=30.0, trust_env=False) as client:
        user = client.post(
            "/users", json={"email": credentials["username"], "password": "long enough"}
        )
        assert user.status_code == 201, user.text
        login = client.post("/auth/token", data=credentials)
        assert login.status_code == 200, login.text
    return {"Authorization": f"Bearer {login.json()['access_token']}"}


@contextmanager
def booted_pair(
    pair: tuple[str, str, str, str, bool],
    render: Render,
    postgres_server_url: str,
    temporary: Path,
) -> Iterator[Booted]:
    """Serve one pair on a fresh database with its schema.

    Metrics are on, so the multi-process models keep a metrics folder in the
    pair's own TMPDIR, which must be gone once the server has stopped.
    """
    server_name, process_model, database, db_api, migrations = pair
    project = render(
        server=server_name,
        process_model=process_model,
        database=database,
        db_api=db_api,
        migrations=migrations,
        project_name="Fault Check",
    )
    add_test_routes(project)
    with ExitStack() as stack:
        if database == "postgresql":
            server_url: str | None = postgres_server_url
            database_url = stack.enter_context(
                project.postgres_database(postgres_server_url)
            )
        else:
            server_url = None
            database_url = f"sqlite:///{temporary / 'fault-check.db'}"
        yield stack.enter_context(
            serve_pair(project, database, server_url, database_url, temporary)
        )


@contextmanager
def serve_pair(
    project: RenderedProject,
    database: str,
    server_url: str | None,
    database_url: str,
    temporary: Path,
) -> Iterator[Booted]:
    """Create the schema in `database_url`, then serve the project on it."""
    process_model = project.answers["process_model"]
    multiprocess = process_model != "single"
    env = {
        "DATABASE_URL": database_url,
        "DATABASE_POOL_SIZE": str(POOL_SIZE),
        "DATABASE_MAX_OVERFLOW": "0",
        "REGISTRATION_OPEN": "true",
        "ACCESS_LOG": "false",
        "LOG_FORMAT": "text",
        "WEB_CONCURRENCY": str(WORKERS if multiprocess else 1),
        "METRICS_ENABLED": "true",
        "TMPDIR": str(temporary),
    }
    migrations = project.answers["migrations"]
    schema = project.tool(
        project.slug, "db", "upgrade" if migrations else "create", env=env
    )
    assert schema.returncode == 0, schema.describe()
    with project.serve(env=env) as server:
        server.wait_until_healthy(BOOT_TIMEOUT)
        workers = wait_for_workers(server, WORKERS if multiprocess else 0)
        # Granian serves from one child process, the others from their own.
        workers = workers or {server.process.pid}
        yield Booted(
            name=f"{project.answers['server']}-{process_model}-{database}",
            project=project,
            server=server,
            database=database,
            server_url=server_url,
            database_url=database_url,
            headers=sign_in(server.base_url),
            workers=workers,
            temporary=temporary,
        )


@dataclass
class Load:
    """A running `tests/load.py` process."""

    process: subprocess.Popen[str]

    def wait_until_ready(self) -> None:
        """Wait until every connection of the load has had a response."""
        assert self.process.stderr is not None
        line = self.process.stderr.readline()
        rest = "" if line == "ready\n" else self.process.stderr.read()
        assert line == "ready\n", f"load did not start: {line}{rest}"

    def finish(self) -> list[Outcome]:
        """Stop the load and return the outcome of every request."""
        # Empty input closes stdin, and the load stops at its end of file.
        stdout, stderr = self.process.communicate("", timeout=LOAD_EXIT_TIMEOUT)
        assert self.process.returncode == 0, (
            f"load exited with {self.process.returncode}:\n{stderr}"
        )
        return [Outcome(**item) for item in json.loads(stdout)]


@contextmanager
def running_load(booted: Booted) -> Iterator[Load]:
    """Run `tests/load.py` against the booted server until `Load.finish`.

    The load process is killed by its PID if the test fails before then.
    """
    config = {
        "base_url": booted.server.base_url,
        "connections": CONNECTIONS,
        "max_seconds": LOAD_MAX_SECONDS,
        "headers": booted.headers,
    }
    with subprocess.Popen(
        [sys.executable, str(LOAD_SCRIPT), json.dumps(config)],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    ) as process:
        try:
            yield Load(process)
        finally:
            if process.poll() is None:
                process.kill()


def describe(outcomes: list[Outcome], limit: int = 5) -> str:
    """Summarize the first `limit` outcomes for an assertion message."""
    return "\n".join(
        f"{o.method} {o.path}: status {o.status}, error {o.error}, body {o.body}"
        for o in outcomes[:limit]
    )


def poll_ready(server: ServerProcess, status: int, timeout: float) -> httpx.Response:
    """Poll `GET /ready` until it returns `status`, or fail after `timeout`."""
    deadline = time.monotonic() + timeout
    last = "no response"
    while time.monotonic() < deadline:
        try:
            response = httpx.get(f"{server.base_url}/ready", timeout=5.0)
        except httpx.TransportError as error:
            last = repr(error)
        else:
            if response.status_code == status:
                return response
            last = f"{response.status_code} {response.text}"
        time.sleep(POLL_INTERVAL)
    raise AssertionError(
        f"/ready did not answer {status} within {timeout} s (last: {last}):\n"
        f"{server.log()[-5000:]}"
    )


def count_by_path(outcomes: list[Outcome]) -> dict[str, int]:
    """Count the requests per kind: health, write and read."""
    counts = {"health": 0, "write": 0, "read": 0}
    for outcome in outcomes:
        if outcome.path == "/health":
            counts["health"] += 1
        elif outcome.method == "POST":
            counts["write"] += 1
        else:
            counts["read"] += 1
    return counts


@pytest.mark.parametrize("pair", PAIRS, ids=PAIR_IDS)
def test_pair_survives_load_outage_and_sigterm(
    pair: tuple[str, str, str, str, bool],
    render: Render,
    postgres_server_url: str,
    tmp_path: Path,
) -> None:
    with booted_pair(pair, render, postgres_server_url, tmp_path) as booted:
        check_load(booted)
        # Only a database server drops connections; SQLite is a local file.
        if booted.server_url is not None:
            check_database_outage(booted, booted.server_url)
        check_sigterm_under_load(booted)


def check_load(booted: Booted) -> None:
    """Send a clean load: every request gets a 2xx, and nothing is logged above INFO."""
    log_start = len(booted.server.log())

    with running_load(booted) as load:
        load.wait_until_ready()
        time.sleep(LOAD_SECONDS)
        outcomes = load.finish()

    failed = [o for o in outcomes if o.status not in (200, 201)]
    counts = count_by_path(outcomes)
    log = booted.server.log()[log_start:]
    record(
        f"load {booted.name}",
        requests=len(outcomes),
        per_second=round(len(outcomes) / LOAD_SECONDS),
        **counts,
        failed=len(failed),
        log_problems=len(PROBLEM_LINE.findall(log)),
    )
    for kind, count in counts.items():
        assert count > 0, f"no {kind} request was sent: {counts}"
    assert not failed, f"{len(failed)} of {len(outcomes)} failed:\n{describe(failed)}"
    assert not PROBLEM_LINE.search(log), log


def check_database_outage(booted: Booted, server_url: str) -> None:
    """Drop the database under load: 503s, recovery, no write lost."""
    # The outage: the database refuses new connections and every connection
    # the service has open is terminated, from a separate connection on the
    # server's maintenance database. It lasts until /ready reports it.
    database = urlsplit(booted.database_url).path.lstrip("/")
    close = (
        f'ALTER DATABASE "{database}" ALLOW_CONNECTIONS false; '
        "SELECT count(pg_terminate_backend(pid)) FROM pg_stat_activity "
        f"WHERE datname = '{database}' AND pid <> pg_backend_pid()"
    )
    reopen = f'ALTER DATABASE "{database}" ALLOW_CONNECTIONS true'
    server = booted.server
    log_start = len(server.log())
    with running_load(booted) as load:
        load.wait_until_ready()
        time.sleep(LEAD_SECONDS)
        outage_start = time.monotonic()
        try:
            rows = booted.project.postgres_query(server_url, close)
            terminated = int(str(rows[0][0]))
            unavailable = poll_ready(server, 503, OUTAGE_DETECT_TIMEOUT)
            detected = time.monotonic() - outage_start
        finally:
            booted.project.postgres_query(server_url, reopen)
        reopened = time.monotonic()
        poll_ready(server, 200, RECOVERY_TIMEOUT)
        recovery = time.monotonic() - reopened
        # Load that goes on after the recovery, so writes must succeed again.
        time.sleep(AFTER_RECOVERY_SECONDS)
        outcomes = load.finish()

    answered = serving_pids(server, booted.workers)
    created = {o.post_id for o in outcomes if o.post_id is not None}
    stored = booted.project.postgres_query(booted.database_url, "SELECT id FROM posts")
    lost = created - {row[0] for row in stored}
    failed = [o for o in outcomes if o.status not in (200, 201, 503)]
    rejected = [o for o in outcomes if o.status == 503]
    writes_after = [o for o in outcomes if o.status == 201 and o.started > reopened]
    log = server.log()[log_start:]
    record(
        f"outage {booted.name}",
        requests=len(outcomes),
        backends_terminated=terminated,
        ready_503_after_s=round(detected, 2),
        recovery_s=round(recovery, 2),
        answered_503=len(rejected),
        failed=len(failed),
        writes_201=len(created),
        writes_lost=len(lost),
    )
    assert terminated >= 1, "no backend of the service was terminated"
    assert unavailable.json() == {"status": "unavailable"}, unavailable.text
    assert not failed, f"{len(failed)} of {len(outcomes)} failed:\n{describe(failed)}"
    for outcome in rejected:
        body = json.loads(outcome.body or "null")
        assert body["detail"] == "Database unavailable", outcome.body
    assert not lost, f"posts answered with 201 but missing: {sorted(lost)}"
    assert writes_after, f"no write succeeded after the database came back:\n{log}"
    assert answered == booted.workers, f"answered {answered}, {booted.workers}"
    assert not ERROR_LINE.search(log), log


def check_sigterm_under_load(booted: Booted) -> None:
    """Send SIGTERM under load: every accepted request completes, exit 0."""
    # A request counts as accepted by the server when its response arrived,
    # or when the client had written the whole request to the socket before
    # SIGTERM was sent. Requests written after SIGTERM may be refused; every
    # accepted one must end with a complete 2xx response, none reset.
    server = booted.server
    log_start = len(server.log())
    with running_load(booted) as load:
        load.wait_until_ready()
        time.sleep(LEAD_SECONDS)
        signalled = time.monotonic()
        exit_code = server.stop()
        stop_seconds = time.monotonic() - signalled
        outcomes = load.finish()

    accepted = [
        o
        for o in outcomes
        if o.status is not None or (o.sent is not None and o.sent < signalled)
    ]
    in_flight = [o for o in accepted if o.sent and o.sent < signalled < o.ended]
    failed = [o for o in accepted if o.status is None or not 200 <= o.status < 300]
    log = server.log()[log_start:]
    record(
        f"restart {booted.name}",
        requests=len(outcomes),
        accepted=len(accepted),
        in_flight_at_sigterm=len(in_flight),
        not_accepted=len(outcomes) - len(accepted),
        failed=len(failed),
        stop_s=round(stop_seconds, 2),
        exit_code=exit_code,
    )
    assert in_flight, "no request was in flight at SIGTERM; the check proves nothing"
    assert not failed, f"{len(failed)} of {len(accepted)} failed:\n{describe(failed)}"
    assert exit_code == 0, log
    assert not ERROR_LINE.search(log), log
    left_behind = list(booted.temporary.glob(f"{booted.project.slug}-metrics-*"))
    assert not left_behind, f"metrics folders left behind: {left_behind}"
