"""`copier update` of generated projects across two template releases.

Each test module run builds a template repository from a copy of this checkout:
the copy as it is becomes release v1.0.0, and a controlled change on top of it
becomes v2.0.0. The change touches no file that other template work edits, so
the tests hold whatever the template renders:

- `README.md` gets a new last line, and a new file `RELEASE.txt` appears;
- `NOTES.md`, which the test adds to release 1.0.0, moves to `docs/NOTES.md`,
  with a `_migrations` entry that runs `extensions/migrations.py move-file`;
- a new question, `release_note`, has a default that `RELEASE.txt` renders;
- the question `ci` is renamed to `ci_service`, with a `_migrations` entry that
  runs `extensions/migrations.py rename-answer ci ci_service`, and a computed
  `ci` keeps the template's own references to `ci` working.

Projects are real git repositories, rendered at v1.0.0 and committed.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import copier
import pytest
import yaml
from copier.errors import UserMessageError

from tests.project import (
    GIT_ENV,
    REPO_ROOT,
    RenderedProject,
    commit_all,
    git,
    project_tree,
)
from tests.test_secrets import read_secret_key

V1, V2 = "v1.0.0", "v2.0.0"
RELEASE_LINE = "Release 2.0.0 adds this line."
# A file of release 1.0.0 that release 2.0.0 moves to docs/NOTES.md.
NOTES = "# Notes\n\nRelease 1.0.0 writes this file at the root.\n"
# What a copy of this checkout leaves out: git data, environments and caches
# anywhere, and build output at the top. None of them is part of a release.
LOCAL_FOLDERS = frozenset(
    {".git", ".venv", "__pycache__", ".pytest_cache", ".mypy_cache", ".ruff_cache"}
)
BUILD_OUTPUT = frozenset({"site", "benchmarks/results"})
# Answers every project starts from: `ci` differs from its default, so that a
# lost answer shows up after the rename to `ci_service`.
BASE_ANSWERS: dict[str, Any] = {"project_name": "Update Check", "ci": "gitlab"}
VARIANTS = {
    "sqlite-jwt": {"database": "sqlite", "auth": ["jwt"]},
    "no-database-no-auth": {"database": "none", "auth": []},
}


def ignore_local_files(folder: str, names: list[str]) -> set[str]:
    """Return the `names` in `folder` that a copy of this checkout leaves out."""
    relative = Path(folder).relative_to(REPO_ROOT)
    return {
        name
        for name in names
        if name in LOCAL_FOLDERS or (relative / name).as_posix() in BUILD_OUTPUT
    }


def before_migration(*args: str) -> dict[str, Any]:
    """Return a `_migrations` entry of release 2.0.0 that runs migrations.py."""
    return {
        "version": V2,
        "command": [
            "{{ _copier_python }}",
            "{{ _copier_conf.src_path }}/extensions/migrations.py",
            *args,
        ],
        "when": "{{ _stage == 'before' }}",
    }


def release_two(config: dict[str, Any]) -> dict[str, Any]:
    """Return copier.yml of release 2.0.0.

    `ci` becomes `ci_service`, `release_note` is new, and two migrations carry
    the `ci` answer and the moved NOTES.md over.
    """
    changed: dict[str, Any] = {}
    for key, value in config.items():
        if key == "ci":
            changed["ci_service"] = value
            changed["ci"] = {
                "type": "str",
                "default": "{{ ci_service }}",
                "when": False,
            }
        else:
            changed[key] = value
    changed["_migrations"] = [
        *config.get("_migrations", []),
        before_migration("rename-answer", "ci", "ci_service"),
        before_migration("move-file", "NOTES.md", "docs/NOTES.md"),
    ]
    changed["release_note"] = {
        "type": "str",
        "help": "Text of RELEASE.txt",
        "default": "first release with a release note",
    }
    return changed


@pytest.fixture(scope="module")
def template_repo(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Build a template repository with the releases v1.0.0 and v2.0.0."""
    repo = tmp_path_factory.mktemp("template") / "copier-fastapi"
    shutil.copytree(REPO_ROOT, repo, ignore=ignore_local_files)
    (repo / "template" / "NOTES.md").write_text(NOTES, encoding="utf-8")
    git(repo, "init", "--quiet")
    commit_all(repo, "Release 1.0.0")
    git(repo, "tag", V1)

    # Release 2.0.0: a changed rendered file, a new file, a moved file, a new
    # question and a renamed question.
    readme = repo / "template" / "README.md.jinja"
    text = readme.read_text(encoding="utf-8")
    readme.write_text(f"{text.rstrip()}\n\n{RELEASE_LINE}\n", encoding="utf-8")
    (repo / "template" / "RELEASE.txt.jinja").write_text(
        "CI service: {{ ci_service }}\nRelease note: {{ release_note }}\n",
        encoding="utf-8",
    )
    (repo / "template" / "docs").mkdir(exist_ok=True)
    git(repo, "mv", "template/NOTES.md", "template/docs/NOTES.md")
    copier_yml = repo / "copier.yml"
    config = yaml.safe_load(copier_yml.read_text(encoding="utf-8"))
    copier_yml.write_text(
        yaml.safe_dump(release_two(config), sort_keys=False), encoding="utf-8"
    )
    commit_all(repo, "Release 2.0.0")
    git(repo, "tag", V2)
    return repo


