"""Rendering the default variant and checking its files.

The default variant is the first of the pairwise set, so test_matrix.py runs
its ruff, mypy and own-suite checks.
"""

from __future__ import annotations

import re

import pytest

from tests.conftest import Render
from tests.project import RenderedProject

# `${{ ... }}` is a GitHub Actions expression, not Jinja.
JINJA_MARKERS = re.compile(r"(?<!\$)\{\{|\{%|\{#")
EXPECTED_FILES = (
    ".copier-answers.yml",
    ".env",
    ".env.example",
    ".gitignore",
    "README.md",
    "pyproject.toml",
    "src/my_service/__init__.py",
    "src/my_service/api/__init__.py",
    "src/my_service/api/health.py",
    "src/my_service/cli.py",
    "src/my_service/db.py",
    "src/my_service/deps.py",
    "src/my_service/lifespan.py",
    "src/my_service/main.py",
    "src/my_service/py.typed",
    "src/my_service/schemas.py",
    "src/my_service/settings.py",
    "tests/conftest.py",
    "tests/test_health.py",
)


def test_default_variant_has_layout(default_project: RenderedProject) -> None:
    files = default_project.files
    for expected in EXPECTED_FILES:
        assert expected in files, f"{expected} missing from {files}"


def test_no_jinja_left_in_paths(default_project: RenderedProject) -> None:
    for relpath in default_project.files:
        assert not JINJA_MARKERS.search(relpath), relpath
        assert not relpath.endswith(".jinja"), relpath


def test_no_jinja_left_in_contents(default_project: RenderedProject) -> None:
    for relpath in default_project.files:
        text = (default_project.path / relpath).read_text(encoding="utf-8")
        match = JINJA_MARKERS.search(text)
        assert match is None, f"{relpath}: {text[max(match.start() - 80, 0) :][:160]!r}"


def test_text_files_end_with_one_newline(default_project: RenderedProject) -> None:
    for relpath in default_project.files:
        data = (default_project.path / relpath).read_bytes()
        if not data:
            continue
        assert data.endswith(b"\n"), f"{relpath} does not end with a newline"
        assert not data.endswith(b"\n\n"), f"{relpath} ends with a blank line"
        assert b"\r\n" not in data, f"{relpath} has CRLF line endings"


# A package name of 17 characters, the longest for which the questionnaire's
# help promises ruff-clean files, on two variants with many imports.
LONG_NAME = "Inventory Service"
LONG_NAME_VARIANTS = {
    "sqlite-gunicorn": {
        "database": "sqlite",
        "db_api": "sync",
        "migrations": False,
        "auth": ["basic", "api_key"],
        "process_model": "gunicorn",
    },
    "postgresql-granian": {
        "database": "postgresql",
        "auth": ["basic", "jwt", "api_key"],
        "opentelemetry": True,
        "server": "granian",
        "process_model": "workers",
    },
}


@pytest.mark.parametrize("check", ["ruff check", "ruff format"])
@pytest.mark.parametrize("variant", list(LONG_NAME_VARIANTS))
def test_long_package_name_passes_ruff(
    render: Render, variant: str, check: str
) -> None:
    project = render(project_name=LONG_NAME, **LONG_NAME_VARIANTS[variant])
    package = project.answers["package_name"]
    assert package == "inventory_service", project.answers
    assert len(package) == 17, package
    project.check(check)
