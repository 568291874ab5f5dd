"""The documentation site: a strict build, and pages generated from copier.yml."""

from __future__ import annotations

import html
import re
import subprocess
import sys
from pathlib import Path

import pytest

from tests.project import REPO_ROOT
from tests.test_readme import quick_start_commands
from tests.variants import model

DOCS = REPO_ROOT / "docs"


@pytest.fixture(scope="module")
def site(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Build the site once with `mkdocs build --strict` and return its folder."""
    site_dir = tmp_path_factory.mktemp("site")
    result = subprocess.run(
        [sys.executable, "-m", "mkdocs", "build", "--strict", "-d", str(site_dir)],
        cwd=REPO_ROOT,
        capture_output=True,
        text=True,
        env={"NO_MKDOCS_2_WARNING": "1", "PATH": "/usr/bin:/bin"},
        check=False,
    )
    assert result.returncode == 0, result.stdout + result.stderr
    return site_dir


def page_text(site: Path, page: str) -> str:
    """Return the visible text of a built page, tags removed."""
    raw = (site / page / "index.html").read_text(encoding="utf-8")
    return html.unescape(re.sub(r"<[^>]+>", " ", raw))


def test_questionnaire_page_lists_every_question(site: Path) -> None:
    text = page_text(site, "questionnaire")
    for question in model().questions:
        assert question.name in text, f"{question.name} missing from the page"
    for name in model().fixed_answers:
        assert name in text, f"{name} missing from the page"


def test_questionnaire_page_lists_every_choice(site: Path) -> None:
    text = page_text(site, "questionnaire")
    for question in model().questions:
        for value in question.values:
            if isinstance(value, str):
                assert value in text, f"{question.name}={value} missing"


def test_getting_started_uses_readme_commands() -> None:
    page = (DOCS / "getting-started.md").read_text(encoding="utf-8")
    for command in quick_start_commands():
        assert f"```sh\n{command}\n```" in page, command
