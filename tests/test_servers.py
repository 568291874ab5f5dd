"""Booting every valid server and process-model pair over real HTTP.

Each pair is booted three times: with the default proxy trust and SIGTERM, with
an untrusted proxy address and SIGINT, and with an unreachable database.
"""

from __future__ import annotations

import signal
import threading
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import httpx
import pytest

from tests.conftest import Render
from tests.project import RenderedProject, ServerProcess
from tests.variants import variant_param

PAIRS = [
    ("uvicorn", "single"),
    ("uvicorn", "workers"),
    ("uvicorn", "gunicorn"),
    ("hypercorn", "single"),
    ("hypercorn", "workers"),
    ("granian", "single"),
    ("granian", "workers"),
]

# The generated service has no route that keeps a request open or reports
# which process served it, and the product gets no test-only code paths. So
# each test render gets one more router, added the way a user adds one: a
# module under api/ that main.py includes. The renders use their own project
# name, so no other test sees the extra routes.
TEST_ROUTES = '''"""Routes added by the template's server tests."""

from __future__ import annotations

import asyncio
import logging
import os
import time

from fastapi import APIRouter

logger = logging.getLogger(__name__)
router = APIRouter(prefix="/server-test")


@router.get("/pid")
async def pid(hold: float = 0.0) -> dict[str, int]:
    """Return the PID after blocking the event loop for `hold` seconds."""
    # A blocked loop accepts no connections, which pushes concurrent
    # requests onto the other workers.
    time.sleep(hold)
    return {"pid": os.getpid()}


@router.get("/slow")
async def slow(seconds: float) -> dict[str, int]:
    """Return the PID after `seconds`, logging when the request starts."""
    logger.warning("Slow request started in process %d.", os.getpid())
    await asyncio.sleep(seconds)
    return {"pid": os.getpid()}
'''
SLOW_STARTED = "Slow request started in process"
SLOW_SECONDS = 2.0
# Seconds to wait for /health: worker processes each import the application,
# which is slow on a busy two-core machine.
BOOT_TIMEOUT = 60.0
# Startup must fail within this many seconds, interpreter start included.
FAILURE_EXIT_TIMEOUT = 30.0


# The answers of each pair's render. Each pair is an xdist group of its own,
# so both workers boot pairs.
PAIR_VARIANTS = [
    variant_param(
        {
            "server": server,
            "process_model": process_model,
            "database": "sqlite",
            "project_name": "Server Check",
        },
        f"{server}-{process_model}",
    )
    for server, process_model in PAIRS
]


@pytest.fixture(scope="module", params=PAIR_VARIANTS)
def project(request: pytest.FixtureRequest, render: Render) -> RenderedProject:
    """Render one pair with the test routes and build its environment."""
    rendered = render(**request.param)
    package = rendered.path / "src" / str(rendered.answers["package_name"])
    routes = package / "api" / "server_test.py"
    if not routes.exists():
        routes.write_text(TEST_ROUTES, encoding="utf-8")
        with (package / "main.py").open("a", encoding="utf-8") as main:
            main.write(
                f"\nfrom {package.name}.api import server_test  # noqa: E402\n\n"
                "app.include_router(server_test.router)\n"
            )
    rendered.sync()
    return rendered


def is_multiprocess(project: RenderedProject) -> bool:
    return project.answers["process_model"] != "single"


def request_in_background(url: str) -> Callable[[], httpx.Response]:
    """Send GET `url` from a thread; the returned function waits for the response."""
    results: list[httpx.Response | BaseException] = []

    def send() -> None:
        try:
            results.append(httpx.get(url, timeout=60.0))
        except BaseException as error:  # handed to the test thread below
            results.append(error)

    thread = threading.Thread(target=send, daemon=True)
    thread.start()

    def result() -> httpx.Response:
        thread.join(timeout=60.0)
        assert results, f"GET {url} got no answer within 60 s"
        outcome = results[0]
        if isinstance(outcome, BaseException):
            raise AssertionError(f"GET {url} failed: {outcome!r}") from outcome
        return outcome

    return result


def wait_for_workers(server: ServerProcess, count: int) -> set[int]:
    """Return the worker PIDs once `count` workers hold the listening socket."""
    deadline = time.monotonic() + BOOT_TIMEOUT
    workers = server.worker_pids()
    while len(workers) < count and time.monotonic() < deadline:
        time.sleep(0.1)
        workers = server.worker_pids()
    return workers


