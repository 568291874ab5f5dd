"""The answer migrations that `_migrations` entries in copier.yml run."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest
import yaml

from extensions import migrations
from tests.project import REPO_ROOT, commit_all, git

ANSWERS_NAME = ".copier-answers.yml"
ANSWERS = """\
# Changes here will be overwritten by Copier; use `copier update` to change answers.
_commit: v1.0.0
_src_path: gh:example/copier-fastapi
auth:
- jwt
ci: gitlab
ci_extra: kept
database: sqlite
"""


@pytest.fixture
def answers_file(tmp_path: Path) -> Path:
    path = tmp_path / ANSWERS_NAME
    path.write_text(ANSWERS, encoding="utf-8")
    return path


def test_rename_answer_keeps_value_and_layout(answers_file: Path) -> None:
    assert migrations.rename_answer(answers_file, "ci", "ci_service") is True

    text = answers_file.read_text(encoding="utf-8")
    assert text == ANSWERS.replace("\nci: gitlab\n", "\nci_service: gitlab\n"), text
    answers = yaml.safe_load(text)
    assert answers["ci_extra"] == "kept", "a key that starts like the old one changed"
    assert "ci" not in answers, text


def test_rename_answer_renames_list_answer(answers_file: Path) -> None:
    assert migrations.rename_answer(answers_file, "auth", "auth_schemes") is True

    answers = yaml.safe_load(answers_file.read_text(encoding="utf-8"))
    assert answers["auth_schemes"] == ["jwt"], answers


def test_rename_answer_without_old_key_changes_nothing(answers_file: Path) -> None:
    assert migrations.rename_answer(answers_file, "docker", "containers") is False
    assert answers_file.read_text(encoding="utf-8") == ANSWERS


def test_rename_answer_rejects_both_keys(answers_file: Path) -> None:
    with pytest.raises(
        migrations.MigrationError, match="records both 'ci' and 'database'"
    ):
        migrations.rename_answer(answers_file, "ci", "database")
    assert answers_file.read_text(encoding="utf-8") == ANSWERS


def test_rename_answer_rejects_missing_file(tmp_path: Path) -> None:
    missing = tmp_path / ".copier-answers.yml"
    with pytest.raises(migrations.MigrationError, match="not found; run the migr"):
        migrations.rename_answer(missing, "ci", "ci_service")


def test_rename_answer_rejects_flow_style(tmp_path: Path) -> None:
    path = tmp_path / ".copier-answers.yml"
    path.write_text("{ci: gitlab, database: none}\n", encoding="utf-8")
    with pytest.raises(migrations.MigrationError, match="rename the key to 'ci_s"):
        migrations.rename_answer(path, "ci", "ci_service")


def run_script(cwd: Path, *args: str) -> subprocess.CompletedProcess[str]:
    """Run extensions/migrations.py in `cwd` as a `_migrations` command does."""
    script = REPO_ROOT / "extensions" / "migrations.py"
    return subprocess.run(
        [sys.executable, str(script), *args],
        cwd=cwd,
        capture_output=True,
        text=True,
        check=False,
    )


def test_migration_command_line_exit_codes(answers_file: Path) -> None:
    renamed = run_script(answers_file.parent, "rename-answer", "ci", "ci_service")
    assert renamed.returncode == 0, renamed.stderr
    assert "Renamed answer 'ci' to 'ci_service'." in renamed.stderr, renamed.stderr

    conflicting = run_script(
        answers_file.parent, "rename-answer", "ci_service", "database"
    )
    assert conflicting.returncode == 1, conflicting.stderr
    assert conflicting.stderr.startswith("error: answers file"), conflicting.stderr


@pytest.fixture
def project(answers_file: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """Return a committed git repository with an answers file and one module."""
    root = answers_file.parent
    module = root / "src" / "shop" / "schemas.py"
    module.parent.mkdir(parents=True)
    module.write_text("# edited by the user\n", encoding="utf-8")
    answers_file.write_text(ANSWERS + "package_name: shop\n", encoding="utf-8")
    git(root, "init", "--quiet")
    commit_all(root, "Generate the project")
    monkeypatch.chdir(root)
    return root


def test_move_file_moves_with_git(project: Path, answers_file: Path) -> None:
    moved = migrations.move_file(
        answers_file, "src/{package_name}/schemas.py", "src/{package_name}/api/io.py"
    )

    assert moved is True
    target = project / "src" / "shop" / "api" / "io.py"
    assert target.read_text(encoding="utf-8") == "# edited by the user\n"
    assert not (project / "src" / "shop" / "schemas.py").exists(), "old path kept"
    status = git(project, "status", "--porcelain")
    assert "R  src/shop/schemas.py -> src/shop/api/io.py" in status, status


def test_move_file_without_old_file_changes_nothing(
    project: Path, answers_file: Path
) -> None:
    assert migrations.move_file(answers_file, "src/gone.py", "src/new.py") is False
    assert git(project, "status", "--porcelain") == ""


def test_move_file_rejects_existing_target(project: Path, answers_file: Path) -> None:
    with pytest.raises(migrations.MigrationError, match="exists already; move or"):
        migrations.move_file(answers_file, "src/shop/schemas.py", ANSWERS_NAME)
    assert git(project, "status", "--porcelain") == ""


def test_move_file_rejects_unknown_placeholder(
    project: Path, answers_file: Path
) -> None:
    with pytest.raises(migrations.MigrationError, match=r"placeholder \{pkg\}"):
        migrations.move_file(answers_file, "src/{pkg}/schemas.py", "src/a.py")


def test_add_secret_appends_missing_key(tmp_path: Path, answers_file: Path) -> None:
    env_file = tmp_path / ".env"
    env_file.write_text("ENVIRONMENT=development", encoding="utf-8")

    added = migrations.add_secret(answers_file, str(env_file), "SECRET_KEY")

    assert added is True
    lines = env_file.read_text(encoding="utf-8").splitlines()
    assert lines[0] == "ENVIRONMENT=development", lines
    assert lines[1].startswith("SECRET_KEY="), lines
    assert len(lines[1].removeprefix("SECRET_KEY=")) >= 32, lines
    assert len(lines) == 2, lines


def test_add_secret_keeps_existing_key(tmp_path: Path, answers_file: Path) -> None:
    env_file = tmp_path / ".env"
    text = "SECRET_KEY=chosen-by-the-user\nLOG_LEVEL=DEBUG\n"
    env_file.write_text(text, encoding="utf-8")

    assert migrations.add_secret(answers_file, str(env_file), "SECRET_KEY") is False
    assert env_file.read_text(encoding="utf-8") == text
