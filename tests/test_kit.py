"""The production kit: Dockerfile, compose file, CI, pre-commit and README.

Docker has no engine in the test environment, so the image and the stack are
validated statically: hadolint lints the Dockerfile, and the Compose
specification schema bundled with check-jsonschema validates compose.yaml.
The CI commands, extracted from the rendered CI configuration, run in the
rendered project itself.
"""

from __future__ import annotations

import ast
import fnmatch
import json
import os
import re
import shutil
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import httpx
import pytest
import uv
import yaml

from extensions.versions import UV_VERSION
from tests.conftest import Render
from tests.project import BOOT_TIMEOUT, REPO_ROOT, CommandResult, RenderedProject
from tests.test_render import JINJA_MARKERS
from tests.variants import model, variant_group

VENV_BIN = Path(sys.executable).parent
UV_BIN = Path(uv.find_uv_bin()).parent
MAX_LINE_LENGTH = 88
FULL_SHA = re.compile(r"[0-9a-f]{40}")
REQUIRED_VARIABLE = re.compile(r"\$\{(\w+):\?")
COMPOSE_VARIABLE = re.compile(r"\$\{(\w+)(?::\?[^}]*)?\}")

# Pairwise variants by a short id: their number in the set, then the answers
# that shape the kit most.
PAIRWISE = {
    "{}-{server}-{process_model}-{database}-{ci}".format(number, **variant): variant
    for number, variant in enumerate(model().pairwise_variants(), start=1)
}
DOCKER_VARIANTS = [key for key, variant in PAIRWISE.items() if variant["docker"]]
GITHUB_VARIANTS = [
    key for key, variant in PAIRWISE.items() if variant["ci"] == "github"
]
GITLAB_VARIANTS = [
    key for key, variant in PAIRWISE.items() if variant["ci"] == "gitlab"
]
CI_VARIANTS = [key for key, variant in PAIRWISE.items() if variant["ci"] != "none"]
# The CI configuration differs only by CI system and by the PostgreSQL service,
# so the first variant of each such kind runs its CI commands in the default
# run. The others, whose commands are checked to be the same, run them under
# `-m full`, because each costs a virtual environment, mypy and the suite.
# Built in reverse order, so that the first variant of a kind is the one kept.
CI_KINDS = {
    (PAIRWISE[key]["ci"], PAIRWISE[key]["database"] == "postgresql"): key
    for key in reversed(CI_VARIANTS)
}
# Each runs in the xdist group of its variant, whose environment and mypy
# cache test_matrix.py builds as well.
CI_COMMAND_PARAMS = [
    pytest.param(
        key,
        marks=[
            pytest.mark.xdist_group(variant_group(PAIRWISE[key])),
            *(() if key in CI_KINDS.values() else [pytest.mark.full]),
        ],
    )
    for key in CI_VARIANTS
]

KIT_PATHS = (
    "Dockerfile",
    ".dockerignore",
    "compose.yaml",
    ".gitattributes",
    ".pre-commit-config.yaml",
    ".gitlab-ci.yml",
    ".github/workflows/ci.yml",
    ".github/dependabot.yml",
    "README.md",
)
# What `docker build` needs from the build context; .dockerignore must keep it.
BUILD_INPUTS = (
    "pyproject.toml",
    "uv.lock",
    "README.md",
    "gunicorn.conf.py",
    "src/app/main.py",
    "alembic.ini",
    "migrations/env.py",
)
# check-jsonschema's bundled schema for each kit file that has one.
BUNDLED_SCHEMAS = {
    "compose.yaml": "vendor.compose-spec",
    ".github/workflows/ci.yml": "vendor.github-workflows",
    ".github/dependabot.yml": "vendor.dependabot",
    ".gitlab-ci.yml": "vendor.gitlab-ci",
}
# The pairwise variants that have each file of `BUNDLED_SCHEMAS`.
SCHEMA_VARIANTS = {
    "compose.yaml": DOCKER_VARIANTS,
    ".github/workflows/ci.yml": GITHUB_VARIANTS,
    ".github/dependabot.yml": GITHUB_VARIANTS,
    ".gitlab-ci.yml": GITLAB_VARIANTS,
}
CHECK_TOOLS = ("ruff check", "ruff format --check", "mypy", "pytest")


