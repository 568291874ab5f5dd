"""The production kit: Dockerfile, compose file, CI, pre-commit and README.

Docker has no engine in the test environment, so the image and the stack are
validated statically: hadolint lints the Dockerfile, and the Compose
specification schema bundled with check-jsonschema validates compose.yaml.
The CI commands, extracted from the rendered CI configuration, run in the
rendered project itself.
"""

from __future__ import annotations

import fnmatch
import json
import os
import re
import secrets
import shutil
import subprocess
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import pytest
import uv
import yaml

from extensions.versions import UV_VERSION
from tests.conftest import Render
from tests.project import CommandResult, RenderedProject
from tests.test_render import JINJA_MARKERS

VENV_BIN = Path(sys.executable).parent
UV_BIN = Path(uv.find_uv_bin()).parent
MAX_LINE_LENGTH = 88
FULL_SHA = re.compile(r"[0-9a-f]{40}")
REQUIRED_VARIABLE = re.compile(r"\$\{(\w+):\?")
POSTGRES_ADMIN = ["-h", "127.0.0.1", "-p", "5432", "-U", "postgres"]

# Variants that together cover every server, process model, database, db_api
# and CI system. Each is rendered once per session through `render`.
KIT_VARIANTS: dict[str, dict[str, object]] = {
    "default": {},
    "gunicorn-postgresql-github": {
        "process_model": "gunicorn",
        "database": "postgresql",
    },
    "hypercorn-postgresql-gitlab": {
        "server": "hypercorn",
        "process_model": "workers",
        "database": "postgresql",
        "db_api": "sync",
        "migrations": False,
        "ci": "gitlab",
    },
    "granian-sqlite-gitlab": {
        "server": "granian",
        "process_model": "workers",
        "database": "sqlite",
        "db_api": "sync",
        "auth": [],
        "ci": "gitlab",
    },
    "granian-no-database-github": {
        "server": "granian",
        "database": "none",
        "auth": ["basic"],
    },
}
# The machine runs Python 3.11 only, so these variants' files are checked
# statically and their commands are not run.
STATIC_VARIANTS: dict[str, dict[str, object]] = {
    "python-3.14-postgresql-github": {
        "python_version": "3.14",
        "server": "hypercorn",
        "database": "postgresql",
    },
    "python-3.12-sqlite-gitlab": {
        "python_version": "3.12",
        "database": "sqlite",
        "migrations": False,
        "ci": "gitlab",
    },
}
ALL_VARIANTS = {**KIT_VARIANTS, **STATIC_VARIANTS}
GITHUB_VARIANTS = [
    name
    for name, answers in ALL_VARIANTS.items()
    if answers.get("ci", "github") == "github"
]
GITLAB_VARIANTS = [
    name for name, answers in ALL_VARIANTS.items() if answers.get("ci") == "gitlab"
]
WITHOUT_KIT = {"docker": False, "ci": "none"}

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
    "src/app/main.py",
    "alembic.ini",
    "migrations/env.py",
)
CHECK_TOOLS = ("ruff check", "ruff format --check", "mypy", "pytest")


def kit_project(render: Render, name: str) -> RenderedProject:
    """Render the kit variant `name`, once per session."""
    return render(**ALL_VARIANTS[name])


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


def check_schema(project: RenderedProject, schema: str, relpath: str) -> CommandResult:
    """Validate a project file against one of check-jsonschema's bundled schemas."""
    return venv_tool(
        "check-jsonschema", "--builtin-schema", schema, relpath, cwd=project.path
    )


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


def read_env_file(path: Path) -> dict[str, str]:
    """Parse the `NAME=value` lines of a `.env` file."""
    values = {}
    for line in path.read_text(encoding="utf-8").splitlines():
        if line and not line.startswith("#") and "=" in line:
            name, _, value = line.partition("=")
            values[name] = value
    return values


