"""The getting-started walkthrough, run command by command as the page shows it.

The commands run in a shell, from a copy of this checkout, exactly as the page
spells them. Only the port differs: the page says 8000, which another process
may hold, so the server listens on a free port and curl's `connect-to` option,
set in a curlrc file, sends the page's 127.0.0.1:8000 there.
"""

from __future__ import annotations

import json
import os
import shutil
import signal
import subprocess
from collections.abc import Mapping
from pathlib import Path

import pytest
import yaml

from tests.project import (
    COMMAND_TIMEOUT,
    REPO_ROOT,
    ServerProcess,
    free_port,
    subprocess_env,
)
from tests.test_docs import DOCS, shell_commands
from tests.test_readme import COPY_IGNORED, base_python_path

INSTALL_UV = "python3 -m pip install uv"
# The README's example of answers on the command line.
README_COPY = (
    "python3 -m uv run copier copy --trust --defaults --vcs-ref HEAD "
    "--data server=granian --data database=postgresql . ../orders"
)
COPY = (
    "python3 -m uv run copier copy --trust --defaults --vcs-ref HEAD "
    "--data project_name=Orders --data server=granian "
    "--data process_model=workers "
    '--data \'auth=["basic", "jwt", "api_key"]\' . ../orders'
)
ENTER = "cd ../orders"
UPGRADE = "python3 -m uv run orders db upgrade"
CREATE_USER = "python3 -m uv run orders create-user you@example.com --superuser"
SERVE = "python3 -m uv run orders serve"
TOKEN_REQUEST = (
    "curl -s -X POST http://127.0.0.1:8000/auth/token "
    "-d username=you@example.com -d password=correct-horse-battery-staple"
)
ME_WITH_TOKEN = (
    'curl -s http://127.0.0.1:8000/users/me -H "Authorization: Bearer $TOKEN"'
)
ME_WITH_BASIC = (
    "curl -s -u you@example.com:correct-horse-battery-staple "
    "http://127.0.0.1:8000/users/me"
)
CREATE_API_KEY = "python3 -m uv run orders create-api-key you@example.com"
ME_WITH_API_KEY = 'curl -s http://127.0.0.1:8000/users/me -H "X-API-Key: $API_KEY"'
WALKTHROUGH = [
    INSTALL_UV,
    COPY,
    ENTER,
    UPGRADE,
    CREATE_USER,
    SERVE,
    TOKEN_REQUEST,
    ME_WITH_TOKEN,
    ME_WITH_BASIC,
    CREATE_API_KEY,
    ME_WITH_API_KEY,
]
EMAIL = "you@example.com"
PASSWORD = "correct-horse-battery-staple"
DOCUMENTED_PORT = 8000
# Seconds for the first `serve` to answer: Granian's workers each import the
# application, which is slow on a busy two-core machine.
BOOT_TIMEOUT = 120.0
STOP_TIMEOUT = 30.0


def walkthrough_section() -> str:
    """Return the "Serve a variant of your choice" section of the page."""
    text = (DOCS / "getting-started.md").read_text(encoding="utf-8")
    return text.split("## Serve a variant of your choice", 1)[1].split("\n## ", 1)[0]


def shell(
    command: str,
    cwd: Path,
    env: Mapping[str, str],
    *,
    input: str | None = None,
) -> subprocess.CompletedProcess[str]:
    """Run `command` in bash in `cwd`, as a user types it.

    The command runs in a session of its own, without a controlling terminal,
    so a password prompt reads standard input instead of the test's terminal.
    """
    return subprocess.run(
        ["bash", "-c", command],
        cwd=cwd,
        env=dict(env),
        input=input,
        capture_output=True,
        text=True,
        timeout=COMMAND_TIMEOUT,
        start_new_session=True,
        check=False,
    )


def describe(result: subprocess.CompletedProcess[str]) -> str:
    """Return a command's exit code and output, for assertion messages."""
    return (
        f"$ {result.args[-1]}\nexit code {result.returncode}\n"
        f"stdout:\n{result.stdout}\nstderr:\n{result.stderr}"
    )


def recorded_answers(project: Path) -> dict[str, object]:
    """Return the answers file of a rendered project."""
    text = (project / ".copier-answers.yml").read_text(encoding="utf-8")
    answers: dict[str, object] = yaml.safe_load(text)
    return answers


