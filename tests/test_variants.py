"""The variant model: its sets of variants, their coverage and the command line."""

from __future__ import annotations

import json
import subprocess
from pathlib import Path

import pytest
from typer.testing import CliRunner

from tests.project import REPO_ROOT
from tests.test_questionnaire import copy_with
from tests.variants import app, covered_pairs, model, variant_id

# The commands that docs/variants.md shows; CI lists its matrix the same way.
TABLE_COMMAND = "python3 -m uv run python -m tests.variants table --set pairwise"
MATRIX_COMMAND = "python3 -m uv run python -m tests.variants matrix"


def run_documented(command: str) -> subprocess.CompletedProcess[str]:
    """Run a command from the docs in a shell at the repository root."""
    return subprocess.run(
        ["bash", "-c", command],
        cwd=REPO_ROOT,
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )


def test_pairwise_set_covers_every_valid_pair() -> None:
    variants = model()
    missing = covered_pairs(variants.all_variants()) - covered_pairs(
        variants.pairwise_variants()
    )
    assert not missing, f"{len(missing)} pairs uncovered, such as {sorted(missing)[:5]}"


def test_pairwise_set_has_every_answer() -> None:
    pairwise = model().pairwise_variants()
    for question in model().questions:
        seen = {json.dumps(v[question.name]) for v in pairwise if question.name in v}
        for value in question.values:
            assert json.dumps(value) in seen, f"{question.name}={value!r} missing"


def test_pairwise_set_starts_with_default() -> None:
    assert model().pairwise_variants()[0] == model().default_variant()


def test_pairwise_set_is_valid_and_distinct() -> None:
    pairwise = model().pairwise_variants()
    ids = [variant_id(v) for v in pairwise]
    assert len(set(ids)) == len(ids), "the pairwise set repeats a variant"
    for variant in pairwise:
        assert model().error(variant) == "", variant_id(variant)


def test_unasked_questions_left_out() -> None:
    for variant in model().all_variants():
        if variant["database"] == "none":
            assert "db_api" not in variant, variant_id(variant)
            assert "migrations" not in variant, variant_id(variant)


def test_all_variants_rejects_gunicorn_without_uvicorn() -> None:
    for variant in model().all_variants():
        if variant["process_model"] == "gunicorn":
            assert variant["server"] == "uvicorn", variant_id(variant)


@pytest.mark.parametrize("server", ["uvicorn", "hypercorn", "granian"])
@pytest.mark.parametrize("process_model", ["single", "workers", "gunicorn"])
def test_model_agrees_with_copier(
    tmp_path: Path, server: str, process_model: str
) -> None:
    answers = {"server": server, "process_model": process_model}
    expected_error = model().error(answers)
    destination = tmp_path / "project"
    if expected_error:
        with pytest.raises(ValueError, match="Validation error") as error:
            copy_with(destination, **answers)
        assert expected_error in str(error.value), str(error.value)
    else:
        copy_with(destination, **answers)
        assert (destination / "pyproject.toml").is_file(), answers


def test_matrix_command_prints_pairwise_set() -> None:
    result = run_documented(MATRIX_COMMAND)
    assert result.returncode == 0, result.stderr
    matrix = json.loads(result.stdout)
    pairwise = model().pairwise_variants()
    assert len(matrix["include"]) == len(pairwise), result.stdout
    for entry, variant in zip(matrix["include"], pairwise, strict=True):
        assert entry["id"] == variant_id(variant), entry
        assert json.loads(entry["answers"]) == variant, entry


def test_table_command_prints_pairwise_set() -> None:
    result = run_documented(TABLE_COMMAND)
    assert result.returncode == 0, result.stderr
    rows = [line for line in result.stdout.splitlines() if line.startswith("| ")]
    # A header row, then one row per variant.
    assert len(rows) == len(model().pairwise_variants()) + 1, result.stdout
    assert rows[1].startswith("| 1 | 3.11 | uvicorn | single | sqlite |"), rows[1]
    assert f"\n{len(rows) - 1} variants" in result.stdout, result.stdout


def test_table_command_lists_variants() -> None:
    result = CliRunner().invoke(app, ["table", "--set", "default"])
    assert result.exit_code == 0, result.output
    assert "| 1 | 3.11 | uvicorn | single | sqlite |" in result.output, result.output
    assert "1 variants" in result.output, result.output


def test_unknown_set_names_the_choices() -> None:
    result = CliRunner().invoke(app, ["table", "--set", "most"])
    assert result.exit_code == 2, result.output
    assert "'most'" in result.output, result.output
