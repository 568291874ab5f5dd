"""The secret key written at copy time, and secrets in files that get committed."""

from __future__ import annotations

import math
import re
import secrets
from collections import Counter
from collections.abc import Iterable
from pathlib import Path

import copier
import pytest

from tests.project import REPO_ROOT, git
from tests.test_questionnaire import copy_with

# Strings shaped like credentials: private keys, cloud and forge tokens, and a
# secret-looking name given a long literal value, quoted or in `.env` style.
# A reference such as `${POSTGRES_PASSWORD}` or an empty value does not match.
SECRET_PATTERNS = {
    "private key": re.compile(r"-----BEGIN [A-Z ]*PRIVATE KEY-----"),
    "AWS access key": re.compile(r"\bAKIA[0-9A-Z]{16}\b"),
    "GitHub token": re.compile(r"\bgh[pousr]_[A-Za-z0-9]{36,}\b"),
    "Slack token": re.compile(r"\bxox[abprs]-[A-Za-z0-9-]{10,}"),
    "quoted secret": re.compile(
        r"(?i)(?:secret|password|passwd|token|api_key)\w*[\"']?\s*[:=]\s*"
        r"[\"'][A-Za-z0-9_+/=-]{16,}[\"']"
    ),
    "secret variable": re.compile(
        r"(?im)^\s*(?:export\s+)?[A-Z_]*(?:SECRET|PASSWORD|TOKEN|KEY)[A-Z_]*\s*[:=]"
        r"\s*[A-Za-z0-9_+/=-]{16,}\s*$"
    ),
}
# Long runs of base64url or hex characters that look random. A token from
# `secrets.token_urlsafe(48)` scores above 5 bits per character; identifiers
# and hex digests, at most 4, stay below the threshold.
RANDOM_RUN = re.compile(r"[A-Za-z0-9_+=-]{32,}")
MIN_RANDOM_ENTROPY = 4.5


def shannon_entropy(text: str) -> float:
    """Return the Shannon entropy of `text` in bits per character."""
    counts = Counter(text)
    return -sum(n / len(text) * math.log2(n / len(text)) for n in counts.values())


def committed_files(project: Path, files: Iterable[str]) -> list[str]:
    """Return the files of `files` that `git add --all` would stage in `project`.

    A scratch repository outside the project reads its `.gitignore`, so the
    project gets no `.git` folder.
    """
    scratch = project.parent / f".{project.name}-git-scan"
    git(project.parent, "init", "--quiet", str(scratch))
    listed = git(
        project,
        f"--git-dir={scratch / '.git'}",
        f"--work-tree={project}",
        "ls-files",
        "--others",
        "--exclude-standard",
    )
    return sorted(set(files) & set(listed.splitlines()))


def find_secrets(project: Path, relpaths: Iterable[str]) -> list[str]:
    """Return one line per secret-looking string in the files `relpaths`.

    Each line shows the start of the string only, so a test failure does not
    print a whole secret.
    """
    found = []
    for relpath in relpaths:
        text = (project / relpath).read_text(encoding="utf-8")
        matches = [
            (kind, match.group().strip())
            for kind, pattern in SECRET_PATTERNS.items()
            for match in pattern.finditer(text)
        ]
        matches += [
            ("random-looking string", match.group())
            for match in RANDOM_RUN.finditer(text)
            if shannon_entropy(match.group()) >= MIN_RANDOM_ENTROPY
        ]
        found += [f"{relpath}: {kind}: {value[:24]}..." for kind, value in matches]
    return found


def env_values(project: Path) -> list[str]:
    """Return the non-empty values of the project's `.env`, if it has one."""
    path = project / ".env"
    if not path.is_file():
        return []
    values = []
    for line in path.read_text(encoding="utf-8").splitlines():
        name, separator, value = line.partition("=")
        if separator and not name.lstrip().startswith("#") and value.strip():
            values.append(value.strip())
    return values


