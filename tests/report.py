"""Figures that tests record, printed together at the end of the run.

Each process appends JSON lines to one file that the controlling process
creates, so figures recorded on xdist workers reach the terminal summary.
"""

from __future__ import annotations

import json
import os
import tempfile
from pathlib import Path
from typing import Any

import pytest

# Names the figures file; the controlling process sets it before xdist starts
# its workers, which inherit the environment.
REPORT_PATH_VARIABLE = "COPIER_FASTAPI_REPORT_PATH"
_owned_path = pytest.StashKey[str]()
# A section with more entries, such as one per variant, shows only its totals.
MAX_LINES_PER_SECTION = 10


def record(section: str, **figures: object) -> None:
    """Store `figures`, such as `requests=120, errors=0`, under `section`."""
    path = os.environ.get(REPORT_PATH_VARIABLE)
    if not path:
        return  # a test run without the conftest hooks, such as a single import
    line = json.dumps({"section": section, **figures}, default=str)
    with Path(path).open("a", encoding="utf-8") as file:
        file.write(line + "\n")


def start(config: pytest.Config) -> None:
    """Create the figures file once per run, in the controlling process."""
    if hasattr(config, "workerinput") or REPORT_PATH_VARIABLE in os.environ:
        return
    handle, path = tempfile.mkstemp(prefix="copier-fastapi-figures-", suffix=".jsonl")
    os.close(handle)
    os.environ[REPORT_PATH_VARIABLE] = path
    config.stash[_owned_path] = path


def summarize(terminal: Any, config: pytest.Config) -> None:
    """Print the recorded figures grouped by section, then delete the file."""
    path = config.stash.get(_owned_path, None)
    if path is None:
        return
    lines = Path(path).read_text(encoding="utf-8").splitlines()
    Path(path).unlink(missing_ok=True)
    if not lines:
        return
    terminal.section("figures")
    by_section: dict[str, list[dict[str, Any]]] = {}
    for line in lines:
        entry = json.loads(line)
        by_section.setdefault(entry.pop("section"), []).append(entry)
    for section, entries in sorted(by_section.items()):
        terminal.write_line(f"{section}:")
        totals: dict[str, int] = {}
        for entry in entries:
            if len(entries) <= MAX_LINES_PER_SECTION:
                terminal.write_line("  " + _format(entry))
            for key, value in entry.items():
                if isinstance(value, int) and not isinstance(value, bool):
                    totals[key] = totals.get(key, 0) + value
        if len(entries) > 1 and totals:
            terminal.write_line(f"  total of {len(entries)}: " + _format(totals))


def _format(figures: dict[str, Any]) -> str:
    return ", ".join(f"{key}={value}" for key, value in figures.items())
