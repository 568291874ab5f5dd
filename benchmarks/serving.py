"""Servers under test: the generated service and the bare apps, per server pair.

Each server and process model pair gets one rendered project. The generated
service runs with `<slug> serve`. The bare apps in benchmarks/apps/ run with
the same server's own command line from that project's virtual environment,
so both sides use the same versions of every package.
"""

from __future__ import annotations

import shutil
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import yaml

from benchmarks.render import copier_copy
from tests.project import (
    REPO_ROOT,
    RenderedProject,
    ServerProcess,
    free_port,
    start_server,
)

APPS = REPO_ROOT / "benchmarks" / "apps"
# Worker processes of the multi-process models.
WORKERS = 2
# Seconds a server may take to return its first 200, because each worker
# imports the application, which is slow on a busy two-core machine.
BOOT_TIMEOUT = 60.0
# Seconds between two attempts to get the first 200 of a booting server.
POLL_INTERVAL = 0.005
# A worker whose CPU time grows by at most this many clock ticks over
# `IDLE_WINDOW` seconds without requests has finished starting.
IDLE_TICKS = 2
IDLE_WINDOW = 0.5
# The row that the database read fetches, created by `SEED_POST`.
POST_PATH = "/posts/1"
HEALTH_PATH = "/health"
SEED_POST = (
    "WITH owner AS ("
    "INSERT INTO users (email, hashed_password) "
    "VALUES ('benchmark@example.com', 'not-a-password-hash') RETURNING id) "
    "INSERT INTO posts (title, body, owner_id) "
    "SELECT 'Benchmark post', 'The row that every database read returns.', id "
    "FROM owner"
)
# The bare apps: one route, and one that reads a post.
BARE = "bare"
BARE_DB = "bare_db"
GENERATED = "generated"


@dataclass(frozen=True)
class Pair:
    """A server and a process model, as the questionnaire names them."""

    server: str
    process_model: str

    @property
    def name(self) -> str:
        """Return the pair as `server/process_model`."""
        return f"{self.server}/{self.process_model}"

    @property
    def workers(self) -> int:
        """Return the number of processes that serve requests."""
        return 1 if self.process_model == "single" else WORKERS


def render_pair(pair: Pair, folder: Path) -> RenderedProject:
    """Render the service that the pair's measurements use, and install it.

    It reads posts from PostgreSQL with the async API and has no auth, so
    `GET /posts/{id}` does the query and nothing else that the bare app lacks.
    """
    answers = {
        "project_name": f"Bench {pair.server} {pair.process_model}",
        "server": pair.server,
        "process_model": pair.process_model,
        "database": "postgresql",
        "db_api": "async",
        "auth": [],
        "docker": False,
        "ci": "none",
    }
    destination = folder / f"bench-{pair.server}-{pair.process_model}"
    copier_copy(REPO_ROOT, destination, answers)
    recorded = yaml.safe_load(
        (destination / ".copier-answers.yml").read_text(encoding="utf-8")
    )
    project = RenderedProject.from_render(destination, recorded)
    project.sync()
    return project


def bare_command(
    pair: Pair, project: RenderedProject, app: str, port: int
) -> list[str]:
    """Return the command line that serves a bare app like the pair's service."""
    bin_dir = project.path / ".venv" / "bin"
    target = f"{app}:app"
    workers = str(pair.workers)
    if pair.process_model == "gunicorn":
        return [
            str(bin_dir / "gunicorn"),
            f"--bind=127.0.0.1:{port}",
            f"--workers={workers}",
            "--worker-class=uvicorn_worker.UvicornWorker",
            target,
        ]
    if pair.server == "uvicorn":
        command = [str(bin_dir / "uvicorn"), target, "--host=127.0.0.1"]
        command += [f"--port={port}", "--no-access-log"]
        return command + ([f"--workers={workers}"] if pair.workers > 1 else [])
    if pair.server == "hypercorn":
        return [
            str(bin_dir / "hypercorn"),
            f"--bind=127.0.0.1:{port}",
            f"--workers={workers}",
            target,
        ]
    # The generated service serves HTTP/1.1 only unless HTTP2 is set.
    return [
        str(bin_dir / "granian"),
        "--interface=asgi",
        "--host=127.0.0.1",
        f"--port={port}",
        f"--workers={workers}",
        "--http=1",
        target,
    ]


