"""The template repository's own GitHub workflow, which runs the variant matrix."""

from __future__ import annotations

import subprocess
import sys

import yaml

from tests.project import REPO_ROOT

WORKFLOW = REPO_ROOT / ".github" / "workflows" / "ci.yml"


def test_workflow_matches_github_schema() -> None:
    result = subprocess.run(
        [
            sys.executable,
            "-m",
            "check_jsonschema",
            "--builtin-schema",
            "vendor.github-workflows",
            str(WORKFLOW),
        ],
        capture_output=True,
        text=True,
        check=False,
    )
    assert result.returncode == 0, result.stdout + result.stderr


def test_workflow_runs_matrix_from_variant_command() -> None:
    jobs = yaml.safe_load(WORKFLOW.read_text(encoding="utf-8"))["jobs"]
    listing = "\n".join(step.get("run", "") for step in jobs["variants"]["steps"])
    assert "python -m tests.variants matrix" in listing, listing

    variant = jobs["variant"]
    assert variant["strategy"]["matrix"] == (
        "${{ fromJSON(needs.variants.outputs.matrix) }}"
    ), variant["strategy"]
    commands = "\n".join(step.get("run", "") for step in variant["steps"])
    assert "--variant-answers" in commands, commands
    assert "postgres" in variant["services"], variant


def test_ci_jobs_run_readme_command() -> None:
    jobs = yaml.safe_load(WORKFLOW.read_text(encoding="utf-8"))["jobs"]
    commands = [step.get("run", "") for step in jobs["suite"]["steps"]]
    assert "bash .ci/run" in commands, commands