@dataclass
class Project:
    """A project rendered from the test template and committed to git."""

    path: Path
    answers: dict[str, Any]
    env_at_copy: str = ""  # `.env` as the copy wrote it

    def update(self, **options: Any) -> None:
        """Update the project to v2.0.0 with its recorded answers, without prompts.

        `options` override the arguments of `copier.run_update`, such as `data`.
        """
        copier.run_update(
            str(self.path),
            **{
                "vcs_ref": V2,
                "defaults": True,
                "overwrite": True,
                "unsafe": True,
                "conflict": "inline",
                "quiet": True,
                **options,
            },
        )

    def recorded_answers(self) -> dict[str, Any]:
        """Return the answers file as a mapping."""
        text = (self.path / ".copier-answers.yml").read_text(encoding="utf-8")
        answers: dict[str, Any] = yaml.safe_load(text)
        return answers


def render(
    template: Path, destination: Path, answers: Mapping[str, Any], vcs_ref: str
) -> Path:
    """Render `template` at `vcs_ref` into `destination` without git."""
    copier.run_copy(
        str(template),
        str(destination),
        data=dict(answers),
        vcs_ref=vcs_ref,
        defaults=True,
        unsafe=True,
        quiet=True,
    )
    return destination


def new_project(
    template: Path, destination: Path, answers: Mapping[str, Any]
) -> Project:
    """Render `template` at v1.0.0 into a new git repository and commit it."""
    render(template, destination, answers, V1)
    git(destination, "init", "--quiet")
    commit_all(destination, "Generate the project at v1.0.0")
    env = (destination / ".env").read_text(encoding="utf-8")
    return Project(destination, dict(answers), env)


def unmerged_paths(project: Path) -> set[str]:
    """Return the paths that git's index records as unmerged."""
    lines = git(project, "ls-files", "--unmerged").splitlines()
    return {line.split("\t", 1)[1] for line in lines}


def reject_files(project: Path) -> list[str]:
    """Return the `.rej` files below `project`."""
    return [path.relative_to(project).as_posix() for path in project.rglob("*.rej")]


@pytest.fixture(params=list(VARIANTS), scope="module")
def answers(request: pytest.FixtureRequest) -> dict[str, Any]:
    """Return the answers of one variant, one with a database and auth, one not."""
    return {**BASE_ANSWERS, **VARIANTS[request.param]}


def user_edits(project: Project) -> dict[str, str]:
    """Return the edits a user makes at v1.0.0: relative path -> new text.

    `README.md` gets a last line of its own, where release 2.0.0 adds another,
    so that file conflicts; release 2.0.0 leaves the other edited files alone.
    """
    main_py = project.path / "src" / "update_check" / "main.py"
    return {
        "src/update_check/main.py": main_py.read_text(encoding="utf-8")
        + "\n# Kept by updates: the template leaves this file alone.\n",
        "docs/decisions.md": "# Decisions\n\nWe write our own docs here.\n",
        ".env": project.env_at_copy + "LOG_LEVEL=DEBUG\n",
        "README.md": (project.path / "README.md").read_text(encoding="utf-8")
        + "\nOur own last line.\n",
        "NOTES.md": NOTES + "Our own note.\n",
    }


@dataclass
class UpdatedProject:
    """A project updated to v2.0.0, after the user's committed edits if any."""

    project: Project
    edits: dict[str, str]  # relative path -> text the user left in it


def update_project(
    template_repo: Path, answers: dict[str, Any], folder: Path, edit: bool
) -> UpdatedProject:
    """Render a project at v1.0.0, commit `user_edits` if `edit`, and update it."""
    project = new_project(template_repo, folder, answers)
    edits = user_edits(project) if edit else {}
    for name, text in edits.items():
        path = project.path / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text, encoding="utf-8")
    if edits:
        commit_all(project.path, "Edit the project")
    project.update()
    return UpdatedProject(project, edits)


