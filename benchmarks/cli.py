"""The `python -m benchmarks` command: measure, then write the JSON, page and chart."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import tempfile
import time
from collections import defaultdict
from collections.abc import Sequence
from contextlib import ExitStack
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Annotated, Any, TypeVar

import typer

from benchmarks import page as results_page
from benchmarks import report
from benchmarks.load import NAME as LOAD_GENERATOR
from benchmarks.load import run_load
from benchmarks.render import FLOOR, make_floor_template, time_render
from benchmarks.serving import (
    BARE,
    BARE_DB,
    GENERATED,
    HEALTH_PATH,
    POST_PATH,
    SEED_POST,
    Contestant,
    Pair,
    cold_start_seconds,
    remove_projects,
    render_pair,
    wait_for_idle_workers,
    wait_for_ok,
)
from benchmarks.stats import Samples, ratio
from tests.project import PSYCOPG_EXECUTE, REPO_ROOT, RenderedProject, postgres_server
from tests.test_servers import PAIRS

Item = TypeVar("Item")

# The paths each application is loaded on, and the bare app each path of the
# generated service is compared with.
PATHS = {
    GENERATED: (HEALTH_PATH, POST_PATH),
    BARE: (HEALTH_PATH,),
    BARE_DB: (POST_PATH,),
}
BASELINES = {HEALTH_PATH: BARE, POST_PATH: BARE_DB}
MATRIX_COMMAND = ("python", "-m", "pytest", "tests/test_matrix.py", "-q")


@dataclass(frozen=True)
class Plan:
    """How much to measure: repetitions, contestants and load."""

    mode: str
    rounds: int
    render_rounds: int
    render_variants: tuple[str, ...]
    pairs: tuple[Pair, ...]
    connections: int
    duration: float
    warmup: float
    time_matrix: bool


FULL = Plan(
    mode="full",
    rounds=3,
    render_rounds=5,
    render_variants=("default", "largest"),
    pairs=tuple(Pair(*pair) for pair in PAIRS),
    connections=32,
    duration=2.0,
    warmup=1.0,
    time_matrix=True,
)
QUICK = Plan(
    mode="quick",
    rounds=1,
    render_rounds=1,
    render_variants=("default",),
    pairs=(Pair("uvicorn", "single"),),
    connections=32,
    duration=1.0,
    warmup=0.5,
    time_matrix=False,
)
MATRIX_SKIPPED = (
    "skipped in --quick mode: the test matrix takes minutes, and the quick "
    "check runs inside the test suite"
)

app = typer.Typer(add_completion=False)


def progress(message: str) -> None:
    """Report what is being measured, on standard error."""
    typer.echo(f"[{datetime.now(UTC):%H:%M:%S}] {message}", err=True)


def rotated(items: Sequence[Item], turn: int) -> list[Item]:
    """Return `items` starting at position `turn`, so each round starts elsewhere."""
    start = turn % len(items)
    return [*items[start:], *items[:start]]


def measure_renders(plan: Plan, scratch: Path) -> dict[str, Any]:
    """Time `copier copy` of the floor and of each variant, interleaved."""
    floor = make_floor_template(scratch / "floor-template")
    names = (FLOOR, *plan.render_variants)
    samples = {name: Samples() for name in names}
    for turn in range(plan.render_rounds):
        for name in rotated(names, turn):
            samples[name].add(time_render(name, floor, scratch))
            progress(f"render {name}: {samples[name].values[-1]:.2f} s")
    results: dict[str, Any] = {FLOOR: {"seconds": samples[FLOOR].summary()}}
    for name in plan.render_variants:
        results[name] = {
            "seconds": samples[name].summary(),
            "ratio": ratio(samples[name], samples[FLOOR]),
        }
    return results


def measure_cold_starts(
    plan: Plan, contestants: dict[tuple[Pair, str], Contestant]
) -> list[dict[str, Any]]:
    """Time each pair's boot to the first 200 on `/health`, against the bare app."""
    samples: defaultdict[tuple[Pair, str], Samples] = defaultdict(Samples)
    for turn in range(plan.rounds):
        for pair in plan.pairs:
            for name in rotated((GENERATED, BARE), turn):
                seconds = cold_start_seconds(contestants[pair, name])
                samples[pair, name].add(seconds)
                progress(f"cold start {pair.name} {name}: {seconds:.3f} s")
    return [
        {
            "server": pair.server,
            "process_model": pair.process_model,
            "workers": pair.workers,
            "generated_seconds": samples[pair, GENERATED].summary(),
            "bare_seconds": samples[pair, BARE].summary(),
            "ratio": ratio(samples[pair, GENERATED], samples[pair, BARE]),
        }
        for pair in plan.pairs
    ]


def load_contestant(
    plan: Plan,
    contestant: Contestant,
    samples: defaultdict[tuple[Pair, str, str, str], Samples],
) -> None:
    """Boot one contestant, then load each of its paths in turn."""
    paths = PATHS[contestant.app]
    pair = contestant.pair
    with contestant.serve() as server:
        wait_for_ok(server, paths[0])
        wait_for_idle_workers(server, pair.workers)
        for path in paths:
            url = f"{server.base_url}{path}"
            result = run_load(
                url,
                connections=plan.connections,
                duration=plan.duration,
                warmup=plan.warmup,
            )
            if result["p50_ms"] is None:
                raise RuntimeError(f"fewer than two responses from {url}: {result}")
            for metric in ("requests_per_second", "p50_ms", "p99_ms", "errors"):
                samples[pair, contestant.app, path, metric].add(result[metric])
            progress(
                f"load {pair.name} {contestant.app} {path}: "
                f"{result['requests_per_second']:.0f} requests/s, "
                f"{result['errors']} errors"
            )