@dataclass(frozen=True)
class Contestant:
    """One application served by one pair: the generated service or a bare app."""

    pair: Pair
    project: RenderedProject
    app: str
    database_url: str

    @contextmanager
    def serve(self) -> Iterator[ServerProcess]:
        """Start the application on a free port; kill its process group after.

        Access logs are off on both sides: Uvicorn logs each request by
        default, the other servers do not, and the generated service follows
        `ACCESS_LOG`.
        """
        env = {"DATABASE_URL": self.database_url}
        if self.app == GENERATED:
            env["ACCESS_LOG"] = "false"
            if self.pair.workers > 1:
                env["WEB_CONCURRENCY"] = str(self.pair.workers)
            with self.project.serve(env=env) as server:
                yield server
            return
        port = free_port()
        log_path = self.project.path / f"{self.app}-{port}.log"
        # Started from benchmarks/apps, so that Gunicorn does not load the
        # generated project's gunicorn.conf.py.
        env["PYTHONPATH"] = str(APPS)
        command = bare_command(self.pair, self.project, self.app, port)
        with start_server(command, APPS, port, log_path, env) as server:
            yield server


def wait_for_ok(server: ServerProcess, path: str) -> float:
    """Poll GET `path` until it returns 200, and return the `perf_counter` then.

    Polling is every `POLL_INTERVAL` seconds, finer than the tests' default,
    because the cold start is measured to this resolution.
    """
    server.wait_until_healthy(BOOT_TIMEOUT, path=path, interval=POLL_INTERVAL)
    return time.perf_counter()


def cpu_ticks(pid: int) -> int:
    """Return the user and system CPU time of process `pid`, in clock ticks."""
    stat = Path(f"/proc/{pid}/stat").read_text(encoding="utf-8")
    # Fields after the command name, which may contain spaces: utime and
    # stime are the 14th and 15th fields of the whole line.
    fields = stat[stat.rindex(")") + 2 :].split()
    return int(fields[11]) + int(fields[12])


def wait_for_idle_workers(server: ServerProcess, count: int) -> None:
    """Wait until `count` processes hold the listening socket and sit idle.

    A load must not start while a worker still imports the application,
    because the ready workers would accept every keep-alive connection and
    keep it for the whole measurement, so the late worker would serve nothing.
    """
    deadline = time.perf_counter() + BOOT_TIMEOUT
    while time.perf_counter() < deadline:
        # A single Uvicorn or Hypercorn process listens itself; Granian and
        # every multi-process model listen from child processes.
        workers = server.worker_pids() or {server.process.pid}
        try:
            before = {pid: cpu_ticks(pid) for pid in workers}
            time.sleep(IDLE_WINDOW)
            after = {pid: cpu_ticks(pid) for pid in workers}
        except FileNotFoundError:
            continue  # a process exited between two samples
        idle = all(after[pid] - before[pid] <= IDLE_TICKS for pid in workers)
        if len(workers) >= count and idle:
            return
    raise RuntimeError(
        f"{count} idle worker processes not found within {BOOT_TIMEOUT} s:\n"
        f"{server.log()}"
    )


def cold_start_seconds(contestant: Contestant) -> float:
    """Start the contestant and return the seconds until `/health` returns 200."""
    started = time.perf_counter()
    with contestant.serve() as server:
        return wait_for_ok(server, HEALTH_PATH) - started


def remove_projects(projects: dict[Pair, RenderedProject]) -> None:
    """Delete the rendered projects and their virtual environments."""
    for project in projects.values():
        shutil.rmtree(project.path, ignore_errors=True)
