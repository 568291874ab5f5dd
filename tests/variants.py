"""The variant model: every valid set of answers, read from copier.yml.

A variant is one valid set of answers to the questions that have a fixed set of
values (choices, booleans and the multiselect). The constraints between answers
are the questions' own `when` and `validator` templates in copier.yml, rendered
here with the template's Jinja extensions, so the model and Copier can never
disagree about which variants exist.

Run `python3 -m uv run python -m tests.variants --help` for the command line.
"""

from __future__ import annotations

import copy
import importlib.util
import itertools
import json
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass
from enum import StrEnum
from functools import cache
from pathlib import Path
from typing import Annotated, Any

import jinja2
import pytest
import typer
import yaml
from jinja2 import meta
from jinja2.sandbox import SandboxedEnvironment

REPO_ROOT = Path(__file__).resolve().parent.parent
COPIER_YML = REPO_ROOT / "copier.yml"

Answers = dict[str, Any]
Pair = tuple[tuple[str, str], tuple[str, str]]


def _load_extension(module_path: str, class_name: str) -> type[jinja2.ext.Extension]:
    """Import a Jinja extension class from a file of extensions/, as Copier does."""
    path = REPO_ROOT / module_path
    spec = importlib.util.spec_from_file_location(f"copier_fastapi_{path.stem}", path)
    assert spec is not None, path
    assert spec.loader is not None, path
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    extension: type[jinja2.ext.Extension] = getattr(module, class_name)
    return extension


@dataclass(frozen=True)
class Question:
    """One question of copier.yml that has a fixed set of values."""

    name: str
    values: tuple[Any, ...]
    default: Any
    when: str | bool
    validator: str