def kit_project(render: Render, name: str) -> RenderedProject:
    """Render the pairwise variant `name`, once per session."""
    return render(**PAIRWISE[name])


def venv_tool(name: str, *args: str, cwd: Path) -> CommandResult:
    """Run an executable of this repository's own environment in `cwd`."""
    command = [str(VENV_BIN / name), *args]
    completed = subprocess.run(
        command,
        cwd=cwd,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        timeout=300,
        check=False,
    )
    return CommandResult(command, completed.returncode, completed.stdout)


SchemaErrors = Callable[[RenderedProject, str], list[str]]


@pytest.fixture(scope="session")
def schema_errors(render: Render) -> SchemaErrors:
    """Return a function that lists a project file's errors against its schema.

    check-jsonschema takes a second or two to start, so each schema runs once,
    over the file of every pairwise variant that has one.
    """
    reports: dict[str, dict[str, list[str]]] = {}

    def errors_of(project: RenderedProject, relpath: str) -> list[str]:
        if relpath not in reports:
            paths = [
                str(kit_project(render, name).path / relpath)
                for name in PAIRWISE
                if relpath in kit_project(render, name).files
            ]
            result = venv_tool(
                "check-jsonschema",
                "--builtin-schema",
                BUNDLED_SCHEMAS[relpath],
                "--output-format",
                "json",
                *paths,
                cwd=REPO_ROOT,
            )
            report = json.loads(result.output)
            assert not report.get("parse_errors"), result.describe()
            by_file: dict[str, list[str]] = {path: [] for path in paths}
            for error in report["errors"]:
                by_file[error["filename"]].append(
                    f"{error['path']}: {error['message']}"
                )
            reports[relpath] = by_file
        return reports[relpath][str(project.path / relpath)]

    return errors_of


def load_yaml(path: Path) -> Any:
    """Parse a YAML file, resolving anchors and merge keys."""
    return yaml.safe_load(path.read_text(encoding="utf-8"))


def dockerfile_stages(project: RenderedProject) -> list[list[str]]:
    """Split the Dockerfile into stages of instructions, continuations joined.

    Instructions before the first `FROM` (the global `ARG`) form stage 0.
    """
    text = (project.path / "Dockerfile").read_text(encoding="utf-8")
    stages: list[list[str]] = [[]]
    for line in re.sub(r"\\\n\s*", " ", text).splitlines():
        instruction = " ".join(line.split())
        if not instruction or instruction.startswith("#"):
            continue
        if instruction.startswith("FROM "):
            stages.append([])
        stages[-1].append(instruction)
    return stages


def ci_commands(project: RenderedProject) -> list[tuple[str, str]]:
    """Return the (step, shell command) pairs of the project's CI, in order.

    GitLab's `after_script` is left out: it only prunes the CI cache.
    """
    if project.answers["ci"] == "github":
        workflow = load_yaml(project.path / ".github" / "workflows" / "ci.yml")
        return [
            (step["name"], step["run"])
            for job in workflow["jobs"].values()
            for step in job["steps"]
            if "run" in step
        ]
    pipeline = load_yaml(project.path / ".gitlab-ci.yml")
    commands = [
        ("before_script", line) for line in pipeline["default"]["before_script"]
    ]
    for stage in pipeline["stages"]:
        for job_name, job in pipeline.items():
            if isinstance(job, dict) and job.get("stage") == stage:
                commands.extend((job_name, line) for line in job["script"])
    return commands


def ci_test_database_url(project: RenderedProject) -> str | None:
    """Return the TEST_DATABASE_URL that the project's CI sets for the tests."""
    if project.answers["ci"] == "github":
        workflow = load_yaml(project.path / ".github" / "workflows" / "ci.yml")
        job = next(iter(workflow["jobs"].values()))
        return job.get("env", {}).get("TEST_DATABASE_URL")
    pipeline = load_yaml(project.path / ".gitlab-ci.yml")
    return pipeline["test"].get("variables", {}).get("TEST_DATABASE_URL")


