"""Figures that tests record, printed in the terminal summary of the run.

A test calls `record(section, **figures)`. Under pytest-xdist each worker is a
process of its own, so figures are appended as JSON lines to files in a
folder that the controller creates before the workers start; the controller
reads them all for the summary.
"""

from __future__ import annotations

import json
import os
import shutil
import tempfile
from pathlib import Path

# Names the folder of figure files; the controller sets it, workers inherit it.
REPORT_DIR_VARIABLE = "COPIER_FASTAPI_REPORT_DIR"


def start_report() -> Path:
    """Create the folder for this run's figures and export it to the workers."""
    folder = Path(tempfile.mkdtemp(prefix="copier-fastapi-report-"))
    os.environ[REPORT_DIR_VARIABLE] = str(folder)
    return folder


def record(section: str, **figures: object) -> None:
    """Store `figures`, JSON-serializable values, under `section` for the summary.

    Raises:
        RuntimeError: The run did not call `start_report`, which conftest.py
            does in `pytest_configure`.
    """
    folder = os.environ.get(REPORT_DIR_VARIABLE)
    if not folder:
        raise RuntimeError(
            f"{REPORT_DIR_VARIABLE} is not set; run the tests with pytest from "
            "the repository, whose conftest.py creates the report folder"
        )
    line = json.dumps({"section": section, "figures": figures})
    # One file per process, so no two processes append to the same file.
    with (Path(folder) / f"{os.getpid()}.jsonl").open("a", encoding="utf-8") as file:
        file.write(line + "\n")


def read_report(folder: Path) -> list[tuple[str, dict[str, object]]]:
    """Return every recorded section and its figures, sorted by section."""
    entries = []
    for path in sorted(folder.glob("*.jsonl")):
        for line in path.read_text(encoding="utf-8").splitlines():
            entry = json.loads(line)
            entries.append((entry["section"], entry["figures"]))
    return sorted(entries, key=lambda entry: entry[0])


def format_report(entries: list[tuple[str, dict[str, object]]]) -> list[str]:
    """Format each section as one line of `name=value` pairs."""
    width = max((len(section) for section, _ in entries), default=0)
    return [
        f"{section:<{width}}  "
        + "  ".join(f"{name}={value}" for name, value in figures.items())
        for section, figures in entries
    ]


def remove_report(folder: Path) -> None:
    """Delete the folder of figure files."""
    shutil.rmtree(folder, ignore_errors=True)