class VariantModel:
    """The questions of copier.yml, their values and the constraints between them."""

    def __init__(self, copier_yml: Path = COPIER_YML) -> None:
        """Read the questionnaire and prepare a Jinja environment like Copier's."""
        config = yaml.safe_load(copier_yml.read_text(encoding="utf-8"))
        extensions = [
            _load_extension(*entry.split(":"))
            for entry in config.get("_jinja_extensions", [])
            if ":" in entry
        ]
        self.env = SandboxedEnvironment(extensions=extensions)
        self._rendered: dict[tuple[str, str], str] = {}
        self.fixed_answers: Answers = {}
        questions = []
        for name, spec in config.items():
            if name.startswith("_"):
                continue
            values = _question_values(spec)
            if values is None:
                self.fixed_answers[name] = spec.get("default", "")
                continue
            questions.append(
                Question(
                    name=name,
                    values=values,
                    default=spec.get("default"),
                    when=spec.get("when", True),
                    validator=spec.get("validator", ""),
                )
            )
        self.questions: tuple[Question, ...] = tuple(questions)
        self._rendered_defaults()

    def _rendered_defaults(self) -> None:
        """Render the templated defaults of free-text questions, such as the slug."""
        context: Answers = {}
        for name, default in self.fixed_answers.items():
            if isinstance(default, str) and "{{" in default:
                default = self.env.from_string(default).render(context)
            context[name] = default
        self.fixed_answers = context

    @cache  # noqa: B019 - one model per process, so the cache lives as long
    def _compiled(self, source: str) -> tuple[jinja2.Template, tuple[str, ...]]:
        """Compile a `when` or `validator` template and list the names it reads."""
        names = tuple(sorted(meta.find_undeclared_variables(self.env.parse(source))))
        return self.env.from_string(source), names

    def _render(self, source: str, answers: Mapping[str, Any]) -> str:
        template, names = self._compiled(source)
        values = {name: answers.get(name) for name in names}
        key = (source, json.dumps(values, sort_keys=True))
        if key not in self._rendered:
            self._rendered[key] = template.render(values).strip()
        return self._rendered[key]

    def is_asked(self, question: Question, answers: Mapping[str, Any]) -> bool:
        """Tell whether Copier asks `question`, given the earlier answers."""
        if isinstance(question.when, bool):
            return question.when
        return self._render(question.when, answers).lower() in {"true", "yes", "1"}

    def error(self, answers: Mapping[str, Any]) -> str:
        """Return the first validator message that `answers` trigger, or ``""``."""
        context = {**self.fixed_answers, **answers}
        for question in self.questions:
            if question.validator and question.name in answers:
                message = self._render(question.validator, context)
                if message:
                    return message
        return ""

    def complete(self, answers: Mapping[str, Any]) -> Answers:
        """Fill in the defaults of the questions an answer set leaves out."""
        context = {**self.fixed_answers}
        for question in self.questions:
            context[question.name] = answers.get(question.name, question.default)
        return context

    def all_variants(self) -> list[Answers]:
        """Return every valid variant: the cartesian set minus rejected answers.

        A question that is not asked, such as `db_api` without a database, is
        left out of the variant instead of multiplying it.
        """
        return copy.deepcopy(self._all_variants())

    def pairwise_variants(self) -> list[Answers]:
        """Return a small set of variants that covers every valid pair of answers.

        Greedy: the default variant first, then repeatedly the valid variant
        that covers the most pairs not yet covered, ties broken by order in the
        cartesian set, so the result is the same on every run.
        """
        return copy.deepcopy(self._pairwise_variants())

    # Both sets take seconds to compute and several test modules call them
    # while collecting, so each is computed once per process. The
    # public methods hand out copies, so no caller can change the cached set.
    @cache  # noqa: B019 - one model per process, so the cache lives as long
    def _all_variants(self) -> list[Answers]:
        variants: list[Answers] = []
        seen: set[str] = set()
        for combination in itertools.product(*(q.values for q in self.questions)):
            answers = {**self.fixed_answers}
            variant: Answers = {}
            for question, value in zip(self.questions, combination, strict=True):
                if self.is_asked(question, answers):
                    answers[question.name] = value
                    variant[question.name] = value
                else:
                    answers[question.name] = question.default
            key = variant_id(variant)
            if key in seen or self.error(variant):
                continue
            seen.add(key)
            variants.append(variant)
        return variants

    @cache  # noqa: B019 - one model per process, so the cache lives as long
    def _pairwise_variants(self) -> list[Answers]:
        candidates = self._all_variants()
        # Pairs become bits of one integer per variant, so that counting the
        # pairs a variant would newly cover is one AND and one bit count.
        index: dict[Pair, int] = {}
        masks = []
        for variant in candidates:
            mask = 0
            for pair in variant_pairs(variant):
                mask |= 1 << index.setdefault(pair, len(index))
            masks.append(mask)
        uncovered = (1 << len(index)) - 1
        default = self.default_variant()
        chosen = [default]
        uncovered &= ~masks[candidates.index(default)]
        while uncovered:
            best = max(
                range(len(candidates)),
                key=lambda i: (masks[i] & uncovered).bit_count(),
            )
            assert masks[best] & uncovered, "uncovered pairs that no variant has"
            chosen.append(candidates[best])
            uncovered &= ~masks[best]
        return chosen

    def default_variant(self) -> Answers:
        """Return the variant that `copier copy --defaults` renders."""
        return self.variant_of({})

    def variant_of(self, answers: Mapping[str, Any]) -> Answers:
        """Return the variant that `answers` render, defaults filled in.

        Like `copier copy --defaults`, a question left out takes its default,
        and a question that is not asked is left out of the variant.
        """
        context = {**self.fixed_answers}
        variant: Answers = {}
        for question in self.questions:
            context[question.name] = answers.get(question.name, question.default)
            if self.is_asked(question, context):
                variant[question.name] = context[question.name]
        return variant


def _question_values(spec: Mapping[str, Any]) -> tuple[Any, ...] | None:
    """Return the values a question can take, or None for free text."""
    choices = spec.get("choices")
    if spec.get("type") == "bool":
        return (True, False)
    if choices is None:
        return None
    values = list(choices.values()) if isinstance(choices, dict) else list(choices)
    if spec.get("multiselect"):
        return tuple(
            list(subset)
            for size in range(len(values) + 1)
            for subset in itertools.combinations(values, size)
        )
    return tuple(values)


