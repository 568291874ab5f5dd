"""The chart of throughput per server: generated service beside the bare app."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from matplotlib import rc_context
from matplotlib.figure import Figure

TITLES = {"/health": "GET /health", "/posts/{id}": "GET /posts/{id} (PostgreSQL)"}
BAR_WIDTH = 0.38


def write_chart(rows: list[dict[str, Any]], path: Path) -> None:
    """Draw the median requests per second of every row into an SVG file.

    The output is deterministic: a fixed hash salt and no date in the
    metadata, so an unchanged result gives an unchanged file.
    """
    panels = {
        "/health": [row for row in rows if row["path"] == "/health"],
        "/posts/{id}": [row for row in rows if row["path"] != "/health"],
    }
    with rc_context({"svg.hashsalt": "copier-fastapi", "font.size": 9}):
        figure = Figure(figsize=(11, 4.2), layout="constrained")
        axes = figure.subplots(1, 2)
        for axis, (title, panel) in zip(axes, panels.items(), strict=True):
            labels = [f"{row['server']}\n{row['process_model']}" for row in panel]
            positions = range(len(panel))
            generated = [
                row["generated"]["requests_per_second"]["median"] for row in panel
            ]
            bare = [row["bare"]["requests_per_second"]["median"] for row in panel]
            axis.bar(
                [x - BAR_WIDTH / 2 for x in positions],
                generated,
                BAR_WIDTH,
                label="generated service",
                color="#3b6ea5",
            )
            axis.bar(
                [x + BAR_WIDTH / 2 for x in positions],
                bare,
                BAR_WIDTH,
                label="bare app",
                color="#b9c7d6",
            )
            axis.set_xticks(list(positions), labels)
            axis.set_title(TITLES[title])
            axis.set_ylabel("requests per second (median)")
            axis.grid(axis="y", alpha=0.3)
            axis.legend()
        path.parent.mkdir(parents=True, exist_ok=True)
        figure.savefig(path, format="svg", metadata={"Date": None})
