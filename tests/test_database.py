"""Database variants: each renders, passes its gates and suite on a real database."""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import httpx
import pytest

from tests.conftest import Render
from tests.project import CHECKS, RenderedProject
from tests.variants import variant_group, variant_param


def database_variant(
    database: str, db_api: str, migrations: bool, *marks: pytest.MarkDecorator
) -> object:
    """Return one database variant as a pytest parameter with a short id."""
    answers = {"database": database, "db_api": db_api, "migrations": migrations}
    schema = "migrations" if migrations else "create"
    return variant_param(answers, f"{database}-{db_api}-{schema}", *marks)


# A pairwise set over database, db_api and migrations runs by default; the
# rest of the cartesian set runs with `-m full`. The default variant (sqlite,
# async, migrations) is the first variant of test_matrix.py.
DATABASE_VARIANTS = [
    database_variant("postgresql", "async", True),
    database_variant("postgresql", "sync", False),
    database_variant("sqlite", "async", False),
    database_variant("sqlite", "sync", True),
    database_variant("postgresql", "async", False, pytest.mark.full),
    database_variant("postgresql", "sync", True, pytest.mark.full),
    database_variant("sqlite", "sync", False, pytest.mark.full),
]
# Variants booted with concurrent requests. Each has the default auth (jwt).
CONCURRENT_VARIANTS = [
    database_variant("postgresql", "async", True),
    database_variant("postgresql", "sync", False),
    database_variant("sqlite", "sync", False),
]
# Without a database, which is also an auth variant of test_auth.py.
NO_DATABASE = {"database": "none"}
CONCURRENT_POSTS = 100
# Log lines that mean sessions or connections were shared or exhausted.
CONCURRENCY_ERRORS = (
    "another operation is in progress",
    "MissingGreenlet",
    "QueuePool limit",
    "connection timed out",
    "database is locked",
)


@pytest.fixture(params=DATABASE_VARIANTS)
def database_project(request: pytest.FixtureRequest, render: Render) -> RenderedProject:
    return render(**request.param)


@contextmanager
def empty_database(
    project: RenderedProject, postgres_server_url: str, folder: Path
) -> Iterator[str]:
    """Yield the URL of an empty database of the project's kind, dropped after."""
    if project.answers["database"] == "sqlite":
        yield f"sqlite:///{(folder / 'service.db').as_posix()}"
        return
    with project.postgres_database(postgres_server_url) as url:
        yield url


@pytest.fixture
def database_url(
    database_project: RenderedProject, postgres_server_url: str, tmp_path: Path
) -> Iterator[str]:
    """Yield the URL of an empty database for `database_project`."""
    with empty_database(database_project, postgres_server_url, tmp_path) as url:
        yield url


@pytest.mark.parametrize("check", CHECKS)
def test_database_variant_passes(
    database_project: RenderedProject, postgres_server_url: str, check: str
) -> None:
    database_project.check(check, postgres_server_url)


def test_cli_builds_schema_of_models(
    database_project: RenderedProject, database_url: str
) -> None:
    env = {"DATABASE_URL": database_url}
    slug = database_project.slug
    if not database_project.answers["migrations"]:
        result = database_project.tool(slug, "db", "create", env=env)
        assert result.returncode == 0, result.describe()
        assert "Tables created." in result.output, result.describe()
        return
    upgrade = database_project.tool(slug, "db", "upgrade", env=env)
    assert upgrade.returncode == 0, upgrade.describe()
    check = database_project.tool("alembic", "check", env=env)
    assert check.returncode == 0, check.describe()
    assert "No new upgrade operations detected" in check.output, check.describe()


