"""The documentation site: a strict build, generated pages and tested commands."""

from __future__ import annotations

import ast
import html
import re
import subprocess
import sys
from pathlib import Path

import pytest

from tests.project import REPO_ROOT
from tests.test_readme import quick_start_commands
from tests.variants import model

DOCS = REPO_ROOT / "docs"
TESTS = REPO_ROOT / "tests"
DOCUMENTED_FILES = [*sorted(DOCS.glob("*.md")), REPO_ROOT / "README.md"]
# A fenced shell block: its indentation, language and body. The closing fence
# has the same indentation, so blocks inside list items are found too.
SHELL_BLOCK = re.compile(
    r"^(?P<indent>[ \t]*)```(?P<lang>sh|bash|console)[ \t]*\n(?P<body>.*?)"
    r"^(?P=indent)```",
    re.MULTILINE | re.DOTALL,
)
# Commands that the docs show but no test can run here, each with the reason.
# Every other command in a shell block must be a string literal of a test
# file that runs it.
NOT_RUN_BY_TESTS = {
    "python3 -m uv run python -m benchmarks": (
        "the full benchmark run takes over half an hour on 2 cores; "
        "test_benchmarks.py runs the same command with --quick"
    ),
    "python3 -m pip install uv && python3 -m uv run pytest": (
        "the README's test command runs the whole suite, this test included; "
        ".ci/run runs it in CI, and test_ci_runs_the_readme_test_command checks "
        "that .ci/run holds this line"
    ),
    "python3 -m uv run pytest tests/test_matrix.py -n0 --variant-answers "
    '\'{"server": "granian", "database": "none"}\'': (
        "runs the variant tier of one variant, minutes of work that "
        "test_matrix.py already does for the pairwise set; each job of the "
        "repository's CI matrix runs this command with its own answers"
    ),
}


@pytest.fixture(scope="module")
def site(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Build the site once with `mkdocs build --strict` and return its folder."""
    site_dir = tmp_path_factory.mktemp("site")
    result = subprocess.run(
        [sys.executable, "-m", "mkdocs", "build", "--strict", "-d", str(site_dir)],
        cwd=REPO_ROOT,
        capture_output=True,
        text=True,
        env={"NO_MKDOCS_2_WARNING": "1", "PATH": "/usr/bin:/bin"},
        check=False,
    )
    assert result.returncode == 0, result.stdout + result.stderr
    return site_dir


def page_text(site: Path, page: str) -> str:
    """Return the visible text of a built page, tags removed."""
    raw = (site / page / "index.html").read_text(encoding="utf-8")
    return html.unescape(re.sub(r"<[^>]+>", " ", raw))


def test_questionnaire_page_lists_every_question(site: Path) -> None:
    text = page_text(site, "questionnaire")
    for question in model().questions:
        assert question.name in text, f"{question.name} missing from the page"
    for name in model().fixed_answers:
        assert name in text, f"{name} missing from the page"


def test_questionnaire_page_lists_every_choice(site: Path) -> None:
    text = page_text(site, "questionnaire")
    for question in model().questions:
        for value in question.values:
            if isinstance(value, str):
                assert value in text, f"{question.name}={value} missing"


def test_getting_started_uses_readme_commands() -> None:
    page = (DOCS / "getting-started.md").read_text(encoding="utf-8")
    for command in quick_start_commands():
        assert f"```sh\n{command}\n```" in page, command


def shell_commands(text: str) -> list[str]:
    """Return the command lines of the shell blocks in Markdown `text`.

    Comment lines and blank lines are left out, a trailing backslash joins a
    line with the next, and `console` blocks contribute the lines after a `$`
    prompt.
    """
    commands = []
    for block in SHELL_BLOCK.finditer(text):
        logical_lines = re.sub(r"[ \t]*\\\n\s*", " ", block["body"]).splitlines()
        for raw_line in logical_lines:
            line = raw_line.strip()
            if block["lang"] == "console":
                if not line.startswith("$ "):
                    continue
                line = line.removeprefix("$ ").strip()
            if line and not line.startswith("#"):
                commands.append(line)
    return commands


def documented_commands() -> dict[str, list[str]]:
    """Map each command line in the docs and the README to the files showing it."""
    files_by_command: dict[str, list[str]] = {}
    for path in DOCUMENTED_FILES:
        relpath = path.relative_to(REPO_ROOT).as_posix()
        for command in shell_commands(path.read_text(encoding="utf-8")):
            files_by_command.setdefault(command, []).append(relpath)
    return files_by_command


def string_literals_of_tests() -> set[str]:
    """Return every string literal in the test files other than this one."""
    literals: set[str] = set()
    for path in sorted(TESTS.glob("*.py")):
        if path.name == Path(__file__).name:
            continue
        tree = ast.parse(path.read_text(encoding="utf-8"), filename=str(path))
        for node in ast.walk(tree):
            if isinstance(node, ast.Constant) and isinstance(node.value, str):
                literals.add(node.value)
    return literals


def test_shell_commands_found_in_docs() -> None:
    commands = shell_commands(
        "text\n\n```sh\n# a comment\nuv run app \\\n  --flag\n\nls\n```\n"
        "  ```console\n  $ echo hi\n  hi\n  ```\n```text\nnot a command\n```\n"
    )
    assert commands == ["uv run app --flag", "ls", "echo hi"], commands


def test_every_documented_command_is_run_by_a_test() -> None:
    files_by_command = documented_commands()
    assert files_by_command, "no shell blocks found in the docs"
    literals = string_literals_of_tests()
    untested = {
        command: files
        for command, files in files_by_command.items()
        if command not in literals and command not in NOT_RUN_BY_TESTS
    }
    assert not untested, (
        "commands shown in the docs that no test file holds as a string "
        f"literal: {untested}"
    )


def test_commands_not_run_are_still_documented() -> None:
    files_by_command = documented_commands()
    literals = string_literals_of_tests()
    for command in NOT_RUN_BY_TESTS:
        assert command in files_by_command, f"no page shows {command!r}; drop its entry"
        assert command not in literals, f"a test runs {command!r}; drop its entry"
