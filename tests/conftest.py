"""Fixtures that render variants of the template once per test session."""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator

import pytest

from tests import report
from tests.project import REPO_ROOT, RenderedProject, postgres_server
from tests.variants import model, variant_group

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
    """Point pytest-copie at this repository and start the figures file.

    The figures file must exist before xdist starts its workers.
    """
    config.option.template = str(REPO_ROOT)
    report.start(config)


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """Keep the tests of one rendered project on one xdist worker.

    Each worker renders and installs a variant separately, through the
    session-scoped `render` fixture. So the tests of `default_project` share
    the group of the default variant, tests that name their variant's group
    keep it, and the other tests of a file share the file's group.
    """
    default_group = variant_group({})
    for item in items:
        if item.get_closest_marker("xdist_group") is not None:
            continue
        if isinstance(item, pytest.Function) and "default_project" in item.fixturenames:
            item.add_marker(pytest.mark.xdist_group(default_group))
        else:
            item.add_marker(pytest.mark.xdist_group(item.nodeid.split("::")[0]))


@pytest.fixture(scope="session")
def render(copie_session: object, tmp_path_factory: pytest.TempPathFactory) -> Render:
    """Return a function that renders a variant from answers, once per session.

    Answers left out take the questionnaire's defaults. The same answers return
    the same rendered project, so tests of one variant share its virtual
    environment. The projects of one session share one mypy cache folder.
    """
    projects: dict[str, RenderedProject] = {}
    mypy_cache = tmp_path_factory.mktemp("mypy-cache")

    def render_variant(**answers: object) -> RenderedProject:
        key = json.dumps(model().complete(answers) | answers, sort_keys=True)
        if key not in projects:
            result = copie_session.copy(extra_answers=answers)  # type: ignore[attr-defined]
            assert result.exception is None, f"render failed: {result.exception!r}"
            projects[key] = RenderedProject.from_render(
                result.project_dir, result.answers, mypy_cache
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


def pytest_terminal_summary(
    terminalreporter: pytest.TerminalReporter, config: pytest.Config
) -> None:
    """Print the figures that tests recorded with `tests.report.record`."""
    report.summarize(terminalreporter, config)
