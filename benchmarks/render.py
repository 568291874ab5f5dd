"""Render timings: `copier copy` of this template against a one-file template."""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
import time
from collections.abc import Mapping
from pathlib import Path

from tests.project import REPO_ROOT, commit_all, git

# Every optional feature on. A server other than Uvicorn with workers renders
# the most files: its proxy-header middleware, their tests and the metrics
# folder setup, where Gunicorn adds two files only.
LARGEST_ANSWERS: dict[str, object] = {
    "server": "granian",
    "process_model": "workers",
    "database": "postgresql",
    "db_api": "async",
    "migrations": True,
    "auth": ["basic", "jwt", "api_key"],
    "docker": True,
    "ci": "github",
    "opentelemetry": True,
}
VARIANTS: dict[str, dict[str, object]] = {"default": {}, "largest": LARGEST_ANSWERS}
FLOOR = "floor"


def make_floor_template(folder: Path) -> Path:
    """Create Copier's floor in `folder`: a git repository holding one file.

    It is copied with the same options as this template, `--vcs-ref HEAD`
    included, so both pay for Copier's start, the clone and the answers file.
    """
    folder.mkdir(parents=True)
    (folder / "README.md.jinja").write_text("# {{ _copier_conf.dst_path }}\n")
    git(folder, "init", "--quiet")
    commit_all(folder, "Add the one file of the floor template")
    return folder


def data_value(value: object) -> str:
    """Write an answer as `--data` expects: text as is, anything else as YAML.

    JSON is valid YAML, so booleans and the multiselect list go as JSON.
    """
    return value if isinstance(value, str) else json.dumps(value)


def copier_copy(
    template: Path, destination: Path, answers: Mapping[str, object] | None = None
) -> float:
    """Run `copier copy` in a subprocess and return its wall time in seconds."""
    answers = answers or {}
    data = [f"--data={key}={data_value(value)}" for key, value in answers.items()]
    command = [
        sys.executable,
        "-m",
        "copier",
        "copy",
        "--quiet",
        "--defaults",
        "--trust",
        "--vcs-ref=HEAD",
        *data,
        str(template),
        str(destination),
    ]
    started = time.perf_counter()
    completed = subprocess.run(command, capture_output=True, text=True, check=False)
    elapsed = time.perf_counter() - started
    if completed.returncode != 0:
        raise RuntimeError(
            f"{' '.join(command)} failed with exit code {completed.returncode}:\n"
            f"{completed.stdout}{completed.stderr}"
        )
    return elapsed


def time_render(name: str, floor: Path, scratch: Path) -> float:
    """Render the contestant `name` into a fresh folder and return the seconds."""
    destination = scratch / "render"
    try:
        if name == FLOOR:
            return copier_copy(floor, destination)
        return copier_copy(REPO_ROOT, destination, VARIANTS[name])
    finally:
        shutil.rmtree(destination, ignore_errors=True)