def settings_fields(project: RenderedProject) -> list[str]:
    """Return the field names of the rendered `Settings` class, in order."""
    package = project.answers["package_name"]
    source = (project.path / "src" / str(package) / "settings.py").read_text(
        encoding="utf-8"
    )
    for node in ast.parse(source).body:
        if isinstance(node, ast.ClassDef) and node.name == "Settings":
            return [
                statement.target.id
                for statement in node.body
                if isinstance(statement, ast.AnnAssign)
                and isinstance(statement.target, ast.Name)
                and statement.target.id != "model_config"
            ]
    raise AssertionError(f"no class Settings in src/{package}/settings.py")


def read_env_file(path: Path) -> dict[str, str]:
    """Parse the `NAME=value` lines of a `.env` file."""
    values = {}
    for line in path.read_text(encoding="utf-8").splitlines():
        if line and not line.startswith("#") and "=" in line:
            name, _, value = line.partition("=")
            values[name] = value
    return values


# Which files each variant gets


@pytest.mark.parametrize("name", PAIRWISE)
def test_kit_files_follow_answers(render: Render, name: str) -> None:
    project = kit_project(render, name)
    answers = project.answers
    package = answers["package_name"]
    for path in (".gitattributes", ".pre-commit-config.yaml", "README.md"):
        assert path in project.files, f"{path} missing from {project.files}"
    for path in (
        "Dockerfile",
        ".dockerignore",
        "compose.yaml",
        f"src/{package}/healthcheck.py",
        "tests/test_healthcheck.py",
    ):
        assert (path in project.files) == answers["docker"], (
            f"docker={answers['docker']}, {path}: {project.files}"
        )
    for path, ci in (
        (".github/workflows/ci.yml", "github"),
        (".github/dependabot.yml", "github"),
        (".gitlab-ci.yml", "gitlab"),
    ):
        assert (path in project.files) == (answers["ci"] == ci), (
            f"ci={answers['ci']}, {path}: {project.files}"
        )


@pytest.mark.parametrize("name", PAIRWISE)
def test_kit_files_are_clean(render: Render, name: str) -> None:
    project = kit_project(render, name)
    package = project.answers["package_name"]
    for relpath in (*KIT_PATHS, f"src/{package}/healthcheck.py"):
        if relpath not in project.files:
            continue
        text = (project.path / relpath).read_text(encoding="utf-8")
        match = JINJA_MARKERS.search(text)
        assert match is None, f"{relpath}: Jinja left at {text[match.start() :][:80]!r}"
        assert text.endswith("\n"), f"{relpath} does not end with a newline"
        assert not text.endswith("\n\n"), f"{relpath} ends with a blank line"
        if not relpath.endswith(".py"):
            assert "\n\n\n" not in text, f"{relpath} has two blank lines in a row"
        for number, line in enumerate(text.splitlines(), start=1):
            assert len(line) <= MAX_LINE_LENGTH, f"{relpath}:{number}: {line!r}"
            assert line == line.rstrip(), f"{relpath}:{number} trailing space"


@pytest.mark.parametrize(
    ("relpath", "name"),
    [
        pytest.param(relpath, name, id=f"{relpath}-{name}")
        for relpath, names in SCHEMA_VARIANTS.items()
        for name in names
    ],
)
def test_kit_file_matches_schema(
    render: Render, schema_errors: SchemaErrors, relpath: str, name: str
) -> None:
    project = kit_project(render, name)
    errors = schema_errors(project, relpath)
    assert errors == [], f"{relpath} of variant {name}:\n" + "\n".join(errors)


# Dockerfile


@pytest.mark.parametrize("name", DOCKER_VARIANTS)
def test_dockerfile_passes_hadolint(render: Render, name: str) -> None:
    project = kit_project(render, name)
    result = venv_tool("hadolint", "Dockerfile", cwd=project.path)
    assert result.returncode == 0, result.describe()


