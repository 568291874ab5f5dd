"""Request ids, JSON logs and Prometheus metrics of booted variants."""

from __future__ import annotations

import json
import time
from pathlib import Path

import httpx
import pytest
from prometheus_client.parser import text_string_to_metric_families

from tests.conftest import Render
from tests.project import CHECKS, RenderedProject, ServerProcess, free_port

# A variant served by Uvicorn worker processes, with tracing.
WORKERS_VARIANT = {
    "server": "uvicorn",
    "process_model": "workers",
    "opentelemetry": True,
}
# Maximum requests sent while waiting for both workers to serve one.
MAX_REQUESTS = 400
# Requests sent after both workers have served one, so both counts grow further.
EXTRA_REQUESTS = 20
# Seconds for every worker process to import the application, generous because
# a loaded machine can take several seconds per process.
WORKERS_BOOT_TIMEOUT = 60.0


@pytest.fixture(scope="module")
def workers_project(render: Render) -> RenderedProject:
    """Return a variant served by Uvicorn worker processes, with tracing."""
    return render(**WORKERS_VARIANT)


def log_records(server: ServerProcess) -> list[dict[str, object]]:
    """Return the JSON log lines the server has written, parsed."""
    records = []
    for line in server.log().splitlines():
        if line.startswith("{"):
            records.append(json.loads(line))
    return records


def access_records(server: ServerProcess, request_line: str) -> list[dict[str, object]]:
    """Return the access log records whose message contains `request_line`."""
    return [
        record
        for record in log_records(server)
        if record.get("name") == "uvicorn.access"
        and request_line in str(record.get("message"))
    ]


def wait_for_workers(server: ServerProcess, count: int, timeout: float) -> None:
    """Wait until `count` processes have logged that their application started."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        started = {
            record["process"]
            for record in log_records(server)
            if record.get("message") == "Application startup complete."
        }
        if len(started) >= count:
            return
        time.sleep(0.2)
    raise AssertionError(
        f"{count} workers did not start within {timeout} s:\n{server.log()}"
    )


def request_count(server: ServerProcess, route: str) -> float:
    """Scrape `/metrics` and return the 200 responses counted for `GET route`."""
    response = httpx.get(f"{server.base_url}/metrics", timeout=5.0)
    assert response.status_code == 200, response.text
    total = 0.0
    for family in text_string_to_metric_families(response.text):
        for sample in family.samples:
            if sample.name == "http_requests_total" and sample.labels == {
                "method": "GET",
                "route": route,
                "status": "200",
            }:
                total += sample.value
    return total


@pytest.mark.parametrize("check", CHECKS)
def test_workers_variant_passes(workers_project: RenderedProject, check: str) -> None:
    workers_project.check(check)


def database_with_tables(project: RenderedProject, folder: Path) -> dict[str, str]:
    """Create a SQLite database with the project's tables, for `/ready` to pass."""
    env = {"DATABASE_URL": f"sqlite:///{(folder / 'service.db').as_posix()}"}
    upgrade = project.tool(project.slug, "db", "upgrade", env=env)
    assert upgrade.returncode == 0, upgrade.describe()
    return env


def test_json_log_lines_carry_request_id(
    default_project: RenderedProject, tmp_path: Path
) -> None:
    env = {"LOG_FORMAT": "json", "METRICS_ENABLED": "true"}
    env.update(database_with_tables(default_project, tmp_path))
    with default_project.serve(env=env) as server:
        server.wait_until_healthy()
        response = httpx.get(
            f"{server.base_url}/ready",
            headers={"X-Request-ID": "booted-request-7"},
            timeout=5.0,
        )
        assert response.status_code == 200, response.text
        assert response.headers["X-Request-ID"] == "booted-request-7", response.headers
        ready_count = request_count(server, "/ready")
        assert server.stop() == 0, server.log()

    assert ready_count == 1, server.log()
    records = access_records(server, "GET /ready")
    assert len(records) == 1, server.log()
    assert records[0]["request_id"] == "booted-request-7", records
    startup = [r for r in log_records(server) if "startup complete" in str(r)]
    assert startup, server.log()
    assert startup[0]["request_id"] == "-", startup


def test_metrics_add_up_across_workers(
    workers_project: RenderedProject, tmp_path: Path
) -> None:
    env = {
        "WEB_CONCURRENCY": "2",
        "METRICS_ENABLED": "true",
        "LOG_FORMAT": "json",
        # `serve` creates its metrics folder under TMPDIR.
        "TMPDIR": str(tmp_path),
    }
    env.update(database_with_tables(workers_project, tmp_path))
    with workers_project.serve(env=env) as server:
        wait_for_workers(server, 2, WORKERS_BOOT_TIMEOUT)
        metrics_dirs = list(tmp_path.glob(f"{workers_project.slug}-metrics-*"))
        assert len(metrics_dirs) == 1, list(tmp_path.iterdir())

        # Each request opens a new connection, so either worker may accept it.
        sent = 0
        pids: set[object] = set()
        while len(pids) < 2 and sent < MAX_REQUESTS:
            response = httpx.get(f"{server.base_url}/ready", timeout=5.0)
            assert response.status_code == 200, response.text
            sent += 1
            if sent % 10 == 0:
                pids = {r["process"] for r in access_records(server, "GET /ready")}
        for _ in range(EXTRA_REQUESTS):
            response = httpx.get(f"{server.base_url}/ready", timeout=5.0)
            assert response.status_code == 200, response.text
            sent += 1
        counted = request_count(server, "/ready")
        assert server.stop() == 0, server.log()

    served_by = {r["process"] for r in access_records(server, "GET /ready")}
    assert len(served_by) == 2, f"{sent} requests served by {served_by}"
    assert counted == sent, server.log()
    assert not metrics_dirs[0].exists(), "serve left its metrics folder behind"


def test_wildcard_cors_with_credentials_stops_serve(
    default_project: RenderedProject,
) -> None:
    env = {"CORS_ORIGINS": "*", "CORS_ALLOW_CREDENTIALS": "true"}
    result = default_project.tool(
        default_project.slug, "serve", "--port", str(free_port()), env=env
    )
    assert result.returncode == 2, result.describe()
    assert "CORS_ALLOW_CREDENTIALS" in result.output, result.describe()