def measure_throughput(
    plan: Plan, contestants: dict[tuple[Pair, str], Contestant]
) -> list[dict[str, Any]]:
    """Load `/health` and the post read of each pair and of the bare apps."""
    samples: defaultdict[tuple[Pair, str, str, str], Samples] = defaultdict(Samples)
    for turn in range(plan.rounds):
        for pair in plan.pairs:
            for name in rotated((GENERATED, BARE, BARE_DB), turn):
                load_contestant(plan, contestants[pair, name], samples)
    rows = []
    for pair in plan.pairs:
        for path, baseline in BASELINES.items():
            row: dict[str, Any] = {
                "server": pair.server,
                "process_model": pair.process_model,
                "workers": pair.workers,
                "path": path,
                "baseline": baseline,
            }
            for side, name in (("generated", GENERATED), ("bare", baseline)):
                row[side] = {
                    metric: samples[pair, name, path, metric].summary()
                    for metric in ("requests_per_second", "p50_ms", "p99_ms", "errors")
                }
            row["ratio"] = ratio(
                samples[pair, GENERATED, path, "requests_per_second"],
                samples[pair, baseline, path, "requests_per_second"],
            )
            rows.append(row)
    return rows


def time_test_matrix(plan: Plan) -> dict[str, Any]:
    """Run the pairwise tier of the test suite once and return its wall time."""
    command = " ".join(MATRIX_COMMAND)
    if not plan.time_matrix:
        progress(f"test matrix: {MATRIX_SKIPPED}")
        return {"command": command, "skipped": MATRIX_SKIPPED}
    progress(f"test matrix: {command}")
    started = time.perf_counter()
    completed = subprocess.run(
        [sys.executable, *MATRIX_COMMAND[1:]],
        cwd=REPO_ROOT,
        capture_output=True,
        text=True,
        check=False,
    )
    seconds = time.perf_counter() - started
    lines = completed.stdout.strip().splitlines()
    progress(f"test matrix: {seconds:.0f} s, exit code {completed.returncode}")
    return {
        "command": command,
        "seconds": seconds,
        "exit_code": completed.returncode,
        "summary": lines[-1] if lines else completed.stderr.strip()[-500:],
    }


def prepare_database(project: RenderedProject, database_url: str) -> None:
    """Create the schema with the project's migrations and insert the post."""
    upgrade = project.tool(
        project.slug, "db", "upgrade", env={"DATABASE_URL": database_url}
    )
    if upgrade.returncode != 0:
        raise RuntimeError(upgrade.describe())
    python = str(project.path / ".venv" / "bin" / "python")
    seed = project.run([python, "-c", PSYCOPG_EXECUTE, database_url, SEED_POST])
    if seed.returncode != 0:
        raise RuntimeError(seed.describe())


def measure(plan: Plan, scratch: Path) -> dict[str, Any]:
    """Run every measurement of `plan` and return the results."""
    results: dict[str, Any] = {
        "mode": plan.mode,
        "date": datetime.now(UTC).isoformat(timespec="seconds"),
        "machine": report.machine(),
        "template_commit": report.template_commit(),
        "load_generator": {
            "name": LOAD_GENERATOR,
            "connections": plan.connections,
            "duration_seconds": plan.duration,
            "warmup_seconds": plan.warmup,
        },
        "rounds": plan.rounds,
        "render_rounds": plan.render_rounds,
    }
    results["render"] = measure_renders(plan, scratch)

    progress("rendering and installing one service per server pair")
    projects = {pair: render_pair(pair, scratch) for pair in plan.pairs}
    results["versions"] = report.versions(list(projects.values()))
    first = projects[plan.pairs[0]]
    with ExitStack() as stack:
        stack.callback(remove_projects, projects)
        server_url = stack.enter_context(postgres_server())
        database_url = stack.enter_context(first.postgres_database(server_url))
        prepare_database(first, database_url)
        contestants = {
            (pair, name): Contestant(pair, project, name, database_url)
            for pair, project in projects.items()
            for name in (GENERATED, BARE, BARE_DB)
        }
        # Loads first: their boots also compile the bytecode that every later
        # boot reads, so the cold starts below all start from the same state.
        results["throughput"] = measure_throughput(plan, contestants)
        results["cold_start"] = measure_cold_starts(plan, contestants)
    results["test_matrix"] = time_test_matrix(plan)
    results["machine"]["load_average_end"] = os.getloadavg()
    results["targets"] = report.targets(results)
    return results


@app.command()
def main(
    quick: Annotated[
        bool,
        typer.Option(
            "--quick",
            help="Check that the benchmarks work: one round, one server, "
            "one-second loads, no test matrix; writes to a temporary folder "
            "instead of docs/.",
        ),
    ] = False,
) -> None:
    """Measure render time, cold start, throughput and the test matrix's wall time.

    Writes docs/benchmarks/results.json, docs/benchmarks/throughput.svg and the
    tables of docs/benchmarks.md.
    """
    plan = QUICK if quick else FULL
    scratch = Path(tempfile.mkdtemp(prefix="copier-fastapi-benchmarks-work-"))
    try:
        results = measure(plan, scratch)
    finally:
        shutil.rmtree(scratch, ignore_errors=True)
    if quick:
        output = Path(tempfile.mkdtemp(prefix="copier-fastapi-benchmarks-"))
        page = output / results_page.PAGE.name
        shutil.copyfile(results_page.PAGE, page)
    else:
        page = results_page.PAGE
    written = results_page.write(results, page)
    for path in written:
        typer.echo(f"Wrote {path}")
    for target in results["targets"]:
        verdict = "met" if target["met"] else "MISSED"
        typer.echo(f"{verdict}: {target['name']} {target['measured']:.2f}")