@pytest.mark.parametrize("name", DOCKER_VARIANTS)
def test_dockerfile_builder_caches_dependencies(render: Render, name: str) -> None:
    project = kit_project(render, name)
    header, builder, _runtime = dockerfile_stages(project)
    version = project.answers["python_version"]
    assert header == [f"ARG PYTHON_VERSION={version}"], header
    assert builder[0] == "FROM python:${PYTHON_VERSION}-slim-trixie AS builder", builder
    assert f"COPY --from=ghcr.io/astral-sh/uv:{UV_VERSION} /uv /bin/uv" in builder

    manifest = builder.index("COPY pyproject.toml uv.lock* ./")
    source = builder.index("COPY src ./src")
    syncs = [index for index, line in enumerate(builder) if "uv sync" in line]
    assert len(syncs) == 2, builder
    # The dependency layer comes from the manifests alone, so a source change
    # reuses it; the project is installed after the source is copied.
    assert manifest < syncs[0] < source < syncs[1], builder
    assert "--no-install-project" in builder[syncs[0]], builder[syncs[0]]
    assert "if [ -f uv.lock ]; then uv sync --locked" in builder[syncs[0]], builder
    assert "uv sync --locked" in builder[syncs[1]], builder[syncs[1]]
    for index in syncs:
        assert builder[index].count("uv sync") == builder[index].count("--no-dev"), (
            f"a uv sync installs development dependencies: {builder[index]}"
        )


@pytest.mark.parametrize("name", DOCKER_VARIANTS)
def test_dockerfile_runtime_stage(render: Render, name: str) -> None:
    project = kit_project(render, name)
    _header, _builder, runtime = dockerfile_stages(project)
    answers = project.answers
    assert runtime[0] == "FROM python:${PYTHON_VERSION}-slim-trixie AS runtime", runtime
    copies = [line for line in runtime if line.startswith("COPY")]
    assert "COPY --from=builder /app/.venv /app/.venv" in copies, copies
    assert not any("/uv" in line for line in copies), f"uv copied: {copies}"

    users = [line.split()[1] for line in runtime if line.startswith("USER ")]
    assert users, runtime
    uid = users[-1].split(":")[0]
    assert uid.isdigit(), f"USER {users[-1]} is not numeric"
    assert uid != "0", f"the image runs as root: USER {users[-1]}"

    environment = " ".join(line for line in runtime if line.startswith("ENV "))
    assert "HOST=0.0.0.0" in environment, environment
    assert "ENVIRONMENT=production" in environment, environment

    healthcheck = [line for line in runtime if line.startswith("HEALTHCHECK")]
    assert len(healthcheck) == 1, runtime
    expected = f'CMD ["python", "-m", "{answers["package_name"]}.healthcheck"]'
    assert healthcheck[0].endswith(expected), healthcheck
    assert runtime[-1] == f'CMD ["{answers["project_slug"]}", "serve"]', runtime

    is_gunicorn = answers["process_model"] == "gunicorn"
    assert ("COPY gunicorn.conf.py ./" in copies) == is_gunicorn, copies
    has_migrations = answers["database"] != "none" and answers["migrations"]
    assert ("COPY alembic.ini ./" in copies) == has_migrations, copies
    assert ("COPY migrations ./migrations" in copies) == has_migrations, copies
    if answers["database"] == "sqlite":
        assert 'VOLUME ["/data"]' in runtime, runtime
        assert f":////data/{answers['package_name']}.db" in environment, environment


@pytest.mark.parametrize("name", DOCKER_VARIANTS)
def test_dockerignore_keeps_build_inputs(render: Render, name: str) -> None:
    project = kit_project(render, name)
    text = (project.path / ".dockerignore").read_text(encoding="utf-8")
    patterns = [
        line.strip("/")
        for line in text.splitlines()
        if line and not line.startswith(("#", "!"))
    ]
    for excluded in (".env", ".venv", ".git"):
        assert excluded in patterns, f"{excluded} is sent to the build: {patterns}"
    for path in BUILD_INPUTS:
        parts = path.split("/")
        prefixes = ["/".join(parts[: end + 1]) for end in range(len(parts))]
        for pattern in patterns:
            for prefix in prefixes:
                assert not fnmatch.fnmatch(prefix, pattern), f"{pattern} drops {path}"


# compose.yaml


