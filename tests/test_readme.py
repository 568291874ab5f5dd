"""The README's quick start: two one-line commands that really work."""

from __future__ import annotations

import os
import re
import shutil
import signal
import subprocess
import sys
from pathlib import Path

import httpx
import pytest

from tests.project import REPO_ROOT, ServerProcess, free_port, subprocess_env

README = REPO_ROOT / "README.md"
CI_RUN = REPO_ROOT / ".ci" / "run"
COPY_IGNORED = shutil.ignore_patterns(
    ".venv", "__pycache__", ".pytest_cache", ".mypy_cache", ".ruff_cache"
)
# The first command of the quick start, as the README and getting-started.md
# show it and as this file runs it.
QUICK_START = (
    "python3 -m pip install uv && python3 -m uv run copier copy --trust "
    "--defaults --vcs-ref HEAD . ../my-service && cd ../my-service && "
    "python3 -m uv run my-service db upgrade && python3 -m uv run my-service serve"
)


def quick_start_commands() -> list[str]:
    """Return the shell blocks of the README's "Quick start" section."""
    text = README.read_text(encoding="utf-8")
    section = text.split("## Quick start", 1)[1].split("\n## ", 1)[0]
    return [block.strip() for block in re.findall(r"```sh\n(.*?)```", section, re.S)]


def test_quick_start_has_two_one_line_commands() -> None:
    commands = quick_start_commands()
    assert len(commands) == 2, commands
    for command in commands:
        assert "\n" not in command, command
    assert commands[0] == QUICK_START, commands[0]


def test_ci_runs_the_readme_test_command() -> None:
    test_command = quick_start_commands()[1]
    lines = CI_RUN.read_text(encoding="utf-8").strip().splitlines()
    assert lines[-1] == test_command, lines


def base_python_path(tmp_path: Path) -> str:
    """Build a PATH whose `python3` is this interpreter's base Python with pip.

    The test run's own virtual environment has no pip, while the quick start
    assumes a plain Python installation.
    """
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    base = Path(getattr(sys, "_base_executable", sys.executable)).resolve()
    (bin_dir / "python3").symlink_to(base)
    venv_bin = str(Path(sys.prefix) / "bin")
    rest = [part for part in os.environ["PATH"].split(os.pathsep) if part != venv_bin]
    return os.pathsep.join([str(bin_dir), *rest])


def test_quick_start_serves_default_variant(tmp_path: Path) -> None:
    if shutil.which("git") is None:
        pytest.fail("git is required: the quick start renders a git checkout")
    checkout = tmp_path / "copier-fastapi"
    shutil.copytree(REPO_ROOT, checkout, ignore=COPY_IGNORED, symlinks=True)
    port = free_port()
    env = subprocess_env({"PORT": str(port), "PATH": base_python_path(tmp_path)})
    env.pop("UV_PYTHON")
    log_path = tmp_path / "quick-start.log"

    with log_path.open("w", encoding="utf-8") as log:
        process = subprocess.Popen(
            ["bash", "-c", QUICK_START],
            cwd=checkout,
            env=env,
            stdout=log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
    server = ServerProcess(process, f"http://127.0.0.1:{port}", log_path)
    try:
        # The first start installs the template's and the service's
        # dependencies, so it gets more time than a plain boot.
        response = server.wait_until_healthy(timeout=300)
        assert response.json() == {"status": "ok"}, response.text
        docs = httpx.get(f"{server.base_url}/docs", timeout=5.0)
        assert docs.status_code == 200, docs.text
        # A 401 rather than a 500 shows that `db upgrade` created the tables.
        login = httpx.post(
            f"{server.base_url}/auth/token",
            data={"username": "nobody@example.com", "password": "not-the-password"},
            timeout=10.0,
        )
        assert login.status_code == 401, login.text
        assert (tmp_path / "my-service" / "pyproject.toml").is_file(), server.log()
        # Ctrl+C in a terminal sends SIGINT to the whole foreground group; the
        # shell then reports the signal as exit code 130 (128 + SIGINT).
        os.killpg(process.pid, signal.SIGINT)
        exit_code = process.wait(timeout=30)
        assert exit_code in {0, 128 + signal.SIGINT}, server.log()
        assert "Application shutdown complete." in server.log(), server.log()
    finally:
        server.kill()