def caller_email(result: subprocess.CompletedProcess[str]) -> object:
    """Return the email in a `/users/me` response that curl printed."""
    assert result.returncode == 0, describe(result)
    return json.loads(result.stdout).get("email")


def test_page_shows_the_walkthrough_in_order() -> None:
    assert shell_commands(walkthrough_section()) == WALKTHROUGH


def test_walkthrough_serves_chosen_variant(tmp_path: Path) -> None:
    for tool in ("git", "curl"):
        if shutil.which(tool) is None:
            pytest.fail(f"{tool} is required: the walkthrough runs it")
    checkout = tmp_path / "copier-fastapi"
    shutil.copytree(REPO_ROOT, checkout, ignore=COPY_IGNORED, symlinks=True)
    curl_home = tmp_path / "curl"
    curl_home.mkdir()
    port = free_port()
    (curl_home / ".curlrc").write_text(
        f'connect-to = "127.0.0.1:{DOCUMENTED_PORT}:127.0.0.1:{port}"\n',
        encoding="utf-8",
    )
    env = subprocess_env(
        {"PATH": base_python_path(tmp_path), "CURL_HOME": str(curl_home)}
    )
    env.pop("UV_PYTHON")

    # The README's example renders the answers it names.
    installed = shell(INSTALL_UV, checkout, env)
    assert installed.returncode == 0, describe(installed)
    readme_copy = shell(README_COPY, checkout, env)
    assert readme_copy.returncode == 0, describe(readme_copy)
    answers = recorded_answers(tmp_path / "orders")
    assert answers["server"] == "granian", answers
    assert answers["database"] == "postgresql", answers
    shutil.rmtree(tmp_path / "orders")

    # Render the chosen variant and enter its folder.
    copied = shell(COPY, checkout, env)
    assert copied.returncode == 0, describe(copied)
    entered = shell(f"{ENTER} && pwd", checkout, env)
    assert entered.returncode == 0, describe(entered)
    project = Path(entered.stdout.strip())
    assert project == tmp_path / "orders", describe(entered)
    answers = recorded_answers(project)
    assert answers["server"] == "granian", answers
    assert answers["process_model"] == "workers", answers
    assert answers["auth"] == ["basic", "jwt", "api_key"], answers

    # Tables and the first user; the password is typed twice at the prompt.
    upgraded = shell(UPGRADE, project, env)
    assert upgraded.returncode == 0, describe(upgraded)
    created = shell(CREATE_USER, project, env, input=f"{PASSWORD}\n{PASSWORD}\n")
    assert created.returncode == 0, describe(created)
    assert f"Created superuser {EMAIL}" in created.stdout, describe(created)

    log_path = tmp_path / "serve.log"
    with log_path.open("w", encoding="utf-8") as log:
        process = subprocess.Popen(
            ["bash", "-c", SERVE],
            cwd=project,
            env={**env, "PORT": str(port)},
            stdout=log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
    server = ServerProcess(process, f"http://127.0.0.1:{port}", log_path)
    try:
        server.wait_until_healthy(timeout=BOOT_TIMEOUT)

        token_response = shell(TOKEN_REQUEST, project, env)
        assert token_response.returncode == 0, describe(token_response)
        token = json.loads(token_response.stdout)
        assert token.get("token_type") == "bearer", describe(token_response)
        with_token = shell(
            ME_WITH_TOKEN, project, {**env, "TOKEN": token["access_token"]}
        )
        assert caller_email(with_token) == EMAIL, describe(with_token)

        with_basic = shell(ME_WITH_BASIC, project, env)
        assert caller_email(with_basic) == EMAIL, describe(with_basic)

        key_created = shell(CREATE_API_KEY, project, env)
        assert key_created.returncode == 0, describe(key_created)
        api_key = key_created.stdout.strip()
        assert api_key, describe(key_created)
        with_key = shell(ME_WITH_API_KEY, project, {**env, "API_KEY": api_key})
        assert caller_email(with_key) == EMAIL, describe(with_key)

        # Ctrl+C sends SIGINT to the whole foreground process group.
        os.killpg(process.pid, signal.SIGINT)
        exit_code = server.wait_for_exit(STOP_TIMEOUT)
        assert exit_code in {0, 128 + signal.SIGINT}, server.log()
    finally:
        server.kill()
