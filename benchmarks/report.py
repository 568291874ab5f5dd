"""Facts that go with the figures: machine, versions, commit, and the targets."""

from __future__ import annotations

import importlib.metadata
import json
import os
import platform
import subprocess
from pathlib import Path
from typing import Any

from tests.project import REPO_ROOT, RenderedProject, git

# Packages whose versions the figures depend on, read from the rendered
# projects' environments; Copier comes from this repository's environment.
PACKAGES = (
    "fastapi",
    "starlette",
    "pydantic",
    "sqlalchemy",
    "psycopg",
    "uvicorn",
    "uvloop",
    "httptools",
    "hypercorn",
    "granian",
    "gunicorn",
    "uvicorn-worker",
)
PRINT_VERSIONS = (
    "import importlib.metadata, json, sys\n"
    "found = {}\n"
    "for name in sys.argv[1:]:\n"
    "    try:\n"
    "        found[name] = importlib.metadata.version(name)\n"
    "    except importlib.metadata.PackageNotFoundError:\n"
    "        pass\n"
    "print(json.dumps(found))\n"
)
# The targets, as the worst acceptable ratio of the template to its baseline.
RENDER_LIMIT = 1.5
COLD_START_LIMIT = 1.25
HEALTH_THROUGHPUT_LIMIT = 0.9


def machine() -> dict[str, Any]:
    """Describe the CPU, memory, OS and Python that the figures come from."""
    cpu = platform.processor() or platform.machine()
    memory_kib = 0
    cpuinfo = Path("/proc/cpuinfo")
    if cpuinfo.is_file():
        for line in cpuinfo.read_text(encoding="utf-8").splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    meminfo = Path("/proc/meminfo")
    if meminfo.is_file():
        for line in meminfo.read_text(encoding="utf-8").splitlines():
            if line.startswith("MemTotal:"):
                memory_kib = int(line.split()[1])
    return {
        "cpu": cpu,
        "cores": os.cpu_count(),
        "memory_gib": round(memory_kib / 1024**2, 1),
        "os": platform.platform(),
        "python": platform.python_version(),
        "load_average_start": os.getloadavg(),
    }


def template_commit() -> str:
    """Return the template's commit, marked when the work tree has changes."""
    commit = git(REPO_ROOT, "rev-parse", "--short", "HEAD").strip()
    dirty = git(REPO_ROOT, "status", "--porcelain").strip()
    return f"{commit} with uncommitted changes" if dirty else commit


def versions(projects: list[RenderedProject]) -> dict[str, str]:
    """Return the versions of `PACKAGES` in the projects' environments, and Copier's."""
    found = {"copier": importlib.metadata.version("copier")}
    for project in projects:
        python = str(project.path / ".venv" / "bin" / "python")
        completed = subprocess.run(
            [python, "-c", PRINT_VERSIONS, *PACKAGES],
            capture_output=True,
            text=True,
            check=True,
        )
        found.update(json.loads(completed.stdout))
    return dict(sorted(found.items()))


def targets(results: dict[str, Any]) -> list[dict[str, Any]]:
    """Check each ratio against its target; one entry per variant or pair."""
    checks = []
    for name in ("default", "largest"):
        if name in results["render"]:
            measured = results["render"][name]["ratio"]["median"]
            checks.append(
                {
                    "name": f"render of the {name} variant / Copier's floor",
                    "limit": f"≤ {RENDER_LIMIT}",
                    "measured": measured,
                    "met": measured <= RENDER_LIMIT,
                }
            )
    for row in results["cold_start"]:
        measured = row["ratio"]["median"]
        checks.append(
            {
                "name": f"cold start {row['server']}/{row['process_model']} / bare app",
                "limit": f"≤ {COLD_START_LIMIT}",
                "measured": measured,
                "met": measured <= COLD_START_LIMIT,
            }
        )
    for row in results["throughput"]:
        if row["path"] != "/health":
            continue
        measured = row["ratio"]["median"]
        checks.append(
            {
                "name": f"/health throughput {row['server']}/{row['process_model']} "
                "/ bare app",
                "limit": f"≥ {HEALTH_THROUGHPUT_LIMIT}",
                "measured": measured,
                "met": measured >= HEALTH_THROUGHPUT_LIMIT,
            }
        )
    return checks
