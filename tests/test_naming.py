"""The Jinja filters that derive and validate the project's names."""

from __future__ import annotations

import doctest
import importlib.util
import sys
from types import ModuleType

import pytest

from tests.project import REPO_ROOT


def load_naming() -> ModuleType:
    """Import `extensions/naming.py` the way Copier's loader does, by path."""
    path = REPO_ROOT / "extensions" / "naming.py"
    spec = importlib.util.spec_from_file_location("copier_fastapi_naming", path)
    assert spec is not None, path
    assert spec.loader is not None, path
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module
    spec.loader.exec_module(module)
    return module


naming = load_naming()


def test_docstring_examples_hold() -> None:
    failures, attempted = doctest.testmod(naming)
    assert attempted > 0, "naming.py has no doctest examples"
    assert failures == 0, f"{failures} of {attempted} doctest examples failed"


@pytest.mark.parametrize(
    ("name", "slug"),
    [
        ("My Service", "my-service"),
        ("Café Orders", "cafe-orders"),
        ("2024 Billing API", "billing-api"),
        ("1st Service", "service"),
        ("'Quoted' \"Name\"", "quoted-name"),
        ("${PATH} and $(id)", "path-and-id"),
        ("服务", "service"),
        ("---", "service"),
    ],
)
def test_slugify_makes_valid_slugs(name: str, slug: str) -> None:
    assert naming.slugify(name) == slug
    assert naming.project_slug_error(slug) == "", slug


def test_slugify_caps_length_at_word_boundary() -> None:
    slug = naming.slugify("word " * 40)
    assert len(slug) <= naming.MAX_SLUG_LENGTH, slug
    assert not slug.endswith("-"), slug
    assert naming.project_slug_error(slug) == "", slug


def test_slugify_caps_length_of_one_long_word() -> None:
    slug = naming.slugify("x" * 200)
    assert slug == "x" * naming.MAX_SLUG_LENGTH, slug


@pytest.mark.parametrize(
    ("slug", "package"),
    [
        ("orders-api", "orders_api"),
        ("json", "json_service"),
        ("fastapi", "fastapi_service"),
        ("test", "test_service"),
        ("match", "match_service"),
    ],
)
def test_package_default_avoids_shadowing(slug: str, package: str) -> None:
    assert naming.to_package_name(slug) == package
    assert naming.package_name_error(package) == "", package


@pytest.mark.parametrize(
    ("package", "reason"),
    [
        ("json", "standard-library module 'json'"),
        ("test", "standard-library module 'test'"),
        ("fastapi", "module 'fastapi' that generated projects use"),
        ("sqlalchemy", "module 'sqlalchemy' that generated projects use"),
        ("class", "Python keyword"),
        ("match", "Python keyword"),
        ("My-Package", "not a valid package name"),
        ("1abc", "not a valid package name"),
        ("", "not a valid package name"),
    ],
)
def test_package_name_error_names_value_and_reason(package: str, reason: str) -> None:
    message = naming.package_name_error(package)
    assert f"package_name {package!r}" in message, message
    assert reason in message, message


@pytest.mark.parametrize("slug", ["Bad_Slug", "-lead", "trail-", "a--b", "9lives", ""])
def test_project_slug_error_names_value(slug: str) -> None:
    message = naming.project_slug_error(slug)
    assert f"project_slug {slug!r}" in message, message


@pytest.mark.parametrize("name", ["", "   ", "two\nlines", "x" * 201])
def test_project_name_error_rejects(name: str) -> None:
    assert naming.project_name_error(name).startswith("project_name"), name


def test_project_name_error_accepts_200_characters() -> None:
    assert naming.project_name_error("x" * 200) == ""


@pytest.mark.parametrize("email", ["not-an-email", "a@b", "two@@example.com"])
def test_email_error_rejects(email: str) -> None:
    assert f"author_email {email!r}" in naming.email_error(email)


@pytest.mark.parametrize("email", ["", "team@example.com"])
def test_email_error_accepts(email: str) -> None:
    assert naming.email_error(email) == ""
