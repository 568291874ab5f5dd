"""The variant tier: every variant of the pairwise set, rendered, checked and run.

Each variant is rendered once and its tests stay on one xdist worker, so its
virtual environment is built once. `--variant-answers '<json>'` runs the tier
for one variant, as each job of the CI matrix does.
"""

from __future__ import annotations

import json
import re
import subprocess
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path, PurePosixPath
from typing import Any

import pytest

from tests import test_auth, test_database, test_observability
from tests.conftest import Render
from tests.project import CHECKS, RenderedProject
from tests.report import record
from tests.test_database import empty_database
from tests.test_secrets import assert_no_committed_secret
from tests.test_servers import BOOT_TIMEOUT
from tests.variants import Answers, model, variant_group, variant_id

JINJA_MARKERS = re.compile(r"\{\{|\{%|\{#")
# GitHub Actions expressions are `${{ ... }}`, which a rendered workflow keeps.
ACTIONS_EXPRESSION = re.compile(r"\$\{\{.*?\}\}")
WINDOWS_FORBIDDEN = re.compile(r'[<>:"\\|?*\x00-\x1f]')
BANDIT = Path(sys.executable).with_name("bandit")
WINDOWS_RESERVED = frozenset(
    {"con", "prn", "aux", "nul"}
    | {f"com{n}" for n in range(1, 10)}
    | {f"lpt{n}" for n in range(1, 10)}
)


def pytest_generate_tests(metafunc: pytest.Metafunc) -> None:
    """Parametrize `variant` over the pairwise set, or the one variant asked for.

    With `-m full`, the rest of the cartesian set joins as tests marked `full`.
    """
    if "variant" not in metafunc.fixturenames:
        return
    requested = metafunc.config.getoption("--variant-answers")
    variants = [json.loads(requested)] if requested else model().pairwise_variants()
    params = [
        pytest.param(
            variant,
            id=variant_id(variant),
            marks=pytest.mark.xdist_group(variant_group(variant)),
        )
        for variant in variants
    ]
    markexpr = metafunc.config.getoption("markexpr") or ""
    if not requested and "full" in markexpr and "not full" not in markexpr:
        chosen = {variant_id(variant) for variant in variants}
        params += [
            pytest.param(
                variant,
                id=variant_id(variant),
                marks=[
                    pytest.mark.xdist_group(variant_group(variant)),
                    pytest.mark.full,
                ],
            )
            for variant in model().all_variants()
            if variant_id(variant) not in chosen
        ]
    metafunc.parametrize("variant", params)


@contextmanager
def database_env(
    project: RenderedProject, postgres_server_url: str, folder: Path
) -> Iterator[dict[str, str]]:
    """Yield the environment that points `project` at an empty database."""
    if project.answers["database"] == "none":
        yield {}
        return
    with empty_database(project, postgres_server_url, folder) as database_url:
        yield {"DATABASE_URL": database_url}


@pytest.fixture
def project(render: Render, variant: dict[str, Any]) -> RenderedProject:
    """Return the rendered variant, shared by every test of that variant."""
    return render(**variant)


def test_no_jinja_left(project: RenderedProject) -> None:
    for relpath in project.files:
        assert not JINJA_MARKERS.search(relpath), relpath
        assert not relpath.endswith(".jinja"), relpath
        text = (project.path / relpath).read_text(encoding="utf-8")
        if relpath.startswith(".github/"):
            text = ACTIONS_EXPRESSION.sub("", text)
        match = JINJA_MARKERS.search(text)
        assert match is None, f"{relpath}: {text[max(match.start() - 80, 0) :][:160]!r}"


def test_file_names_valid_on_windows(project: RenderedProject) -> None:
    for relpath in project.files:
        for part in PurePosixPath(relpath).parts:
            assert not WINDOWS_FORBIDDEN.search(part), relpath
            assert not part.endswith((".", " ")), relpath
            assert part.split(".")[0].lower() not in WINDOWS_RESERVED, relpath


def test_text_files_use_lf_and_one_newline(project: RenderedProject) -> None:
    for relpath in project.files:
        data = (project.path / relpath).read_bytes()
        if not data:
            continue
        assert b"\r" not in data, f"{relpath} has a carriage return"
        assert data.endswith(b"\n"), f"{relpath} does not end with a newline"
        assert not data.endswith(b"\n\n"), f"{relpath} ends with a blank line"


@pytest.mark.parametrize("check", CHECKS)
def test_check_passes(
    project: RenderedProject, postgres_server_url: str, check: str
) -> None:
    project.check(check, postgres_server_url)


def test_serves_health(
    project: RenderedProject, postgres_server_url: str, tmp_path: Path
) -> None:
    with (
        database_env(project, postgres_server_url, tmp_path) as env,
        project.serve(env=env) as server,
    ):
        # Worker processes each import the application before /health
        # responds, which takes far longer than a single process's boot on
        # a loaded machine.
        response = server.wait_until_healthy(BOOT_TIMEOUT)
        assert response.json() == {"status": "ok"}, response.text
        exit_code = server.stop()
        assert exit_code == 0, server.log()


def test_bandit_finds_no_medium_or_high(
    project: RenderedProject, variant: dict[str, Any]
) -> None:
    sources = [relpath for relpath in project.files if relpath.endswith(".py")]
    completed = subprocess.run(
        [str(BANDIT), "--format", "json", "--quiet", *sources],
        cwd=project.path,
        capture_output=True,
        text=True,
        check=False,
    )
    report = json.loads(completed.stdout)
    assert report["errors"] == [], completed.stdout
    serious = [
        f"{issue['filename']}:{issue['line_number']}: {issue['test_id']} "
        f"{issue['issue_severity']}: {issue['issue_text']}"
        for issue in report["results"]
        if issue["issue_severity"] in {"MEDIUM", "HIGH"}
    ]
    record(
        "bandit",
        variant=variant_id(variant),
        files=len(sources),
        low=len(report["results"]) - len(serious),
        medium_or_high=len(serious),
    )
    assert not serious, "bandit findings:\n" + "\n".join(serious)


def test_no_secret_in_committed_files(project: RenderedProject) -> None:
    assert_no_committed_secret(project.path, project.files)


def param_answers(params: list[Any]) -> list[Answers]:
    """Return the answers of pytest parameters made by `variant_param`."""
    return [param.values[0] for param in params]


def test_every_tier_variant_is_checked() -> None:
    # Answer sets whose checks a tier runs itself, beside the pairwise set.
    checked_by = {
        "pairwise set": model().pairwise_variants(),
        "test_database.py": param_answers(test_database.DATABASE_VARIANTS),
        "test_auth.py": param_answers(test_auth.VARIANTS),
        "test_observability.py": [test_observability.WORKERS_VARIANT],
    }
    checked = {
        variant_group(answers)
        for variants in checked_by.values()
        for answers in variants
    }
    # Variants that tiers render for their behaviour tests but do not check.
    rendered = [
        model().default_variant(),
        test_database.NO_DATABASE,
        *param_answers(test_database.CONCURRENT_VARIANTS),
    ]
    for answers in rendered:
        assert variant_group(answers) in checked, (
            f"no test runs ruff, mypy and the own suite of {answers}"
        )