def serving_pids(server: ServerProcess, expected: set[int]) -> set[int]:
    """Send concurrent requests until every PID in `expected` has responded.

    Workers that are still starting respond to nothing, so this keeps sending
    until `BOOT_TIMEOUT`.
    """
    answered: set[int] = set()
    url = f"{server.base_url}/server-test/pid?hold=0.2"
    deadline = time.monotonic() + BOOT_TIMEOUT
    with ThreadPoolExecutor(max_workers=8) as pool:
        while not expected <= answered and time.monotonic() < deadline:
            responses = list(pool.map(lambda _: httpx.get(url, timeout=30.0), range(8)))
            for response in responses:
                assert response.status_code == 200, response.text
                answered.add(response.json()["pid"])
    return answered


def assert_redirect_scheme(server: ServerProcess, scheme: str) -> None:
    """Check that `/health/` redirects to `/health` under `scheme`."""
    response = httpx.get(
        f"{server.base_url}/health/", headers={"X-Forwarded-Proto": "https"}
    )
    assert response.status_code == 307, response.text
    location = response.headers["location"]
    assert location == f"{scheme}://127.0.0.1:{server.port}/health", location


def assert_slow_request_survives(server: ServerProcess, sig: signal.Signals) -> None:
    """Start a slow request, send `sig`, and check both finish cleanly."""
    result = request_in_background(
        f"{server.base_url}/server-test/slow?seconds={SLOW_SECONDS}"
    )
    server.wait_for_log(SLOW_STARTED)

    exit_code = server.stop(sig)

    response = result()
    assert response.status_code == 200, f"{response.text}\n{server.log()}"
    assert exit_code == 0, server.log()


def test_serve_trusts_local_proxy_and_stops_on_sigterm(
    project: RenderedProject,
) -> None:
    env = {"WEB_CONCURRENCY": "2"} if is_multiprocess(project) else {}
    with project.serve(env=env) as server:
        health = server.wait_until_healthy(BOOT_TIMEOUT)
        assert health.json() == {"status": "ok"}, health.text

        # Processes: a worker count that follows WEB_CONCURRENCY, each serving.
        workers = wait_for_workers(server, 2 if is_multiprocess(project) else 0)
        if is_multiprocess(project):
            assert len(workers) == 2, f"workers {workers}\n{server.log()}"
        else:
            # Granian serves from one child process, the others from their own.
            assert len(workers) <= 1, f"workers {workers}\n{server.log()}"
            workers = workers or {server.process.pid}
        answered = serving_pids(server, workers)
        assert answered == workers, f"answered {answered}, workers {workers}"

        # Proxy headers from 127.0.0.1, trusted by default, set the scheme.
        assert_redirect_scheme(server, "https")

        # Graceful stop: the request in flight finishes before the exit.
        assert_slow_request_survives(server, signal.SIGTERM)


def test_serve_ignores_untrusted_proxy_and_stops_on_sigint(
    project: RenderedProject,
) -> None:
    # 192.0.2.1 is a documentation address: only a trust setting, never a peer.
    env = {"FORWARDED_ALLOW_IPS": "192.0.2.1"}
    if is_multiprocess(project):
        env["WEB_CONCURRENCY"] = "3"
    with project.serve(env=env) as server:
        server.wait_until_healthy(BOOT_TIMEOUT)

        if is_multiprocess(project):
            workers = wait_for_workers(server, 3)
            assert len(workers) == 3, f"workers {workers}\n{server.log()}"

        assert_redirect_scheme(server, "http")

        assert_slow_request_survives(server, signal.SIGINT)


def test_serve_exits_when_database_unreachable(
    project: RenderedProject, tmp_path: Path
) -> None:
    missing = tmp_path / "missing-folder" / "service.db"
    workers = 2 if is_multiprocess(project) else 1
    env = {
        "DATABASE_URL": f"sqlite:///{missing.as_posix()}",
        "WEB_CONCURRENCY": str(workers),
    }
    with project.serve(env=env) as server:
        exit_code = server.wait_for_exit(FAILURE_EXIT_TIMEOUT)
        log = server.log()

    assert exit_code != 0, log
    # Each worker logs the cause once and none is started again.
    causes = log.count("unable to open database file")
    assert 1 <= causes <= workers, f"cause logged {causes} times:\n{log}"
