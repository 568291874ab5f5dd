"""Authentication variants: each auth subset renders clean and passes its own suite."""

from __future__ import annotations

from pathlib import Path

import httpx
import pytest

from tests.conftest import Render
from tests.project import CHECKS, RenderedProject
from tests.test_secrets import read_secret_key
from tests.variants import variant_param

EMAIL = "alice@example.com"
PASSWORD = "correct horse battery staple"

# Every subset of the auth schemes with SQLite, where users and API keys live
# in tables. The default answers (SQLite with jwt) are left out because
# they are the first variant of test_matrix.py.
SQLITE_SUBSETS = [
    [],
    ["basic"],
    ["api_key"],
    ["basic", "jwt"],
    ["basic", "api_key"],
    ["jwt", "api_key"],
    ["basic", "jwt", "api_key"],
]
# Without a database, users and API keys come from settings. These three
# variants cover each scheme once in that store, plus a service without auth.
NO_DATABASE_SUBSETS = [[], ["jwt"], ["basic", "api_key"]]


def auth_variant_param(database: str, auth: list[str]) -> object:
    """Return the answers of one variant as a pytest parameter with a short id."""
    name = "+".join(auth) or "no-auth"
    return variant_param({"database": database, "auth": auth}, f"{database}-{name}")


VARIANTS = [auth_variant_param("sqlite", subset) for subset in SQLITE_SUBSETS] + [
    auth_variant_param("none", subset) for subset in NO_DATABASE_SUBSETS
]


@pytest.fixture(params=VARIANTS)
def auth_variant(request: pytest.FixtureRequest, render: Render) -> RenderedProject:
    """Render one auth variant, shared by every check of that variant."""
    answers: dict[str, object] = request.param
    return render(**answers)


@pytest.mark.parametrize("check", CHECKS)
def test_auth_variant_passes(auth_variant: RenderedProject, check: str) -> None:
    auth_variant.check(check)


def test_auth_variant_files(auth_variant: RenderedProject) -> None:
    auth = auth_variant.answers["auth"]
    assert isinstance(auth, list), auth
    package = f"src/{auth_variant.answers['package_name']}"
    files = auth_variant.files
    has_auth_routes = f"{package}/api/auth.py" in files
    assert has_auth_routes == bool(auth), files
    has_tests = "tests/test_auth.py" in files
    assert has_tests == bool(auth), files
    env = (auth_variant.path / ".env").read_text(encoding="utf-8")
    # Only tokens are signed, so only jwt needs a SECRET_KEY.
    assert ("SECRET_KEY=" in env) == ("jwt" in auth), env


def test_default_variant_login_over_http(
    default_project: RenderedProject, tmp_path: Path
) -> None:
    # A database of this test's own, so its user clashes with no other test.
    env = {"DATABASE_URL": f"sqlite:///{tmp_path / 'auth.db'}"}
    upgrade = default_project.tool(default_project.slug, "db", "upgrade", env=env)
    assert upgrade.returncode == 0, upgrade.describe()
    created = default_project.tool(
        default_project.slug,
        "create-user",
        EMAIL,
        "--password-stdin",
        env=env,
        input=f"{PASSWORD}\n",
    )
    assert created.returncode == 0, created.describe()
    assert PASSWORD not in created.output, created.describe()

    with default_project.serve(env=env) as server:
        server.wait_until_healthy()
        token_url = f"{server.base_url}/auth/token"
        wrong = httpx.post(token_url, data={"username": EMAIL, "password": "nope"})
        assert wrong.status_code == 401, wrong.text
        assert wrong.headers.get("www-authenticate") == "Bearer", wrong.headers

        login = httpx.post(token_url, data={"username": EMAIL, "password": PASSWORD})
        assert login.status_code == 200, login.text
        token = login.json()["access_token"]
        me = httpx.get(
            f"{server.base_url}/users/me",
            headers={"Authorization": f"Bearer {token}"},
        )
        assert me.status_code == 200, me.text
        assert me.json()["email"] == EMAIL, me.text

        assert server.stop() == 0, server.log()
    log = server.log()
    assert PASSWORD not in log, log
    assert token not in log, log
    secret_key = read_secret_key(default_project.path)
    assert secret_key not in log, "the server logged SECRET_KEY"