def answer_text(value: Any) -> str:
    """Return an answer as short text: `jwt+api_key` for lists, `-` for none."""
    if isinstance(value, list):
        return "+".join(value) if value else "-"
    if isinstance(value, bool):
        return "yes" if value else "no"
    return str(value)


def variant_id(variant: Mapping[str, Any]) -> str:
    """Return a readable, stable id such as `server=granian,database=none`."""
    return ",".join(f"{key}={answer_text(value)}" for key, value in variant.items())


def variant_group(answers: Mapping[str, Any]) -> str:
    """Return the xdist group of the tests that use the project `answers` render.

    Answer sets that render the same project share a group, so one worker
    renders it and builds its virtual environment once. Free-text answers,
    such as `project_name`, are part of the group's name.
    """
    names = {question.name for question in model().questions}
    free_text = {key: value for key, value in answers.items() if key not in names}
    return variant_id(model().variant_of(answers) | free_text)


def variant_param(answers: Answers, id: str, *marks: Any) -> Any:
    """Return `answers` as a pytest parameter in the xdist group of its variant."""
    group = pytest.mark.xdist_group(variant_group(answers))
    return pytest.param(answers, id=id, marks=[group, *marks])


def variant_pairs(variant: Mapping[str, Any]) -> frozenset[Pair]:
    """Return the pairs of answers to two different questions in `variant`."""
    items = [(key, answer_text(value)) for key, value in variant.items()]
    return frozenset(itertools.combinations(items, 2))


def covered_pairs(variants: Iterable[Mapping[str, Any]]) -> set[Pair]:
    """Return the union of the pairs of `variants`."""
    pairs: set[Pair] = set()
    for variant in variants:
        pairs |= variant_pairs(variant)
    return pairs


@cache
def model() -> VariantModel:
    """Return the model of this repository's copier.yml."""
    return VariantModel()


def github_matrix(variants: Iterable[Mapping[str, Any]]) -> dict[str, Any]:
    """Build a GitHub Actions `strategy.matrix` with one entry per variant."""
    return {
        "include": [
            {"id": variant_id(variant), "answers": json.dumps(variant)}
            for variant in variants
        ]
    }


def iter_table(variants: list[Answers], names: list[str]) -> Iterator[str]:
    """Yield the lines of a Markdown table of `variants`."""
    yield "| # | " + " | ".join(names) + " |"
    yield "|---" * (len(names) + 1) + "|"
    for number, variant in enumerate(variants, start=1):
        cells = [answer_text(variant[n]) if n in variant else "" for n in names]
        yield f"| {number} | " + " | ".join(cells) + " |"


class VariantSet(StrEnum):
    """The named sets of variants."""

    PAIRWISE = "pairwise"
    ALL = "all"
    DEFAULT = "default"


def select(variant_set: VariantSet) -> list[Answers]:
    """Return the variants of `variant_set`."""
    if variant_set is VariantSet.PAIRWISE:
        return model().pairwise_variants()
    if variant_set is VariantSet.ALL:
        return model().all_variants()
    return [model().default_variant()]


app = typer.Typer(help="List the template's variants.", no_args_is_help=True)
SetOption = Annotated[
    VariantSet,
    typer.Option(
        "--set",
        help="pairwise: a small set that covers every pair of answers; all: the "
        "cartesian set; default: the --defaults variant.",
    ),
]


@app.command()
def table(variant_set: SetOption = VariantSet.PAIRWISE) -> None:
    """Print the variants as a Markdown table."""
    variants = select(variant_set)
    names = [question.name for question in model().questions]
    for line in iter_table(variants, names):
        typer.echo(line)
    typer.echo(f"\n{len(variants)} variants")


@app.command()
def matrix(variant_set: SetOption = VariantSet.PAIRWISE) -> None:
    """Print the variants as a GitHub Actions matrix in JSON."""
    typer.echo(json.dumps(github_matrix(select(variant_set))))


if __name__ == "__main__":
    app()