@pytest.fixture(scope="module")
def updated(
    template_repo: Path,
    answers: dict[str, Any],
    tmp_path_factory: pytest.TempPathFactory,
) -> dict[str, UpdatedProject]:
    """Return two projects updated to v2.0.0: "untouched" and "edited" by a user."""
    return {
        kind: update_project(
            template_repo,
            answers,
            tmp_path_factory.mktemp(kind) / "project",
            edit=kind == "edited",
        )
        for kind in ("untouched", "edited")
    }


def test_untouched_update_equals_fresh_copy(
    updated: dict[str, UpdatedProject], template_repo: Path, tmp_path: Path
) -> None:
    untouched = updated["untouched"].project
    fresh_answers = {**untouched.answers, "ci_service": untouched.answers["ci"]}
    del fresh_answers["ci"]
    fresh = render(template_repo, tmp_path / "fresh", fresh_answers, V2)

    updated_tree = project_tree(untouched.path)
    fresh_tree = project_tree(fresh)
    assert sorted(updated_tree) == sorted(fresh_tree), "file lists differ"
    for name, text in fresh_tree.items():
        assert updated_tree[name] == text, f"{name} differs from a fresh v2 copy"
    assert unmerged_paths(untouched.path) == set(), "update left unmerged paths"
    assert reject_files(untouched.path) == [], "update left .rej files"

    # `.env` is the user's after the copy: update keeps it, secret key included.
    env = (untouched.path / ".env").read_text(encoding="utf-8")
    assert env == untouched.env_at_copy, f"update changed .env:\n{env}"
    if "jwt" in untouched.answers["auth"]:
        key = read_secret_key(untouched.path)
        assert f"SECRET_KEY={key}\n" in untouched.env_at_copy, "SECRET_KEY changed"


def test_renamed_question_keeps_answer(updated: dict[str, UpdatedProject]) -> None:
    untouched = updated["untouched"].project
    recorded = untouched.recorded_answers()
    assert recorded.get("ci_service") == "gitlab", f"answers file: {recorded}"
    assert "ci" not in recorded, f"old key kept in the answers file: {recorded}"
    assert recorded.get("_commit") == V2, f"answers file: {recorded}"
    release = (untouched.path / "RELEASE.txt").read_text(encoding="utf-8")
    assert "CI service: gitlab\n" in release, release
    assert "Release note: first release" in release, release


def test_edits_in_unchanged_files_survive(updated: dict[str, UpdatedProject]) -> None:
    edited = updated["edited"]
    path = edited.project.path
    for name in ("src/update_check/main.py", "docs/decisions.md", ".env"):
        text = (path / name).read_text(encoding="utf-8")
        assert text == edited.edits[name], f"update changed the user's {name}:\n{text}"
    assert (path / "RELEASE.txt").is_file(), "update did not add RELEASE.txt"
    status = git(path, "status", "--porcelain", "--", "src", "docs/decisions.md")
    assert status == "", f"update touched files the template left alone:\n{status}"


def test_conflicting_edit_is_marked_inline(updated: dict[str, UpdatedProject]) -> None:
    edited = updated["edited"]
    path = edited.project.path
    readme = (path / "README.md").read_text(encoding="utf-8")
    for marker in ("<<<<<<< before updating", "=======", ">>>>>>> after updating"):
        assert f"\n{marker}\n" in readme, f"no {marker!r} in README.md:\n{readme}"
    assert "Our own last line." in readme, f"user's line lost:\n{readme}"
    assert RELEASE_LINE in readme, f"template's line missing:\n{readme}"
    assert unmerged_paths(path) == {"README.md", "docs/NOTES.md"}, git(
        path, "status", "--porcelain"
    )
    assert reject_files(path) == [], "update left .rej files"


def test_moved_file_keeps_edits(updated: dict[str, UpdatedProject]) -> None:
    edited = updated["edited"]
    path = edited.project.path
    assert not (path / "NOTES.md").exists(), "update kept the old path"
    # The migration moved the user's file before the merge, which has no
    # common base for the new path: the user's line shows as a conflict.
    notes = (path / "docs" / "NOTES.md").read_text(encoding="utf-8")
    assert "\nOur own note.\n" in notes, f"user's note lost:\n{notes}"
    assert "Release 1.0.0 writes this file" in notes, notes


# Answer changes during update, as (answers at copy, answers passed to update):
# the variant with a database and auth drops both, the one without gains them.
ANSWER_CHANGES = {
    "sqlite-jwt": (
        {"database": "postgresql", "auth": ["jwt"]},
        {"database": "none", "auth": ["api_key"]},
    ),
    "no-database-no-auth": (
        {"database": "none", "auth": []},
        {"database": "sqlite", "auth": ["jwt"]},
    ),
}