@pytest.mark.parametrize("name", DOCKER_VARIANTS)
def test_compose_service_order(render: Render, name: str) -> None:
    project = kit_project(render, name)
    answers = project.answers
    services = load_yaml(project.path / "compose.yaml")["services"]
    app = services["app"]
    assert app["build"] == ".", app
    assert app["ports"] == ["127.0.0.1:8000:8000"], app
    depends_on = app.get("depends_on", {})

    if answers["database"] == "postgresql":
        db = services["db"]
        assert db["image"].startswith("postgres:"), db
        assert "pg_isready" in db["healthcheck"]["test"], db
        assert depends_on["db"] == {"condition": "service_healthy"}, app
        assert "@db:5432/" in app["environment"]["DATABASE_URL"], app
    else:
        assert "db" not in services, services

    if answers["database"] != "none" and answers["migrations"]:
        migrate = services["migrate"]
        slug = answers["project_slug"]
        assert migrate["command"] == [slug, "db", "upgrade"], migrate
        assert migrate["environment"] == app.get("environment"), migrate
        assert depends_on["migrate"] == {
            "condition": "service_completed_successfully"
        }, app
        if answers["database"] == "postgresql":
            assert migrate["depends_on"]["db"] == {"condition": "service_healthy"}
    else:
        assert "migrate" not in services, services

    if answers["database"] == "sqlite":
        assert "app-data:/data" in app["volumes"], app
        assert app["environment"]["DATABASE_URL"].endswith(
            f":////data/{answers['package_name']}.db"
        ), app


@pytest.mark.parametrize("name", DOCKER_VARIANTS)
def test_compose_variables_in_env_file(render: Render, name: str) -> None:
    project = kit_project(render, name)
    compose = (project.path / "compose.yaml").read_text(encoding="utf-8")
    env_file = read_env_file(project.path / ".env")
    for variable in REQUIRED_VARIABLE.findall(compose):
        assert env_file.get(variable), f"{variable} is required but not in .env"


# CI


@pytest.mark.parametrize("name", GITHUB_VARIANTS)
def test_github_workflow_passes_zizmor(render: Render, name: str) -> None:
    project = kit_project(render, name)
    result = venv_tool(
        "zizmor", "--offline", "--no-progress", ".github", cwd=project.path
    )
    assert result.returncode == 0, result.describe()


@pytest.mark.parametrize("name", GITHUB_VARIANTS)
def test_github_workflow_pins_actions(render: Render, name: str) -> None:
    project = kit_project(render, name)
    workflow = load_yaml(project.path / ".github" / "workflows" / "ci.yml")
    assert workflow["permissions"] == {"contents": "read"}, workflow["permissions"]
    for job in workflow["jobs"].values():
        python_versions = job["strategy"]["matrix"]["python-version"]
        assert project.answers["python_version"] in python_versions, job
        for step in job["steps"]:
            if "uses" not in step:
                continue
            _action, _, ref = step["uses"].partition("@")
            assert FULL_SHA.fullmatch(ref), f"not pinned by commit SHA: {step}"
            if step["uses"].startswith("astral-sh/setup-uv@"):
                assert step["with"]["version"] == UV_VERSION, step


@pytest.mark.parametrize("name", GITLAB_VARIANTS)
def test_gitlab_ci_uses_uv_image(render: Render, name: str) -> None:
    project = kit_project(render, name)
    pipeline = load_yaml(project.path / ".gitlab-ci.yml")
    image = pipeline["default"]["image"]
    expected = f"{UV_VERSION}-python{project.answers['python_version']}-"
    assert image.startswith(f"ghcr.io/astral-sh/uv:{expected}"), image


@pytest.mark.parametrize("name", CI_VARIANTS)
def test_ci_runs_every_check(render: Render, name: str) -> None:
    project = kit_project(render, name)
    commands = [command for _step, command in ci_commands(project)]
    assert "uv sync --locked" in commands[0], commands
    for tool in CHECK_TOOLS:
        assert any(f"uv run {tool}" in command for command in commands), commands


@pytest.mark.parametrize("name", CI_VARIANTS)
def test_ci_provides_postgresql_when_needed(render: Render, name: str) -> None:
    project = kit_project(render, name)
    url = ci_test_database_url(project)
    if project.answers["ci"] == "github":
        workflow = load_yaml(project.path / ".github" / "workflows" / "ci.yml")
        services = next(iter(workflow["jobs"].values())).get("services", {})
        images = [service["image"] for service in services.values()]
    else:
        pipeline = load_yaml(project.path / ".gitlab-ci.yml")
        images = [service["name"] for service in pipeline["test"].get("services", [])]
    if project.answers["database"] == "postgresql":
        assert url is not None, "TEST_DATABASE_URL is not set for the tests"
        assert url.startswith("postgresql://postgres@"), url
        assert len(images) == 1, images
        assert images[0].startswith("postgres:"), images
    else:
        assert url is None, url
        assert images == [], images


