"""Helpers that render variants and run, check and serve the rendered projects."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path

import httpx
import yaml

REPO_ROOT = Path(__file__).resolve().parent.parent
COPIER_YML = REPO_ROOT / "copier.yml"

# Time limits of the steps a rendered project goes through, in seconds.
SYNC_TIMEOUT = 600
COMMAND_TIMEOUT = 600
BOOT_TIMEOUT = 10.0
STOP_TIMEOUT = 30.0


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
    _synced: bool = field(default=False, repr=False)

    @classmethod
    def from_render(cls, path: Path, answers: dict[str, object]) -> RenderedProject:
        """Wrap a fresh render, listing its files before any tool adds more."""
        files = tuple(
            sorted(
                item.relative_to(path).as_posix()
                for item in path.rglob("*")
                if item.is_file()
            )
        )
        return cls(path, answers, files)

    @property
    def slug(self) -> str:
        """Return the project's distribution name and command name."""
        return str(self.answers["project_slug"])

    def sync(self) -> None:
        """Create the project's virtual environment with uv, once."""
        if self._synced:
            return
        result = self.run(
            [sys.executable, "-m", "uv", "sync", "--quiet"], timeout=SYNC_TIMEOUT
        )
        assert result.returncode == 0, result.describe()
        self._synced = True

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
        with log_path.open("w", encoding="utf-8") as log:
            process = subprocess.Popen(
                command,
                cwd=self.path,
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


@dataclass
class ServerProcess:
    """A running server started by `RenderedProject.serve`."""

    process: subprocess.Popen[bytes]
    base_url: str
    log_path: Path

    def log(self) -> str:
        """Return what the server has logged so far."""
        return self.log_path.read_text(encoding="utf-8", errors="replace")

    def wait_until_healthy(self, timeout: float = BOOT_TIMEOUT) -> httpx.Response:
        """Poll `GET /health` until it answers 200, or fail after `timeout`."""
        deadline = time.monotonic() + timeout
        last_error = "no attempt made"
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise AssertionError(
                    f"server exited with code {self.process.returncode} before "
                    f"answering /health:\n{self.log()}"
                )
            try:
                response = httpx.get(f"{self.base_url}/health", timeout=1.0)
            except httpx.TransportError as error:
                last_error = repr(error)
            else:
                if response.status_code == 200:
                    return response
                last_error = f"{response.status_code} {response.text}"
            time.sleep(0.1)
        raise AssertionError(
            f"/health did not answer 200 within {timeout} s (last: {last_error}):\n"
            f"{self.log()}"
        )

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
