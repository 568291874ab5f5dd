"""Rewrite a project's answers file when a template release renames a question.

`_migrations` in copier.yml run this script from the project being updated,
with the Python interpreter that runs Copier:

    python extensions/migrations.py rename-answer OLD NEW

Run it in the `before` stage: Copier reloads the answers file after that stage,
so the recorded answer reaches the renamed question instead of its default.
The script lives outside `template/`, so it never reaches a generated project.
"""

from __future__ import annotations

import argparse
import re
import sys
from collections.abc import Sequence
from pathlib import Path

import yaml

DEFAULT_ANSWERS_FILE = ".copier-answers.yml"


class MigrationError(Exception):
    """Raised when the answers file cannot be migrated as requested."""


def rename_answer(answers_file: Path, old: str, new: str) -> bool:
    """Rename the top-level key `old` to `new` in `answers_file`, in place.

    Comments, key order and values stay as they are. Returns False and leaves
    the file alone when `old` is not recorded, which is the case for a project
    already migrated or one where the question was never asked.

    Raises:
        MigrationError: The file is missing or not a mapping, or it records
            both `old` and `new`, so it is unclear which answer to keep.
    """
    if not answers_file.is_file():
        raise MigrationError(
            f"answers file {str(answers_file)!r} not found; run the migration "
            "from the project's root or pass --answers-file"
        )
    text = answers_file.read_text(encoding="utf-8")
    answers = yaml.safe_load(text)
    if not isinstance(answers, dict):
        raise MigrationError(f"answers file {str(answers_file)!r} is not a mapping")
    if old not in answers:
        return False
    if new in answers:
        raise MigrationError(
            f"answers file {str(answers_file)!r} records both {old!r} and {new!r}; "
            f"delete the line of the answer you do not want and update again"
        )

    # Rewrite only the key's own line, so that the file keeps its layout.
    key_line = re.compile(rf"^{re.escape(old)}:(?=\s|$)", re.MULTILINE)
    renamed, count = key_line.subn(f"{new}:", text)
    if count != 1 or yaml.safe_load(renamed).get(new) != answers[old]:
        raise MigrationError(
            f"answers file {str(answers_file)!r} stores {old!r} in a form this "
            f"script cannot rename; rename the key to {new!r} by hand"
        )
    answers_file.write_text(renamed, encoding="utf-8")
    return True


def build_parser() -> argparse.ArgumentParser:
    """Build the command line parser."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--answers-file",
        type=Path,
        default=Path(DEFAULT_ANSWERS_FILE),
        help=f"answers file to rewrite (default: {DEFAULT_ANSWERS_FILE})",
    )
    commands = parser.add_subparsers(dest="command", required=True)
    rename = commands.add_parser(
        "rename-answer", help="carry the answer of a renamed question over"
    )
    rename.add_argument("old", help="question name in the previous release")
    rename.add_argument("new", help="question name in this release")
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Run the command line and return the exit code."""
    args = build_parser().parse_args(argv)
    try:
        renamed = rename_answer(args.answers_file, args.old, args.new)
    except MigrationError as error:
        print(f"error: {error}", file=sys.stderr)
        return 1
    if renamed:
        print(f"Renamed answer {args.old!r} to {args.new!r}.", file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
