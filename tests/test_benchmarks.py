"""The benchmark command, run in its quick mode as docs/benchmarks.md shows it.

The tests check that the command works and that its output is well formed.
They assert no timing, because the figures depend on the machine and its load.
"""

from __future__ import annotations

import json
import os
import re
import subprocess
import xml.etree.ElementTree as ElementTree
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from benchmarks.page import CHART_FILE, END_MARKER, RESULTS_FILE, START_MARKER
from tests.project import REPO_ROOT

PAGE = REPO_ROOT / "docs" / "benchmarks.md"
QUICK_TIMEOUT = 600
QUICK_COMMAND = "python3 -m uv run python -m benchmarks --quick"
TABLE_ROW = re.compile(r"^\|.*\|$")


@dataclass(frozen=True)
class QuickRun:
    """What the quick benchmark wrote, and the docs page as it was before."""

    output: str
    results: dict[str, Any]
    page: str
    chart: Path
    docs_page_before: str


def page_commands() -> list[str]:
    """Return the shell blocks of docs/benchmarks.md."""
    text = PAGE.read_text(encoding="utf-8")
    return [block.strip() for block in re.findall(r"```sh\n(.*?)```", text, re.S)]


def quick_command() -> str:
    """Return the command that runs the quick check, as the page shows it."""
    assert QUICK_COMMAND in page_commands(), page_commands()
    return QUICK_COMMAND


def run_quick_command(temp: Path, postgres_server_url: str) -> QuickRun:
    """Run the page's quick command once and read what it wrote."""
    docs_page_before = PAGE.read_text(encoding="utf-8")

    # tempfile honours TMPDIR, so the output folder lands under pytest's.
    env = {
        **os.environ,
        "TMPDIR": str(temp),
        "TEST_DATABASE_URL": postgres_server_url,
    }
    completed = subprocess.run(
        ["bash", "-c", quick_command()],
        cwd=REPO_ROOT,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        timeout=QUICK_TIMEOUT,
        check=False,
    )
    assert completed.returncode == 0, completed.stdout

    # The command prints a "Wrote PATH" line for each file.
    written = [
        Path(line.removeprefix("Wrote "))
        for line in completed.stdout.splitlines()
        if line.startswith("Wrote ")
    ]
    pages = [path for path in written if path.suffix == ".md"]
    assert len(pages) == 1, completed.stdout
    folder = pages[0].parent
    assert folder.is_relative_to(temp), completed.stdout
    results_path = folder / RESULTS_FILE
    assert results_path in written, completed.stdout

    return QuickRun(
        output=completed.stdout,
        results=json.loads(results_path.read_text(encoding="utf-8")),
        page=pages[0].read_text(encoding="utf-8"),
        chart=folder / CHART_FILE,
        docs_page_before=docs_page_before,
    )


def test_page_shows_full_and_quick_commands() -> None:
    commands = page_commands()
    # The full run differs from the quick check only by its missing flag.
    full_run = QUICK_COMMAND.removesuffix(" --quick")
    assert commands == [full_run, QUICK_COMMAND], commands


def test_quick_run_writes_results(tmp_path: Path, postgres_server_url: str) -> None:
    # One test for the whole run: the quick command takes about a minute, and
    # a fixture shared by several tests could run it once per xdist worker.
    quick_run = run_quick_command(tmp_path, postgres_server_url)

    # The docs page stays as it was.
    after = PAGE.read_text(encoding="utf-8")
    assert after == quick_run.docs_page_before, quick_run.output

    # The results describe the setup.
    results = quick_run.results
    assert results["mode"] == "quick", results
    for key in ("cpu", "cores", "memory_gib", "os", "python"):
        assert results["machine"].get(key), results["machine"]
    for package in ("copier", "fastapi", "starlette", "uvicorn"):
        assert package in results["versions"], results["versions"]
    assert "asyncio" in results["load_generator"]["name"], results["load_generator"]
    assert results["date"], results

    # Every measurement is there.
    assert set(results["render"]) == {"floor", "default"}, results["render"]
    assert results["render"]["default"]["ratio"]["median"] > 0, results["render"]
    cold_start = results["cold_start"]
    assert len(cold_start) == 1, cold_start
    assert cold_start[0]["ratio"]["median"] > 0, cold_start
    paths = [row["path"] for row in results["throughput"]]
    assert paths == ["/health", "/posts/1"], results["throughput"]
    assert "--quick" in results["test_matrix"]["skipped"], results["test_matrix"]

    # The loads got only 200 responses.
    for row in results["throughput"]:
        for side in ("generated", "bare"):
            measured = row[side]
            assert measured["requests_per_second"]["min"] > 0, row
            assert measured["errors"]["values"] == [0], row
            assert measured["p99_ms"]["min"] >= measured["p50_ms"]["min"], row

    # Each target has a verdict.
    targets = results["targets"]
    names = [target["name"] for target in targets]
    assert len(names) == 3, names
    for target in targets:
        assert isinstance(target["met"], bool), target

    # The page has well-formed tables between its markers.
    page = quick_run.page
    assert page.count(START_MARKER) == 1, page
    assert page.count(END_MARKER) == 1, page
    generated = page.split(START_MARKER)[1].split(END_MARKER)[0]
    for heading in ("Targets", "Render", "Cold start", "Throughput", "Test matrix"):
        assert f"### {heading}" in generated, generated
    tables = [
        [line for line in block.splitlines() if TABLE_ROW.match(line)]
        for block in generated.split("\n\n")
    ]
    tables = [rows for rows in tables if rows]
    assert len(tables) >= 7, generated
    for rows in tables:
        widths = {row.count("|") for row in rows}
        assert len(widths) == 1, "\n".join(rows)
        assert set(rows[1]) <= {"|", "-"}, "\n".join(rows)
    assert "None" not in generated, generated
    assert not re.search(r"\bnan\b", generated), generated

    # The prose around the markers stays.
    prose = quick_run.docs_page_before.split(START_MARKER)[0]
    assert quick_run.page.startswith(prose), quick_run.page

    # The chart is an SVG document.
    root = ElementTree.parse(quick_run.chart).getroot()
    assert root.tag == "{http://www.w3.org/2000/svg}svg", root.tag