def test_default_variant_migrations_match_models(
    default_project: RenderedProject, tmp_path: Path
) -> None:
    env = {"DATABASE_URL": f"sqlite:///{(tmp_path / 'service.db').as_posix()}"}
    slug = default_project.slug
    upgrade = default_project.tool(slug, "db", "upgrade", env=env)
    assert upgrade.returncode == 0, upgrade.describe()
    check = default_project.tool("alembic", "check", env=env)
    assert check.returncode == 0, check.describe()

    # Autogenerate writes an empty revision, formatted by the post-write hooks.
    versions = default_project.path / "migrations" / "versions"
    before = set(versions.glob("*.py"))
    revision = default_project.tool(slug, "db", "revision", "-m", "no change", env=env)
    written = set(versions.glob("*.py")) - before
    try:
        assert revision.returncode == 0, revision.describe()
        assert len(written) == 1, revision.describe()
        script = next(iter(written))
        assert "no change" in script.read_text(encoding="utf-8"), revision.describe()
        lint = default_project.tool("ruff", "check", str(script))
        assert lint.returncode == 0, lint.describe()
        formatting = default_project.tool("ruff", "format", "--check", str(script))
        assert formatting.returncode == 0, formatting.describe()
    finally:
        for path in written:
            path.unlink()


@pytest.mark.parametrize("answers", CONCURRENT_VARIANTS)
def test_concurrent_posts_all_succeed(
    render: Render, postgres_server_url: str, tmp_path: Path, answers: dict[str, Any]
) -> None:
    project = render(**answers)
    with empty_database(project, postgres_server_url, tmp_path) as database_url:
        # These variants have the default auth (jwt): open registration lets
        # the test create its user, whose token then signs the posts.
        env = {"DATABASE_URL": database_url, "REGISTRATION_OPEN": "true"}
        command = "upgrade" if answers["migrations"] else "create"
        schema = project.tool(project.slug, "db", command, env=env)
        assert schema.returncode == 0, schema.describe()
        with project.serve(env=env) as server:
            server.wait_until_healthy()
            created, fetched = asyncio.run(post_and_fetch(server.base_url))
            exit_code = server.stop()
        log = server.log()

    failed = [(r.request.method, r.status_code, r.text) for r in created + fetched]
    failed = [item for item in failed if not 200 <= item[1] < 300]
    assert not failed, f"{len(failed)} failed requests, first: {failed[:3]}\n{log}"
    assert len(fetched) == CONCURRENT_POSTS, log
    for error in CONCURRENCY_ERRORS:
        assert error not in log, log
    assert exit_code == 0, log


async def post_and_fetch(
    base_url: str,
) -> tuple[list[httpx.Response], list[httpx.Response]]:
    """Create a user, send the posts all at once, then read each one back."""
    credentials = {"username": "owner@example.com", "password": "long enough"}
    async with httpx.AsyncClient(
        base_url=base_url, timeout=60.0, trust_env=False
    ) as client:
        owner = await client.post(
            "/users", json={"email": "owner@example.com", "password": "long enough"}
        )
        owner.raise_for_status()
        owner_id = owner.json()["id"]
        login = await client.post("/auth/token", data=credentials)
        login.raise_for_status()
        client.headers["Authorization"] = f"Bearer {login.json()['access_token']}"
        created = await asyncio.gather(
            *(
                client.post(
                    "/posts",
                    json={"title": f"Post {n}", "body": "Body", "owner_id": owner_id},
                )
                for n in range(CONCURRENT_POSTS)
            )
        )
        ids = [response.json().get("id") for response in created if response.is_success]
        fetched = await asyncio.gather(*(client.get(f"/posts/{id_}") for id_ in ids))
    return list(created), list(fetched)


@pytest.mark.xdist_group(variant_group(NO_DATABASE))
def test_no_database_renders_no_sqlalchemy(render: Render) -> None:
    project = render(**NO_DATABASE)
    for relpath in project.files:
        text = (project.path / relpath).read_text(encoding="utf-8").lower()
        assert "sqlalchemy" not in text, relpath
        assert "alembic" not in text, relpath
    for name in ("db.py", "models.py", "alembic.ini", "migrations"):
        matches = [relpath for relpath in project.files if name in relpath]
        assert not matches, matches