@pytest.mark.parametrize("name", CI_VARIANTS)
def test_ci_commands_same_within_kind(render: Render, name: str) -> None:
    project = kit_project(render, name)
    answers = project.answers
    kind = (answers["ci"], answers["database"] == "postgresql")
    reference = kit_project(render, CI_KINDS[kind])
    assert ci_commands(project) == ci_commands(reference), CI_KINDS[kind]
    assert ci_test_database_url(project) == ci_test_database_url(reference)


@pytest.mark.parametrize("name", CI_COMMAND_PARAMS)
def test_ci_commands_pass_locally(
    render: Render, request: pytest.FixtureRequest, name: str
) -> None:
    project = kit_project(render, name)
    # Syncing first lets a variant for a newer Python run on this interpreter.
    project.sync()
    env = {"PATH": f"{UV_BIN}{os.pathsep}{os.environ['PATH']}"}
    if project.mypy_cache is not None:
        # The worker's mypy cache, as a CI cache of .mypy_cache would be.
        env["MYPY_CACHE_DIR"] = str(project.mypy_cache)
    if ci_test_database_url(project) is not None:
        # The CI's PostgreSQL service container, replaced by this run's server.
        env["TEST_DATABASE_URL"] = request.getfixturevalue("postgres_server_url")
    for step, command in ci_commands(project):
        result = project.run(["bash", "-e", "-c", command], env=env)
        assert result.returncode == 0, f"CI step {step!r}:\n{result.describe()}"