def assert_no_committed_secret(project: Path, files: Iterable[str]) -> int:
    """Check the files that would be committed for secrets and return their count.

    `.env` contains the generated secrets, so it must be git-ignored, and none of
    its values may appear in a committed file.
    """
    files = list(files)
    committed = committed_files(project, files)
    if ".env" in files:
        assert ".env" not in committed, "`.env` is not git-ignored"
    found = find_secrets(project, committed)
    assert not found, "secret-looking strings:\n" + "\n".join(found)
    generated = [value for value in env_values(project) if len(value) >= 16]
    for relpath in committed:
        text = (project / relpath).read_text(encoding="utf-8")
        for value in generated:
            assert value not in text, f"a value of .env is in {relpath}"
    return len(committed)


def read_secret_key(project: Path) -> str:
    """Return the SECRET_KEY value from the project's `.env`."""
    for line in (project / ".env").read_text(encoding="utf-8").splitlines():
        if line.startswith("SECRET_KEY="):
            return line.removeprefix("SECRET_KEY=")
    raise AssertionError(f"no SECRET_KEY in {project / '.env'}")


def test_each_copy_gets_its_own_secret_key(tmp_path: Path) -> None:
    first, second = tmp_path / "first", tmp_path / "second"
    copy_with(first)
    copy_with(second)
    first_key, second_key = read_secret_key(first), read_secret_key(second)
    assert len(first_key) >= 32, "SECRET_KEY is shorter than 32 characters"
    assert first_key != second_key, "two copies share one SECRET_KEY"


def test_secret_key_stays_out_of_tracked_files(tmp_path: Path) -> None:
    project = tmp_path / "project"
    copy_with(project)
    key = read_secret_key(project)
    files = [path.relative_to(project).as_posix() for path in project.rglob("*")]
    assert_no_committed_secret(project, files)
    for path in project.rglob("*"):
        if path.is_file() and path.name != ".env":
            assert key not in path.read_text("utf-8"), f"SECRET_KEY found in {path}"


def test_scan_finds_planted_secrets(tmp_path: Path) -> None:
    planted = {
        "settings.py": 'API_TOKEN = "Zm9vYmFyYmF6cXV4cXV1eA"\n',
        "deploy.env": "export DB_PASSWORD=s3cr3tPassw0rdValue\n",
        "key.pem": "-----BEGIN RSA PRIVATE KEY-----\n",
        "notes.md": "aws AKIAABCDEFGHIJKLMNOP here\n",
        "token.txt": secrets.token_urlsafe(32) + "\n",
    }
    for name, text in planted.items():
        (tmp_path / name).write_text(text, encoding="utf-8")
    found = find_secrets(tmp_path, planted)
    for name in planted:
        assert any(line.startswith(f"{name}:") for line in found), (name, found)


def test_scan_passes_ordinary_code(tmp_path: Path) -> None:
    text = (
        "token = create_access_token(subject, settings)\n"
        "POSTGRES_PASSWORD: ${POSTGRES_PASSWORD}\n"
        "SECRET_KEY=\n"
        "uses: actions/checkout@11bd71901bbe5b1630ceea73d27597364c9af683\n"
        "def test_unhandled_error_logged_once_under_uvicorn() -> None:\n"
    )
    (tmp_path / "code.py").write_text(text, encoding="utf-8")
    assert find_secrets(tmp_path, ["code.py"]) == []


def test_secret_key_stays_out_of_answers_and_output(
    tmp_path: Path, capfd: pytest.CaptureFixture[str]
) -> None:
    project = tmp_path / "project"
    copier.run_copy(str(REPO_ROOT), project, defaults=True, unsafe=True, vcs_ref="HEAD")
    output = capfd.readouterr()
    key = read_secret_key(project)
    answers = (project / ".copier-answers.yml").read_text("utf-8")
    assert key not in answers, "SECRET_KEY found in the answers file"
    assert "auth_store" not in answers, "a computed value was stored as an answer"
    assert key not in output.out, "copier printed SECRET_KEY"
    assert key not in output.err, "copier printed SECRET_KEY"
