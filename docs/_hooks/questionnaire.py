"""MkDocs hook: build the questionnaire table from copier.yml at build time.

A page that contains the marker below gets the table in its place, so the
documented questions, choices and defaults are always those of copier.yml.
"""

from __future__ import annotations

import html
from pathlib import Path
from typing import Any

import yaml

MARKER = "<!-- questionnaire-table -->"
COPIER_YML = Path(__file__).resolve().parents[2] / "copier.yml"


def _cell(text: str) -> str:
    """Escape text for a Markdown table cell."""
    return html.escape(text).replace("|", "\\|").replace("\n", " ")


def _code(value: Any) -> str:
    """Format an answer value as inline code."""
    if isinstance(value, bool):
        value = "true" if value else "false"
    if isinstance(value, list):
        value = "[" + ", ".join(str(item) for item in value) + "]"
    text = str(value)
    return f"`{text}`" if text else "(empty)"


def _choices(spec: dict[str, Any]) -> str:
    """Describe a question's values, with their labels where copier.yml has them."""
    if spec.get("type") == "bool":
        return "`true`, `false`"
    choices = spec.get("choices")
    if choices is None:
        return "free text"
    if isinstance(choices, dict):
        items = [
            _code(value)
            if str(label) == str(value)
            else f"{_code(value)}: {_cell(str(label).split(': ', 1)[-1])}"
            for label, value in choices.items()
        ]
    else:
        items = [_code(value) for value in choices]
    prefix = "any of " if spec.get("multiselect") else ""
    return prefix + "<br>".join(items)


def questionnaire_table(copier_yml: Path = COPIER_YML) -> str:
    """Return the Markdown table of every question in `copier_yml`."""
    config = yaml.safe_load(copier_yml.read_text(encoding="utf-8"))
    lines = [
        "| question | values | default | asked when | help |",
        "|---|---|---|---|---|",
    ]
    for name, spec in config.items():
        if name.startswith("_"):
            continue
        when = spec.get("when", True)
        asked = "always" if when is True else _code(str(when).strip("{} "))
        lines.append(
            f"| `{name}` | {_choices(spec)} | {_code(spec.get('default', ''))} "
            f"| {asked} | {_cell(str(spec.get('help', '')))} |"
        )
    return "\n".join(lines)


def on_page_markdown(markdown: str, **kwargs: Any) -> str:
    """Replace the marker with the questionnaire table."""
    if MARKER in markdown:
        return markdown.replace(MARKER, questionnaire_table())
    return markdown
