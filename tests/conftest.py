"""Fixtures that render variants of the template once per test session."""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator

import pytest

from tests.project import REPO_ROOT, RenderedProject, postgres_server
from tests.variants import model

Render = Callable[..., RenderedProject]


def pytest_addoption(parser: pytest.Parser) -> None:
    """Add `--variant-answers` to run the variant tier for one variant."""
    parser.addoption(
        "--variant-answers",
        default=None,
        help="JSON object of answers: run the variant tests for this variant "
        "only, instead of the pairwise set (the CI matrix passes one per job).",
    )


def pytest_configure(config: pytest.Config) -> None:
    """Point pytest-copie at this repository wherever pytest was started."""
    config.option.template = str(REPO_ROOT)


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
    """Yield the URL of `postgres_server`, one server for the whole session."""
    with postgres_server() as url:
        yield url
