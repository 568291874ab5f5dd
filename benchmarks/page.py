"""The Markdown tables of docs/benchmarks.md, and writing every output file."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from benchmarks.chart import write_chart
from tests.project import REPO_ROOT

PAGE = REPO_ROOT / "docs" / "benchmarks.md"
# The generated tables replace whatever stands between these two lines, so the
# prose around them stays as written.
START_MARKER = "<!-- benchmark results: start -->"
END_MARKER = "<!-- benchmark results: end -->"
# Where the JSON and the chart go, relative to the page's folder.
RESULTS_FILE = Path("benchmarks") / "results.json"
CHART_FILE = Path("benchmarks") / "throughput.svg"


def table(headers: list[str], rows: list[list[str]]) -> str:
    """Return a Markdown table."""
    lines = [
        "| " + " | ".join(headers) + " |",
        "|" + "|".join("---" for _ in headers) + "|",
    ]
    lines += ["| " + " | ".join(row) + " |" for row in rows]
    return "\n".join(lines)


def yes_no(met: bool) -> str:
    """Return the verdict on a target."""
    return "yes" if met else "**no**"


def latencies(side: dict[str, Any]) -> str:
    """Return the median p50 and p99 latencies of one side, in milliseconds."""
    return f"{side['p50_ms']['median']:.1f} / {side['p99_ms']['median']:.1f}"


def errors(row: dict[str, Any]) -> str:
    """Return the errors of both sides summed over the rounds."""
    return str(
        int(
            sum(row["generated"]["errors"]["values"])
            + sum(row["bare"]["errors"]["values"])
        )
    )


def setup_section(results: dict[str, Any]) -> str:
    """Return the machine, date, load generator and versions."""
    machine = results["machine"]
    load = results["load_generator"]
    start, end = machine["load_average_start"][0], machine["load_average_end"][0]
    rows = [
        ["Date", results["date"]],
        ["Mode", results["mode"]],
        ["CPU", f"{machine['cpu']}, {machine['cores']} cores"],
        ["Memory", f"{machine['memory_gib']} GiB"],
        ["OS", machine["os"]],
        ["Python", machine["python"]],
        ["Load average (1 min) at start and end", f"{start:.2f} and {end:.2f}"],
        ["Template commit", results["template_commit"]],
        [
            "Load generator",
            f"{load['name']}: {load['connections']} connections, "
            f"{load['warmup_seconds']:g} s warm-up, "
            f"{load['duration_seconds']:g} s measured",
        ],
        [
            "Rounds",
            f"{results['rounds']} (renders: {results['render_rounds']})",
        ],
    ]
    versions = [[name, version] for name, version in results["versions"].items()]
    return "\n\n".join(
        [
            "### Machine and setup",
            table(["", ""], rows),
            "### Versions",
            table(["package", "version"], versions),
        ]
    )


def targets_section(results: dict[str, Any]) -> str:
    """Return every target with the measured median ratio."""
    rows = [
        [
            target["name"],
            target["limit"],
            f"{target['measured']:.2f}",
            yes_no(target["met"]),
        ]
        for target in results["targets"]
    ]
    return "### Targets\n\n" + table(["ratio", "target", "measured", "met"], rows)


def render_section(results: dict[str, Any]) -> str:
    """Return the render times and their ratios to Copier's floor."""
    rows = []
    for name, entry in results["render"].items():
        seconds = entry["seconds"]
        ratio = f"{entry['ratio']['median']:.2f}" if "ratio" in entry else "1"
        rows.append([name, f"{seconds['min']:.2f}", f"{seconds['median']:.2f}", ratio])
    return "### Render\n\n" + table(
        ["template", "min (s)", "median (s)", "ratio to floor"], rows
    )


def cold_start_section(results: dict[str, Any]) -> str:
    """Return the cold starts of the generated service and the bare app."""
    rows = [
        [
            row["server"],
            row["process_model"],
            str(row["workers"]),
            f"{row['generated_seconds']['min']:.2f} / "
            f"{row['generated_seconds']['median']:.2f}",
            f"{row['bare_seconds']['min']:.2f} / {row['bare_seconds']['median']:.2f}",
            f"{row['ratio']['median']:.2f}",
        ]
        for row in results["cold_start"]
    ]
    headers = [
        "server",
        "process model",
        "processes",
        "generated min / median (s)",
        "bare min / median (s)",
        "ratio",
    ]
    return "### Cold start to the first 200 on /health\n\n" + table(headers, rows)


def throughput_section(results: dict[str, Any], path: str, title: str) -> str:
    """Return the throughput and latencies of one path, both sides."""
    rows = []
    for row in results["throughput"]:
        if row["path"] != path:
            continue
        generated, bare = row["generated"], row["bare"]
        rows.append(
            [
                row["server"],
                row["process_model"],
                str(row["workers"]),
                f"{generated['requests_per_second']['median']:,.0f}",
                f"{bare['requests_per_second']['median']:,.0f}",
                f"{row['ratio']['median']:.2f}",
                latencies(generated),
                latencies(bare),
                errors(row),
            ]
        )
    headers = [
        "server",
        "process model",
        "processes",
        "generated (requests/s)",
        "bare (requests/s)",
        "ratio",
        "generated p50 / p99 (ms)",
        "bare p50 / p99 (ms)",
        "errors",
    ]
    return f"### {title}\n\n" + table(headers, rows)


def matrix_section(results: dict[str, Any]) -> str:
    """Return the wall time of the test matrix, or why it was skipped."""
    matrix = results["test_matrix"]
    if "skipped" in matrix:
        outcome = [f"`{matrix['command']}`", matrix["skipped"], ""]
    else:
        outcome = [
            f"`{matrix['command']}`",
            f"{matrix['seconds'] / 60:.1f} min",
            f"exit code {matrix['exit_code']}: {matrix['summary']}",
        ]
    return "### Test matrix\n\n" + table(["command", "wall time", "result"], [outcome])


def results_markdown(results: dict[str, Any]) -> str:
    """Return every generated section of the page."""
    sections = [
        targets_section(results),
        render_section(results),
        cold_start_section(results),
        throughput_section(results, "/health", "Throughput of GET /health"),
        throughput_section(
            results, "/posts/1", "Throughput of GET /posts/{id} on PostgreSQL"
        ),
        matrix_section(results),
        setup_section(results),
    ]
    return "\n\n".join(sections)


def replace_between_markers(text: str, generated: str) -> str:
    """Put `generated` between the page's markers, keeping the rest."""
    before, start, rest = text.partition(START_MARKER)
    _, end, after = rest.partition(END_MARKER)
    if not start or not end:
        raise ValueError(
            f"the page needs the lines {START_MARKER!r} and {END_MARKER!r}, "
            "in that order, around the generated tables"
        )
    return f"{before}{START_MARKER}\n\n{generated}\n\n{END_MARKER}{after}"


def write(results: dict[str, Any], page: Path) -> list[Path]:
    """Write the JSON, the chart and the page's tables; return the files written."""
    results_path = page.parent / RESULTS_FILE
    chart_path = page.parent / CHART_FILE
    results_path.parent.mkdir(parents=True, exist_ok=True)
    results_path.write_text(json.dumps(results, indent=2) + "\n", encoding="utf-8")
    write_chart(results["throughput"], chart_path)
    text = page.read_text(encoding="utf-8")
    page.write_text(
        replace_between_markers(text, results_markdown(results)), encoding="utf-8"
    )
    return [results_path, chart_path, page]