@pytest.mark.parametrize("variant", list(ANSWER_CHANGES))
def test_changed_answers_match_fresh_copy(
    template_repo: Path, tmp_path: Path, variant: str
) -> None:
    start, change = ANSWER_CHANGES[variant]
    project = new_project(template_repo, tmp_path / "project", BASE_ANSWERS | start)
    db_py = project.path / "src" / "update_check" / "db.py"
    had_database = start["database"] != "none"
    assert db_py.is_file() == had_database, f"db.py before the update: {start}"

    project.update(data=change)

    # The update leaves the files that a fresh copy with the new answers has.
    fresh_answers = {**project.answers, **change, "ci_service": project.answers["ci"]}
    del fresh_answers["ci"]
    fresh = project_tree(render(template_repo, tmp_path / "fresh", fresh_answers, V2))
    updated = project_tree(project.path)
    assert sorted(updated) == sorted(fresh), "file lists differ from a fresh copy"
    for name, text in fresh.items():
        if name != ".env":
            assert updated[name] == text, f"{name} differs from a fresh v2 copy"
    # `.env` keeps its lines; turning jwt on adds the key a copy would write.
    env = (project.path / ".env").read_text(encoding="utf-8")
    assert env.startswith(project.env_at_copy), f"update changed .env:\n{env}"
    added = env.removeprefix(project.env_at_copy)
    if "jwt" in change["auth"] and "jwt" not in start["auth"]:
        assert len(read_secret_key(project.path)) >= 32, f"short SECRET_KEY:\n{env}"
        assert added.count("\n") == 1, f"update added more than the key:\n{env}"
    else:
        assert added == "", f"update added to .env:\n{env}"
    assert db_py.is_file() == (not had_database), f"db.py after the update: {change}"
    pyproject = (project.path / "pyproject.toml").read_text(encoding="utf-8")
    assert ("sqlalchemy" in pyproject.lower()) == (not had_database), pyproject
    recorded = project.recorded_answers()
    for key, value in change.items():
        assert recorded.get(key) == value, f"answers file: {recorded}"

    # The project's own suite passes with the new answers.
    RenderedProject(project.path, recorded).check("own suite")


@pytest.mark.parametrize("in_git", [True, False], ids=["uncommitted", "outside-git"])
def test_update_refuses_unsafe_destination(
    template_repo: Path, answers: dict[str, Any], tmp_path: Path, in_git: bool
) -> None:
    destination = tmp_path / "project"
    if in_git:
        project = new_project(template_repo, destination, answers)
        readme = destination / "README.md"
        readme.write_text(readme.read_text("utf-8") + "Not committed.\n", "utf-8")
        expected = "Destination repository is dirty"
        git_state = git(destination, "status", "--porcelain") + git(
            destination, "rev-parse", "HEAD"
        )
    else:
        render(template_repo, destination, answers, V1)
        project = Project(destination, dict(answers))
        expected = "only supported in git-tracked subprojects"
        git_state = ""
    before = project_tree(destination, masked=False)

    with pytest.raises(UserMessageError, match=expected):
        project.update()

    assert project_tree(destination, masked=False) == before, "update changed files"
    if in_git:
        after = git(destination, "status", "--porcelain") + git(
            destination, "rev-parse", "HEAD"
        )
        assert after == git_state, "update changed the git state"
    else:
        assert not (destination / ".git").exists(), "update created a repository"


# The commands that docs/updating.md shows, with the answers each must record.
DOCUMENTED_UPDATES = {
    "copier update --trust --defaults": {},
    "copier update --trust --defaults --vcs-ref v2.0.0": {},
    "copier update --trust --defaults --data database=none --data "
    "'auth=[\"api_key\"]'": {"database": "none", "auth": ["api_key"]},
}


@pytest.mark.parametrize("command", list(DOCUMENTED_UPDATES))
def test_documented_update_command(
    template_repo: Path, tmp_path: Path, command: str
) -> None:
    project = new_project(
        template_repo, tmp_path / "project", BASE_ANSWERS | VARIANTS["sqlite-jwt"]
    )
    # The shell finds the `copier` of this test run, which has the extensions
    # package that the template needs.
    path = os.pathsep.join([str(Path(sys.executable).parent), os.environ["PATH"]])
    result = subprocess.run(
        ["bash", "-c", command],
        cwd=project.path,
        env={**os.environ, **GIT_ENV, "PATH": path},
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )

    assert result.returncode == 0, result.stdout + result.stderr
    recorded = project.recorded_answers()
    assert recorded.get("_commit") == V2, f"answers file: {recorded}"
    for key, value in DOCUMENTED_UPDATES[command].items():
        assert recorded.get(key) == value, f"answers file: {recorded}"
    assert (project.path / "RELEASE.txt").is_file(), result.stderr
    assert unmerged_paths(project.path) == set(), result.stderr
