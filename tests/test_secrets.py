"""The secret key written at copy time."""

from __future__ import annotations

from pathlib import Path

import copier
import pytest

from tests.project import REPO_ROOT
from tests.test_questionnaire import copy_with


def read_secret_key(project: Path) -> str:
    """Return the SECRET_KEY value from the project's `.env`."""
    for line in (project / ".env").read_text(encoding="utf-8").splitlines():
        if line.startswith("SECRET_KEY="):
            return line.removeprefix("SECRET_KEY=")
    raise AssertionError(f"no SECRET_KEY in {project / '.env'}")


def test_each_copy_gets_its_own_secret_key(tmp_path: Path) -> None:
    first, second = tmp_path / "first", tmp_path / "second"
    copy_with(first)
    copy_with(second)
    first_key, second_key = read_secret_key(first), read_secret_key(second)
    assert len(first_key) >= 32, "SECRET_KEY is shorter than 32 characters"
    assert first_key != second_key, "two copies share one SECRET_KEY"


def test_secret_key_stays_out_of_tracked_files(tmp_path: Path) -> None:
    project = tmp_path / "project"
    copy_with(project)
    key = read_secret_key(project)
    assert ".env\n" in (project / ".gitignore").read_text("utf-8"), ".env not ignored"
    for path in project.rglob("*"):
        if path.is_file() and path.name != ".env":
            assert key not in path.read_text("utf-8"), f"SECRET_KEY found in {path}"


def test_secret_key_stays_out_of_answers_and_output(
    tmp_path: Path, capfd: pytest.CaptureFixture[str]
) -> None:
    project = tmp_path / "project"
    copier.run_copy(str(REPO_ROOT), project, defaults=True, unsafe=True, vcs_ref="HEAD")
    output = capfd.readouterr()
    key = read_secret_key(project)
    answers = (project / ".copier-answers.yml").read_text("utf-8")
    assert key not in answers, "SECRET_KEY found in the answers file"
    assert "auth_store" not in answers, "a computed value was stored as an answer"
    assert key not in output.out, "copier printed SECRET_KEY"
    assert key not in output.err, "copier printed SECRET_KEY"
