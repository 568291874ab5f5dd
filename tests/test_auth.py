"""Authentication variants: each auth subset renders clean and passes its own suite."""

from __future__ import annotations

import pytest

from tests.conftest import Render
from tests.project import RenderedProject

# Every subset of the auth schemes with SQLite, where users and API keys live
# in tables. The default answers (SQLite with jwt) are left out because
# test_render.py already checks that variant.
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


def variant(database: str, auth: list[str]) -> object:
    """Return the answers of one variant as a pytest parameter with a short id."""
    name = "+".join(auth) or "no-auth"
    return pytest.param({"database": database, "auth": auth}, id=f"{database}-{name}")


VARIANTS = [variant("sqlite", subset) for subset in SQLITE_SUBSETS] + [
    variant("none", subset) for subset in NO_DATABASE_SUBSETS
]
CHECKS = {
    "ruff check": ("ruff", "check", "."),
    "ruff format": ("ruff", "format", "--check", "--diff", "."),
    "mypy strict": ("mypy",),
    "own suite": ("pytest", "-q", "-p", "no:cacheprovider"),
}


@pytest.fixture(params=VARIANTS)
def auth_variant(request: pytest.FixtureRequest, render: Render) -> RenderedProject:
    """Render one auth variant, shared by every check of that variant."""
    answers: dict[str, object] = request.param
    return render(**answers)


@pytest.mark.parametrize("check", list(CHECKS))
def test_auth_variant_passes(auth_variant: RenderedProject, check: str) -> None:
    result = auth_variant.tool(*CHECKS[check])
    assert result.returncode == 0, result.describe()


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
