"""Jinja globals that pin the tool and image versions of the generated kit.

The Dockerfile, compose file and CI configurations read these, so one change
here moves every file of a variant together.
"""

from __future__ import annotations

from jinja2 import Environment
from jinja2.ext import Extension

# uv in the image's builder stage and in CI. ghcr.io/astral-sh/uv has an image
# per release, and `<version>-python<X.Y>-trixie-slim` images that uv's GitLab
# guide (docs.astral.sh/uv/guides/integration/gitlab/) uses as job images.
UV_VERSION = "0.13.9"

# PostgreSQL of the local stack and of the CI service containers.
POSTGRES_IMAGE = "postgres:18-trixie"


class VersionsExtension(Extension):
    """Register ``uv_version`` and ``postgres_image`` as Jinja globals."""

    def __init__(self, environment: Environment) -> None:
        """Add the globals to ``environment``."""
        super().__init__(environment)
        environment.globals["uv_version"] = UV_VERSION
        environment.globals["postgres_image"] = POSTGRES_IMAGE
