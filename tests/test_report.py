"""The figures that tests record and the end of the run prints."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from tests import report


class Terminal:
    """Collect what `report.summarize` writes, like pytest's terminal reporter."""

    def __init__(self) -> None:
        self.lines: list[str] = []

    def section(self, title: str) -> None:
        """Store a section heading."""
        self.lines.append(f"== {title} ==")

    def write_line(self, line: str) -> None:
        """Store one line."""
        self.lines.append(line)


def test_record_appends_json_line(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    path = tmp_path / "figures.jsonl"
    monkeypatch.setenv(report.REPORT_PATH_VARIABLE, str(path))
    report.record("load", requests=10, errors=0)
    report.record("load", requests=5, errors=1)
    lines = path.read_text(encoding="utf-8").splitlines()
    assert [json.loads(line) for line in lines] == [
        {"section": "load", "requests": 10, "errors": 0},
        {"section": "load", "requests": 5, "errors": 1},
    ], lines


def test_summarize_prints_entries_and_totals(
    monkeypatch: pytest.MonkeyPatch, pytestconfig: pytest.Config, tmp_path: Path
) -> None:
    path = tmp_path / "figures.jsonl"
    path.write_text(
        '{"section": "load", "variant": "a", "requests": 10}\n'
        '{"section": "load", "variant": "b", "requests": 5}\n',
        encoding="utf-8",
    )
    monkeypatch.setitem(pytestconfig.stash, report._owned_path, str(path))
    terminal = Terminal()
    report.summarize(terminal, pytestconfig)
    assert terminal.lines == [
        "== figures ==",
        "load:",
        "  variant=a, requests=10",
        "  variant=b, requests=5",
        "  total of 2: requests=15",
    ], terminal.lines
    assert not path.exists(), "the figures file was not deleted"
