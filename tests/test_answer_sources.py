"""`--defaults`, `--data` and `--data-file` render the same answers identically."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
import yaml

from tests.project import REPO_ROOT, project_tree
from tests.variants import model


def copier_copy(destination: Path, *options: str) -> None:
    """Run the `copier copy` command line non-interactively."""
    result = subprocess.run(
        [
            sys.executable,
            "-m",
            "copier",
            "copy",
            "--trust",
            "--quiet",
            "--vcs-ref",
            "HEAD",
            *options,
            str(REPO_ROOT),
            str(destination),
        ],
        capture_output=True,
        text=True,
        stdin=subprocess.DEVNULL,
        check=False,
    )
    assert result.returncode == 0, result.stdout + result.stderr


def data_options(answers: dict[str, Any]) -> list[str]:
    """Turn answers into `--data KEY=VALUE` options, lists as JSON."""
    options = []
    for key, value in answers.items():
        text = json.dumps(value) if isinstance(value, list | bool) else str(value)
        options += ["--data", f"{key}={text}"]
    return options


@pytest.mark.parametrize(
    "answers",
    [
        pytest.param(model().default_variant(), id="default"),
        pytest.param(model().pairwise_variants()[1], id="second-pairwise"),
    ],
)
def test_answer_sources_render_identically(
    tmp_path: Path, answers: dict[str, Any]
) -> None:
    answers_file = tmp_path / "answers.yml"
    answers_file.write_text(yaml.safe_dump(answers), encoding="utf-8")

    copier_copy(tmp_path / "data", "--defaults", *data_options(answers))
    copier_copy(tmp_path / "data-file", "--defaults", "--data-file", str(answers_file))
    data_tree = project_tree(tmp_path / "data")
    data_file_tree = project_tree(tmp_path / "data-file")
    assert data_file_tree == data_tree, "--data-file differs from --data"

    if answers == model().default_variant():
        copier_copy(tmp_path / "defaults", "--defaults")
        assert project_tree(tmp_path / "defaults") == data_tree, "--defaults differs"
