"""Booting the default variant with its `serve` command over real HTTP."""

from __future__ import annotations

import httpx

from tests.project import RenderedProject


def test_serve_answers_health_and_stops_on_sigterm(
    default_project: RenderedProject,
) -> None:
    with default_project.serve() as server:
        response = server.wait_until_healthy()
        assert response.json() == {"status": "ok"}, response.text

        docs = httpx.get(f"{server.base_url}/docs", timeout=5.0)
        assert docs.status_code == 200, docs.text

        exit_code = server.stop()
        assert exit_code == 0, server.log()
        assert "Application shutdown complete." in server.log(), server.log()