@contextmanager
def scratch_database() -> Iterator[str]:
    """Create a uniquely named database on the local PostgreSQL; drop it after."""
    name = f"kit_{secrets.token_hex(6)}"
    created = subprocess.run(
        ["createdb", *POSTGRES_ADMIN, name],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert created.returncode == 0, f"createdb {name} failed: {created.stderr}"
    try:
        yield name
    finally:
        subprocess.run(
            ["dropdb", *POSTGRES_ADMIN, "--if-exists", "--force", name],
            capture_output=True,
            timeout=60,
            check=False,
        )


@contextmanager
def ci_test_database(project: RenderedProject) -> Iterator[str | None]:
    """Yield the CI's TEST_DATABASE_URL aimed at a scratch local database.

    Yields None when the CI sets no TEST_DATABASE_URL.
    """
    url = ci_test_database_url(project)
    if url is None:
        yield None
        return
    with scratch_database() as database:
        yield re.sub(r"@[^/@]+/\w+$", f"@127.0.0.1:5432/{database}", url)


# Which files each variant gets


@pytest.mark.parametrize("name", ALL_VARIANTS)
def test_kit_files_follow_answers(render: Render, name: str) -> None:
    project = kit_project(render, name)
    ci = project.answers["ci"]
    package = project.answers["package_name"]
    for path in ("Dockerfile", ".dockerignore", "compose.yaml"):
        assert path in project.files, f"{path} missing from {project.files}"
    assert f"src/{package}/healthcheck.py" in project.files, project.files
    assert "tests/test_healthcheck.py" in project.files, project.files
    assert ".gitattributes" in project.files, project.files
    assert ".pre-commit-config.yaml" in project.files, project.files
    has_github = ".github/workflows/ci.yml" in project.files
    has_gitlab = ".gitlab-ci.yml" in project.files
    assert has_github == (ci == "github"), f"ci={ci}: {project.files}"
    assert has_gitlab == (ci == "gitlab"), f"ci={ci}: {project.files}"


def test_no_kit_without_docker_and_ci(render: Render) -> None:
    project = render(**WITHOUT_KIT)
    package = project.answers["package_name"]
    for path in (
        "Dockerfile",
        ".dockerignore",
        "compose.yaml",
        ".gitlab-ci.yml",
        ".github/workflows/ci.yml",
        ".github/dependabot.yml",
        f"src/{package}/healthcheck.py",
        "tests/test_healthcheck.py",
    ):
        assert path not in project.files, f"{path} rendered with {WITHOUT_KIT}"
    readme = (project.path / "README.md").read_text(encoding="utf-8")
    assert "docker" not in readme.lower(), readme


@pytest.mark.parametrize("name", ALL_VARIANTS)
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


# Dockerfile


@pytest.mark.parametrize("name", ALL_VARIANTS)
def test_dockerfile_passes_hadolint(render: Render, name: str) -> None:
    project = kit_project(render, name)
    result = venv_tool("hadolint", "Dockerfile", cwd=project.path)
    assert result.returncode == 0, result.describe()


@pytest.mark.parametrize("name", ALL_VARIANTS)
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


@pytest.mark.parametrize("name", ALL_VARIANTS)
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

    has_migrations = answers["database"] != "none" and answers["migrations"]
    assert ("COPY alembic.ini ./" in copies) == has_migrations, copies
    assert ("COPY migrations ./migrations" in copies) == has_migrations, copies
    if answers["database"] == "sqlite":
        assert 'VOLUME ["/data"]' in runtime, runtime
        assert f":////data/{answers['package_name']}.db" in environment, environment


@pytest.mark.parametrize("name", ["default", "gunicorn-postgresql-github"])
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


@pytest.mark.parametrize("name", ALL_VARIANTS)
def test_compose_matches_compose_spec(render: Render, name: str) -> None:
    project = kit_project(render, name)
    result = check_schema(project, "vendor.compose-spec", "compose.yaml")
    assert result.returncode == 0, result.describe()


@pytest.mark.parametrize("name", ALL_VARIANTS)
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


@pytest.mark.parametrize("name", ALL_VARIANTS)
def test_compose_variables_in_env_file(render: Render, name: str) -> None:
    project = kit_project(render, name)
    compose = (project.path / "compose.yaml").read_text(encoding="utf-8")
    env_file = read_env_file(project.path / ".env")
    for variable in REQUIRED_VARIABLE.findall(compose):
        assert env_file.get(variable), f"{variable} is required but not in .env"


# CI


@pytest.mark.parametrize("name", GITHUB_VARIANTS)
def test_github_files_match_schemas(render: Render, name: str) -> None:
    project = kit_project(render, name)
    for schema, path in (
        ("vendor.github-workflows", ".github/workflows/ci.yml"),
        ("vendor.dependabot", ".github/dependabot.yml"),
    ):
        result = check_schema(project, schema, path)
        assert result.returncode == 0, result.describe()


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
def test_gitlab_ci_matches_schema(render: Render, name: str) -> None:
    project = kit_project(render, name)
    result = check_schema(project, "vendor.gitlab-ci", ".gitlab-ci.yml")
    assert result.returncode == 0, result.describe()
    pipeline = load_yaml(project.path / ".gitlab-ci.yml")
    image = pipeline["default"]["image"]
    expected = f"{UV_VERSION}-python{project.answers['python_version']}-"
    assert image.startswith(f"ghcr.io/astral-sh/uv:{expected}"), image


@pytest.mark.parametrize("name", ALL_VARIANTS)
def test_ci_runs_every_check(render: Render, name: str) -> None:
    project = kit_project(render, name)
    commands = [command for _step, command in ci_commands(project)]
    assert "uv sync --locked" in commands[0], commands
    for tool in CHECK_TOOLS:
        assert any(f"uv run {tool}" in command for command in commands), commands


@pytest.mark.parametrize("name", ALL_VARIANTS)
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
        assert url.startswith("postgresql+psycopg://"), url
        assert len(images) == 1, images
        assert images[0].startswith("postgres:"), images
    else:
        assert url is None, url
        assert images == [], images


@pytest.mark.parametrize("name", KIT_VARIANTS)
def test_ci_commands_pass_locally(render: Render, name: str) -> None:
    project = kit_project(render, name)
    env = {"PATH": f"{UV_BIN}{os.pathsep}{os.environ['PATH']}"}
    with ci_test_database(project) as test_database_url:
        if test_database_url is not None:
            env["TEST_DATABASE_URL"] = test_database_url
        for step, command in ci_commands(project):
            result = project.run(["bash", "-e", "-c", command], env=env)
            assert result.returncode == 0, f"CI step {step!r}:\n{result.describe()}"


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


# README


@pytest.mark.parametrize("name", KIT_VARIANTS)
def test_readme_lists_every_setting(render: Render, name: str) -> None:
    project = kit_project(render, name)
    package = project.answers["package_name"]
    result = project.tool(
        "python",
        "-c",
        f"import json; from {package}.settings import Settings; "
        "print(json.dumps(sorted(Settings.model_fields)))",
    )
    assert result.returncode == 0, result.describe()
    readme = (project.path / "README.md").read_text(encoding="utf-8")
    for field in json.loads(result.output):
        assert f"`{field.upper()}`" in readme, f"README omits {field.upper()}"


@pytest.mark.parametrize("name", ALL_VARIANTS)
def test_readme_explains_its_variant(render: Render, name: str) -> None:
    project = kit_project(render, name)
    answers = project.answers
    slug = answers["project_slug"]
    readme = (project.path / "README.md").read_text(encoding="utf-8")
    assert f"uv run {slug} serve" in readme, readme
    assert f"docker build -t {slug} ." in readme, readme
    assert "docker compose up --build" in readme, readme

    has_migrations = answers["database"] != "none" and answers["migrations"]
    assert (f"uv run {slug} db upgrade" in readme) == has_migrations, readme
    assert ("## Migrate the database" in readme) == has_migrations, readme
    is_postgresql = answers["database"] == "postgresql"
    assert ("TEST_DATABASE_URL" in readme) == is_postgresql, readme
    assert ("POSTGRES_PASSWORD" in readme) == is_postgresql, readme
    ci_file = {"github": ".github/workflows/ci.yml", "gitlab": ".gitlab-ci.yml"}
    assert ci_file[str(answers["ci"])] in readme, readme

    # The README's block of checks is exactly what CI runs after installing.
    checks = [command for _step, command in ci_commands(project)[1:]]
    block = "```sh\n" + "\n".join(checks) + "\n```"
    assert block in readme, f"README lacks the CI checks:\n{block}"
