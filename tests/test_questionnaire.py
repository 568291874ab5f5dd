"""The questionnaire in copier.yml: its contract and how it rejects bad answers."""

from __future__ import annotations

import ast
import tomllib
from pathlib import Path

import copier
import pytest
import yaml

from tests.project import COPIER_YML, REPO_ROOT

# The stable questionnaire contract: key -> (type, choices or None, default).
CONTRACT: dict[str, tuple[str, list[str] | None, object]] = {
    "project_name": ("str", None, "My Service"),
    "project_slug": ("str", None, "{{ project_name | slugify }}"),
    "package_name": ("str", None, "{{ project_slug | to_package_name }}"),
    "description": ("str", None, ""),
    "author_name": ("str", None, ""),
    "author_email": ("str", None, ""),
    "python_version": ("str", ["3.11", "3.12", "3.13", "3.14"], "3.11"),
    "server": ("str", ["uvicorn", "hypercorn", "granian"], "uvicorn"),
    "process_model": ("str", ["single", "workers", "gunicorn"], "single"),
    "database": ("str", ["none", "sqlite", "postgresql"], "sqlite"),
    "db_api": ("str", ["async", "sync"], "async"),
    "migrations": ("bool", None, True),
    "auth": ("str", ["basic", "jwt", "api_key"], ["jwt"]),
    "docker": ("bool", None, True),
    "ci": ("str", ["github", "gitlab", "none"], "github"),
    "opentelemetry": ("bool", None, False),
}


def questions() -> dict[str, dict[str, object]]:
    """Return the questions of copier.yml, without settings or computed values.

    A computed value has `when: false`: Copier never asks it and never stores
    it in the answers file.
    """
    config = yaml.safe_load(COPIER_YML.read_text(encoding="utf-8"))
    return {
        key: spec
        for key, spec in config.items()
        if not key.startswith("_") and spec.get("when") is not False
    }


def choice_values(spec: dict[str, object]) -> list[str] | None:
    """Return the values of a question's choices, whether a list or a mapping."""
    choices = spec.get("choices")
    if choices is None:
        return None
    if isinstance(choices, dict):
        return [str(value) for value in choices.values()]
    assert isinstance(choices, list), choices
    return [str(value) for value in choices]


def test_questions_match_contract() -> None:
    declared = questions()
    assert list(declared) == list(CONTRACT), "questions differ from the contract"
    for key, (kind, choices, default) in CONTRACT.items():
        spec = declared[key]
        assert spec.get("type") == kind, f"{key}: type {spec.get('type')!r}"
        assert choice_values(spec) == choices, f"{key}: choices {spec.get('choices')}"
        assert spec.get("default") == default, f"{key}: default {spec.get('default')!r}"


def test_every_question_has_help() -> None:
    for key, spec in questions().items():
        assert str(spec.get("help", "")).strip(), f"{key} has no help text"


def test_auth_is_multiselect() -> None:
    assert questions()["auth"].get("multiselect") is True


def copy_with(destination: Path, **answers: object) -> None:
    """Copy the template non-interactively with `answers` over the defaults."""
    copier.run_copy(
        str(REPO_ROOT),
        destination,
        data=answers,
        defaults=True,
        unsafe=True,
        vcs_ref="HEAD",
        quiet=True,
    )


@pytest.mark.parametrize(
    ("answers", "expected"),
    [
        ({"package_name": "json"}, "package_name 'json' shadows the standard-library"),
        ({"package_name": "test"}, "package_name 'test' shadows the standard-library"),
        ({"package_name": "fastapi"}, "package_name 'fastapi' shadows the module"),
        ({"package_name": "class"}, "package_name 'class' is a Python keyword"),
        ({"package_name": "my-pkg"}, "package_name 'my-pkg' is not a valid"),
        ({"project_slug": "My_Slug"}, "project_slug 'My_Slug' is not a valid"),
        ({"project_name": ""}, "project_name is empty"),
        ({"author_email": "nobody"}, "author_email 'nobody' is not an email"),
        (
            {"server": "hypercorn", "process_model": "gunicorn"},
            "process_model 'gunicorn' runs Uvicorn workers only, but server is "
            "'hypercorn'",
        ),
        (
            {"server": "granian", "process_model": "gunicorn"},
            "process_model 'gunicorn' runs Uvicorn workers only, but server is "
            "'granian'",
        ),
    ],
)
def test_invalid_answers_rejected_before_render(
    tmp_path: Path, answers: dict[str, object], expected: str
) -> None:
    destination = tmp_path / "project"
    with pytest.raises(ValueError, match="Validation error") as error:
        copy_with(destination, **answers)
    assert expected in str(error.value), str(error.value)
    assert not destination.exists() or not any(destination.iterdir()), (
        f"files were written: {sorted(destination.rglob('*'))}"
    )


def test_gunicorn_message_names_working_choices(tmp_path: Path) -> None:
    with pytest.raises(ValueError, match="Validation error") as error:
        copy_with(tmp_path / "p", server="granian", process_model="gunicorn")
    message = str(error.value)
    assert "'single' or 'workers'" in message, message
    assert "server 'uvicorn'" in message, message


@pytest.mark.parametrize(
    ("project_name", "slug", "package"),
    [
        ('Café "Orders" API', "cafe-orders-api", "cafe_orders_api"),
        ("${PATH} $(id) `id`", "path-id-id", "path_id_id"),
        ("1st Service", "service", "service"),
        ("Json", "json", "json_service"),
        ("Word " * 40, "word-" * 12 + "word", ("word_" * 12) + "word"),
    ],
)
def test_hostile_project_names_render(
    tmp_path: Path, project_name: str, slug: str, package: str
) -> None:
    destination = tmp_path / "project"
    copy_with(destination, project_name=project_name)

    pyproject = tomllib.loads((destination / "pyproject.toml").read_text("utf-8"))
    assert pyproject["project"]["name"] == slug, pyproject["project"]
    assert slug in pyproject["project"]["scripts"], pyproject["project"]["scripts"]

    package_dir = destination / "src" / package
    assert package_dir.is_dir(), sorted(p.name for p in (destination / "src").iterdir())
    main_source = (package_dir / "main.py").read_text("utf-8")
    tree = ast.parse(main_source)
    titles = [
        keyword.value.value
        for node in ast.walk(tree)
        if isinstance(node, ast.Call)
        for keyword in node.keywords
        if keyword.arg == "title" and isinstance(keyword.value, ast.Constant)
    ]
    assert titles == [project_name], main_source