def test_container_settings_pass_production_checks(
    default_project: RenderedProject, tmp_path: Path
) -> None:
    # The environment that compose gives the app container: the image's ENV
    # lines, then compose's `environment` with the values from `.env`.
    _header, _builder, runtime = dockerfile_stages(default_project)
    env: dict[str, str] = {}
    for line in runtime:
        if line.startswith("ENV "):
            env.update(item.split("=", 1) for item in line.split()[1:])
    env.pop("PATH")
    env_file = read_env_file(default_project.path / ".env")
    services = load_yaml(default_project.path / "compose.yaml")["services"]
    for name, value in services["app"].get("environment", {}).items():
        env[name] = COMPOSE_VARIABLE.sub(lambda match: env_file[match[1]], value)
    assert env["ENVIRONMENT"] == "production", env

    # The image never reads .env, so the check runs in a folder without one.
    package = default_project.answers["package_name"]
    python = default_project.path / ".venv" / "bin" / "python"
    default_project.sync()
    completed = subprocess.run(
        [str(python), "-c", f"from {package}.settings import Settings; Settings()"],
        cwd=tmp_path,
        env={**env, "PATH": os.environ["PATH"]},
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert completed.returncode == 0, completed.stderr


# Pre-commit, .gitattributes, health check


def test_pre_commit_runs_project_tools(default_project: RenderedProject) -> None:
    config_path = default_project.path / ".pre-commit-config.yaml"
    result = venv_tool(
        "pre-commit", "validate-config", str(config_path), cwd=default_project.path
    )
    assert result.returncode == 0, result.describe()
    hooks = {
        hook["id"]: hook["entry"]
        for repo in load_yaml(config_path)["repos"]
        for hook in repo["hooks"]
    }
    assert set(hooks) == {"ruff-check", "ruff-format", "mypy"}, hooks
    for hook_id, entry in hooks.items():
        assert entry.startswith("uv run "), f"{hook_id}: {entry}"


def test_gitattributes_keep_lf(
    default_project: RenderedProject, tmp_path: Path
) -> None:
    git = shutil.which("git")
    assert git is not None, "git is required to read .gitattributes"
    shutil.copy(default_project.path / ".gitattributes", tmp_path / ".gitattributes")
    subprocess.run([git, "init", "-q"], cwd=tmp_path, check=True, timeout=60)
    paths = ["Dockerfile", "scripts/entrypoint.sh", "src/app/main.py"]
    result = subprocess.run(
        [git, "check-attr", "eol", "text", "--", *paths],
        cwd=tmp_path,
        capture_output=True,
        text=True,
        check=True,
        timeout=60,
    )
    attributes = set(result.stdout.splitlines())
    assert "Dockerfile: eol: lf" in attributes, result.stdout
    assert "scripts/entrypoint.sh: eol: lf" in attributes, result.stdout
    assert "src/app/main.py: text: auto" in attributes, result.stdout


def test_healthcheck_reports_server_state(default_project: RenderedProject) -> None:
    module = f"{default_project.answers['package_name']}.healthcheck"
    with default_project.serve() as server:
        server.wait_until_healthy()
        port = server.base_url.rsplit(":", 1)[1]
        up = default_project.tool("python", "-m", module, env={"PORT": port})
        assert up.returncode == 0, f"{up.describe()}\nserver log:\n{server.log()}"
        assert server.stop() == 0, server.log()
    down = default_project.tool("python", "-m", module, env={"PORT": port})
    assert down.returncode == 1, down.describe()
    assert f"GET /health on port {port} failed" in down.output, down.describe()


def test_healthcheck_passes_allowed_hosts(default_project: RenderedProject) -> None:
    module = f"{default_project.answers['package_name']}.healthcheck"
    allowed = {"ALLOWED_HOSTS": "api.example.com"}
    with default_project.serve(env=allowed) as server:
        port = server.base_url.rsplit(":", 1)[1]
        env = {**allowed, "PORT": port}
        deadline = time.monotonic() + BOOT_TIMEOUT
        check = default_project.tool("python", "-m", module, env=env)
        while check.returncode != 0 and time.monotonic() < deadline:
            assert server.process.poll() is None, server.log()
            time.sleep(0.2)
            check = default_project.tool("python", "-m", module, env=env)
        assert check.returncode == 0, f"{check.describe()}\nserver log:\n{server.log()}"
        # The server does check the Host header: the address alone gets 400.
        plain = httpx.get(f"{server.base_url}/health", timeout=5.0)
        assert plain.status_code == 400, plain.text


# README


@pytest.mark.parametrize("name", PAIRWISE)
def test_readme_lists_every_setting(render: Render, name: str) -> None:
    project = kit_project(render, name)
    readme = (project.path / "README.md").read_text(encoding="utf-8")
    fields = settings_fields(project)
    assert "port" in fields, fields
    for field in fields:
        assert f"`{field.upper()}`" in readme, f"README omits {field.upper()}"


@pytest.mark.parametrize("name", PAIRWISE)
def test_readme_explains_its_variant(render: Render, name: str) -> None:
    project = kit_project(render, name)
    answers = project.answers
    slug = answers["project_slug"]
    readme = (project.path / "README.md").read_text(encoding="utf-8")
    assert f"uv run {slug} serve" in readme, readme
    assert "uv run pytest" in readme, readme

    has_migrations = answers["database"] != "none" and answers["migrations"]
    assert (f"uv run {slug} db upgrade" in readme) == has_migrations, readme
    assert ("## Database" in readme) == (answers["database"] != "none"), readme
    is_postgresql = answers["database"] == "postgresql"
    assert ("TEST_DATABASE_URL" in readme) == is_postgresql, readme

    docker = bool(answers["docker"])
    assert (f"docker build -t {slug} ." in readme) == docker, readme
    assert ("docker compose up --build" in readme) == docker, readme
    assert ("POSTGRES_PASSWORD" in readme) == (docker and is_postgresql), readme

    for ci, ci_file in (
        ("github", ".github/workflows/ci.yml"),
        ("gitlab", ".gitlab-ci.yml"),
    ):
        assert (ci_file in readme) == (answers["ci"] == ci), readme
    if answers["ci"] != "none":
        # The README's block of checks is exactly what CI runs after installing.
        checks = [command for _step, command in ci_commands(project)[1:]]
        block = "```sh\n" + "\n".join(checks) + "\n```"
        assert block in readme, f"README lacks the CI checks:\n{block}"
