"""Jinja globals that generate secrets at copy time."""

from __future__ import annotations

import secrets

from jinja2 import Environment
from jinja2.ext import Extension


def random_secret(nbytes: int = 48) -> str:
    """Return a URL-safe random string built from ``nbytes`` random bytes."""
    return secrets.token_urlsafe(nbytes)


class TokensExtension(Extension):
    """Register ``random_secret()`` with Copier's Jinja environment."""

    def __init__(self, environment: Environment) -> None:
        """Add the global to ``environment``."""
        super().__init__(environment)
        environment.globals["random_secret"] = random_secret
