"""Migrate a project's answers and files across template releases.

`_migrations` in copier.yml run this script from the project being updated,
with the Python interpreter that runs Copier:

    python extensions/migrations.py rename-answer OLD NEW
    python extensions/migrations.py move-file "src/{package_name}/old.py" NEW
    python extensions/migrations.py add-secret .env SECRET_KEY

Run the first two in the `before` stage. Copier reloads the answers file after that
stage, so a renamed question gets the recorded answer instead of its default.
A file moved with git before the update keeps the user's edits: the update
merges the template's version of the new path into the user's version.
The script lives outside `template/`, so it never reaches a generated project.
"""

from __future__ import annotations

import argparse
import re
import secrets
import subprocess
import sys
from collections.abc import Callable, Sequence
from pathlib import Path

import yaml

DEFAULT_ANSWERS_FILE = ".copier-answers.yml"
# Random bytes in a generated secret, as in `random_secret()` of tokens.py.
SECRET_NBYTES = 48


class MigrationError(Exception):
    """Raised when the answers file cannot be migrated as requested."""


def rename_answer(answers_file: Path, old: str, new: str) -> bool:
    """Rename the top-level key `old` to `new` in `answers_file`, in place.

    Comments, key order and values stay as they are. Returns False and leaves
    the file alone when `old` is not recorded, which is the case for a project
    already migrated or one where the question was never asked.

    Raises:
        MigrationError: The answers file cannot be read, or it records both
            `old` and `new`, so it is unclear which answer to keep.
    """
    answers = load_answers(answers_file)
    if old not in answers:
        return False
    if new in answers:
        raise MigrationError(
            f"answers file {str(answers_file)!r} records both {old!r} and {new!r}; "
            f"delete the line of the answer you do not want and update again"
        )

    # Rewrite only the key's own line, so that the file keeps its layout.
    text = answers_file.read_text(encoding="utf-8")
    key_line = re.compile(rf"^{re.escape(old)}:(?=\s|$)", re.MULTILINE)
    renamed, count = key_line.subn(f"{new}:", text)
    if count != 1 or yaml.safe_load(renamed).get(new) != answers[old]:
        raise MigrationError(
            f"answers file {str(answers_file)!r} stores {old!r} in a form this "
            f"script cannot rename; rename the key to {new!r} by hand"
        )
    answers_file.write_text(renamed, encoding="utf-8")
    return True


def load_answers(answers_file: Path) -> dict[str, object]:
    """Read the answers file into a mapping.

    Raises:
        MigrationError: The file is missing or does not contain a mapping.
    """
    if not answers_file.is_file():
        raise MigrationError(
            f"answers file {str(answers_file)!r} not found; run the migration "
            "from the project's root or pass --answers-file"
        )
    answers = yaml.safe_load(answers_file.read_text(encoding="utf-8"))
    if not isinstance(answers, dict):
        raise MigrationError(f"answers file {str(answers_file)!r} is not a mapping")
    return answers


def move_file(answers_file: Path, old: str, new: str) -> bool:
    """Move the tracked file `old` to `new` with `git mv`, in the current folder.

    Both paths are relative to the project's root and may name answers in
    braces, such as `src/{package_name}/schemas.py`, filled in from the answers
    file, because Copier renders `before` commands without the answers. Returns
    False and moves nothing when `old` does not exist, which is the case for a
    project already migrated or one where the user deleted the file.

    Raises:
        MigrationError: The answers file cannot be read, a placeholder names
            no recorded answer, `new` exists already, or git fails.
    """
    answers = load_answers(answers_file)
    try:
        source, target = Path(old.format(**answers)), Path(new.format(**answers))
    except KeyError as error:
        raise MigrationError(
            f"placeholder {{{error.args[0]}}} in {old!r} or {new!r} names no "
            f"answer recorded in {str(answers_file)!r}"
        ) from None
    if not source.exists():
        return False
    if target.exists():
        raise MigrationError(
            f"cannot move {str(source)!r}: {str(target)!r} exists already; move "
            "or merge the file by hand, commit, and update again"
        )
    target.parent.mkdir(parents=True, exist_ok=True)
    moved = subprocess.run(
        ["git", "mv", "--", str(source), str(target)],
        capture_output=True,
        text=True,
        check=False,
    )
    if moved.returncode != 0:
        raise MigrationError(
            f"git mv {str(source)!r} {str(target)!r} failed: {moved.stderr.strip()}"
        )
    return True


def add_secret(answers_file: Path, env_file: str, name: str) -> bool:
    """Append `name=<random secret>` to `env_file` unless it sets `name` already.

    `copier update` keeps an existing `.env` as it is, so a project that turns
    on an answer needing a secret gets it here instead. Returns False when the
    file sets `name`. The answers file is not read; the parameter keeps the
    signature of the other commands.
    """
    del answers_file
    path = Path(env_file)
    text = path.read_text(encoding="utf-8") if path.exists() else ""
    if re.search(rf"^\s*{re.escape(name)}\s*=", text, re.MULTILINE):
        return False
    if text and not text.endswith("\n"):
        text += "\n"
    path.write_text(
        f"{text}{name}={secrets.token_urlsafe(SECRET_NBYTES)}\n", encoding="utf-8"
    )
    return True


def build_parser() -> argparse.ArgumentParser:
    """Build the command line parser."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--answers-file",
        type=Path,
        default=Path(DEFAULT_ANSWERS_FILE),
        help=f"answers file of the project (default: {DEFAULT_ANSWERS_FILE})",
    )
    commands = parser.add_subparsers(dest="command", required=True)
    rename = commands.add_parser(
        "rename-answer", help="carry the answer of a renamed question over"
    )
    rename.add_argument("old", help="question name in the previous release")
    rename.add_argument("new", help="question name in this release")
    move = commands.add_parser(
        "move-file", help="move a file with git so that its edits move with it"
    )
    move.add_argument(
        "old", help="path in the previous release, e.g. src/{package_name}/a.py"
    )
    move.add_argument("new", help="path in this release")
    secret = commands.add_parser(
        "add-secret", help="add a random secret to an env file that lacks it"
    )
    secret.add_argument("old", metavar="env_file", help="env file, such as .env")
    secret.add_argument("new", metavar="name", help="variable, such as SECRET_KEY")
    return parser


# Each command: the function that runs it and its message when it changed a file.
COMMANDS: dict[str, tuple[Callable[[Path, str, str], bool], str]] = {
    "rename-answer": (rename_answer, "Renamed answer {old!r} to {new!r}."),
    "move-file": (move_file, "Moved {old!r} to {new!r}."),
    "add-secret": (add_secret, "Added a random {new} to {old}."),
}


def main(argv: Sequence[str] | None = None) -> int:
    """Run the command line and return the exit code."""
    args = build_parser().parse_args(argv)
    migrate, message = COMMANDS[args.command]
    try:
        changed = migrate(args.answers_file, args.old, args.new)
    except MigrationError as error:
        print(f"error: {error}", file=sys.stderr)
        return 1
    if changed:
        print(message.format(old=args.old, new=args.new), file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
