"""Hostile input against served variants: body size limits and Schemathesis.

Schemathesis runs on a subset of the pairwise set instead of all of it, to
keep the tier within about three minutes on two cores. `fuzz_variants` picks
the subset from the pairwise set, so it follows changes to copier.yml. The
subset is a small set of variants that together cover every server, process
model, database and database API, and every auth scheme with users both in a
database and in the settings. Each variant authenticates with one of its
schemes, chosen so that each scheme authenticates in at least one variant.
The stateful phase follows the links that Schemathesis infers between routes,
such as from `POST /posts` to `GET /posts/{post_id}`.
"""

from __future__ import annotations

import base64
import json
import subprocess
import sys
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import httpx
import pytest

from tests.conftest import Render
from tests.project import RenderedProject, ServerProcess
from tests.report import record
from tests.test_database import empty_database
from tests.variants import Answers, model, variant_id

AUTH_SCHEMES = ("basic", "jwt", "api_key")
BASIC_FIRST = AUTH_SCHEMES
BASIC_LAST = ("api_key", "jwt", "basic")
COVERED_QUESTIONS = ("server", "process_model", "database", "db_api")
# The template's default MAX_REQUEST_BODY_SIZE, which the served variants keep.
MAX_REQUEST_BODY_SIZE = 1_048_576
# Schemathesis generates at most this many cases per operation and phase; the
# seed makes a failure reproducible with the command in the test output.
MAX_EXAMPLES = 15
SCHEMATHESIS_SEED = 20260101
SCHEMATHESIS_TIMEOUT = 600
SCHEMATHESIS = Path(sys.executable).with_name("schemathesis")
EMAIL = "fuzz@example.com"
PASSWORD = "correct horse battery staple"
# Seconds a variant may take to respond to /health; generous, because the machine
# may be busy with other tests and OpenTelemetry variants import more.
BOOT_TIMEOUT = 60.0

Feature = tuple[str, ...]


def fuzz_features(variant: Mapping[str, Any]) -> set[Feature]:
    """Return what a variant contributes to the coverage of the fuzzed subset."""
    features = {
        (name, str(variant[name])) for name in COVERED_QUESTIONS if name in variant
    }
    store = "settings" if variant["database"] == "none" else "database"
    features |= {("auth", scheme, store) for scheme in variant["auth"]}
    return features


def fuzz_variants(variants: list[Answers]) -> list[Answers]:
    """Pick the variants to fuzz: greedily, the one that covers most features left."""
    uncovered = set().union(*(fuzz_features(variant) for variant in variants))
    chosen = []
    while uncovered:
        best = max(
            variants, key=lambda variant: len(fuzz_features(variant) & uncovered)
        )
        chosen.append(best)
        uncovered -= fuzz_features(best)
    return chosen


def assign_schemes(variants: list[Answers]) -> dict[str, str | None]:
    """Map each variant's id to the scheme it authenticates with, or None.

    Schemes not yet used go first, so that each one is used somewhere. Every
    HTTP Basic request runs Argon2, so variants without a database, which have
    the fewest routes and so get the fewest requests, take it first.
    """
    used: set[str] = set()
    schemes: dict[str, str | None] = {}
    for variant in sorted(variants, key=lambda variant: variant["database"] != "none"):
        preference = BASIC_FIRST if variant["database"] == "none" else BASIC_LAST
        offered = [scheme for scheme in preference if scheme in variant["auth"]]
        fresh = [scheme for scheme in offered if scheme not in used]
        scheme = (fresh or offered or [None])[0]
        if scheme is not None:
            used.add(scheme)
        schemes[variant_id(variant)] = scheme
    return schemes


FUZZ_VARIANTS = fuzz_variants(model().pairwise_variants())
SCHEMES = assign_schemes(FUZZ_VARIANTS)


def test_fuzzed_subset_covers_every_value() -> None:
    for name in COVERED_QUESTIONS:
        question = next(q for q in model().questions if q.name == name)
        values = {str(value) for value in question.values}
        fuzzed = {str(variant[name]) for variant in FUZZ_VARIANTS if name in variant}
        assert fuzzed == values, f"{name}: fuzzed {sorted(fuzzed)} of {sorted(values)}"
    for store in ("database", "settings"):
        for scheme in AUTH_SCHEMES:
            assert any(
                ("auth", scheme, store) in fuzz_features(variant)
                for variant in FUZZ_VARIANTS
            ), f"no fuzzed variant has {scheme} auth with users in the {store}"
    used = set(SCHEMES.values())
    assert used >= set(AUTH_SCHEMES), f"schemes used to authenticate: {used}"


def run_cli(
    project: RenderedProject, *args: str, env: dict[str, str], **kwargs: Any
) -> str:
    """Run the project's command line and return its output; fail on an error."""
    result = project.tool(project.slug, *args, env=env, **kwargs)
    assert result.returncode == 0, result.describe()
    return result.output


@contextmanager
def service_env(
    project: RenderedProject, postgres_server_url: str, folder: Path
) -> Iterator[tuple[dict[str, str], dict[str, str]]]:
    """Yield the server's environment and the credentials of a user it accepts.

    With a database, the tables are created and the user is a superuser made
    with `create-user`, so that Schemathesis reaches every route. Without one,
    the user and the API key go into `AUTH_USERS` and `API_KEYS`.
    """
    auth = project.answers["auth"]
    credentials: dict[str, str] = {"email": EMAIL, "password": PASSWORD}
    if project.answers["database"] == "none":
        env: dict[str, str] = {}
        if "basic" in auth or "jwt" in auth:
            digest = run_cli(
                project, "hash-password", "--password-stdin", env=env, input=PASSWORD
            )
            env["AUTH_USERS"] = json.dumps({EMAIL: digest.strip().splitlines()[-1]})
        if "api_key" in auth:
            output = run_cli(project, "create-api-key", "fuzz", env=env)
            lines = output.strip().splitlines()
            credentials["api_key"] = lines[-1]
            env["API_KEYS"] = next(line.strip() for line in lines if "{" in line)
        yield env, credentials
        return
    with empty_database(project, postgres_server_url, folder) as database_url:
        env = {"DATABASE_URL": database_url}
        migrations = project.answers.get("migrations")
        run_cli(project, "db", "upgrade" if migrations else "create", env=env)
        if auth:
            # A first user takes id 1, the lowest valid id, which Schemathesis tries,
            # so that DELETE /users/1 removes that user and not the fuzzing one.
            for email, flags in (("first@example.com", []), (EMAIL, ["--superuser"])):
                run_cli(
                    project,
                    "create-user",
                    email,
                    "--password-stdin",
                    *flags,
                    env=env,
                    input=f"{PASSWORD}\n",
                )
        if "api_key" in auth:
            output = run_cli(project, "create-api-key", EMAIL, env=env)
            credentials["api_key"] = output.strip().splitlines()[0]
        yield env, credentials


def auth_headers(
    server: ServerProcess, scheme: str | None, credentials: Mapping[str, str]
) -> dict[str, str]:
    """Return the headers that authenticate a request with `scheme`."""
    if scheme is None:
        return {}
    if scheme == "api_key":
        return {"X-API-Key": credentials["api_key"]}
    if scheme == "basic":
        pair = f"{credentials['email']}:{credentials['password']}".encode()
        return {"Authorization": f"Basic {base64.b64encode(pair).decode()}"}
    response = httpx.post(
        f"{server.base_url}/auth/token",
        data={"username": credentials["email"], "password": credentials["password"]},
    )
    assert response.status_code == 200, response.text
    return {"Authorization": f"Bearer {response.json()['access_token']}"}


def body_route(openapi: Mapping[str, Any]) -> tuple[str, str] | None:
    """Return the path and media type of a POST route that reads a body."""
    for path, operations in openapi["paths"].items():
        body = operations.get("post", {}).get("requestBody")
        if body is not None:
            return path, next(iter(body["content"]))
    return None


def oversized_chunks(size: int, chunk_size: int = 64 * 1024) -> Iterator[bytes]:
    """Yield `size` bytes in chunks, which httpx sends without Content-Length."""
    for start in range(0, size, chunk_size):
        yield b"a" * min(chunk_size, size - start)


def check_body_limit(server: ServerProcess, headers: Mapping[str, str]) -> int:
    """Check the 413 responses to oversized bodies and return the requests sent."""
    openapi = httpx.get(f"{server.base_url}/openapi.json").json()
    route = body_route(openapi)
    path, media_type = route if route is not None else ("/health", "text/plain")
    url = f"{server.base_url}{path}"
    headers = {**headers, "Content-Type": media_type}
    limit = MAX_REQUEST_BODY_SIZE
    expected = {"detail": f"Request body is larger than the limit of {limit} bytes"}
    sent = 0
    with httpx.Client(timeout=30) as client:
        declared = client.post(url, content=b"a" * (limit + 1), headers=headers)
        sent += 1
        assert declared.status_code == 413, declared.text
        assert declared.json() == expected, declared.text
        assert declared.headers["X-Request-ID"], declared.headers

        at_limit = client.post(url, content=b"a" * limit, headers=headers)
        sent += 1
        assert at_limit.status_code != 413, at_limit.text
        assert at_limit.status_code < 500, at_limit.text

        if route is not None:
            # Only a route that reads the body can count a chunked one.
            chunked = client.post(
                url,
                content=oversized_chunks(limit + 1),
                headers=headers,
            )
            sent += 1
            assert chunked.status_code == 413, chunked.text
            assert chunked.json() == expected, chunked.text
        if media_type == "application/json":
            malformed = client.post(url, content=b'{"title": ', headers=headers)
            sent += 1
            assert malformed.status_code == 422, malformed.text
            assert malformed.json()["detail"][0]["type"] == "json_invalid", (
                malformed.text
            )
    return sent


def run_schemathesis(
    server: ServerProcess, headers: Mapping[str, str], folder: Path
) -> tuple[dict[str, Any], str]:
    """Run Schemathesis on the server's own OpenAPI document.

    Returns the JSON report, with the number of requests sent added, and the
    console output, which shows each failure with a command that reproduces it.
    """
    report_path = folder / "schemathesis.json"
    args = [
        str(SCHEMATHESIS),
        "run",
        f"{server.base_url}/openapi.json",
        "--checks",
        "not_a_server_error,response_schema_conformance",
        # The coverage phase, which walks every boundary of every parameter, is
        # left out for time; the fuzzing phase found the same 500s.
        "--phases",
        "examples,fuzzing,stateful",
        "--max-examples",
        str(MAX_EXAMPLES),
        "--seed",
        str(SCHEMATHESIS_SEED),
        "--workers",
        "1",
        "--generation-database",
        "none",
        # Only the credentials below, so that most requests get past auth.
        "--generation-with-security-parameters",
        "false",
        "--no-color",
        "--report",
        "json,har",
        "--report-json-path",
        str(report_path),
        "--report-har-path",
        str(folder / "schemathesis.har"),
    ]
    for name, value in headers.items():
        args += ["--header", f"{name}: {value}"]
    completed = subprocess.run(
        args,
        cwd=folder,
        capture_output=True,
        text=True,
        timeout=SCHEMATHESIS_TIMEOUT,
        check=False,
    )
    output = completed.stdout + completed.stderr
    assert report_path.is_file(), f"schemathesis wrote no report:\n{output}"
    report: dict[str, Any] = json.loads(report_path.read_text(encoding="utf-8"))
    # The HAR file records every request sent, stateful steps included.
    har = json.loads((folder / "schemathesis.har").read_text(encoding="utf-8"))
    report["requests_sent"] = len(har["log"]["entries"])
    return report, output


@pytest.mark.parametrize(
    "fuzzed_variant",
    [
        pytest.param(
            variant,
            id=variant_id(variant),
            # The variant tier's group, so that both share one render.
            marks=pytest.mark.xdist_group(variant_id(variant)),
        )
        for variant in FUZZ_VARIANTS
    ],
)
def test_hostile_input_over_http(
    render: Render,
    fuzzed_variant: Answers,
    postgres_server_url: str,
    tmp_path: Path,
) -> None:
    project = render(**fuzzed_variant)
    scheme = SCHEMES[variant_id(fuzzed_variant)]
    with (
        service_env(project, postgres_server_url, tmp_path) as (env, credentials),
        project.serve(env=env) as server,
    ):
        server.wait_until_healthy(timeout=BOOT_TIMEOUT)
        headers = auth_headers(server, scheme, credentials)
        limit_requests = check_body_limit(server, headers)
        report, output = run_schemathesis(server, headers, tmp_path)
        exit_code = server.stop()

    label = "/".join(str(fuzzed_variant.get(name, "-")) for name in COVERED_QUESTIONS)
    record("body size limit", variant=label, requests=limit_requests)
    record(
        "schemathesis",
        variant=f"{label}, auth {scheme or '-'}",
        requests=report["requests_sent"],
        failures=report["test_cases"]["unique_failures"],
        errors=len(report["errors"]),
        seconds=round(report["running_time"]),
    )
    log = server.log()
    assert report["exit_code"] == 0, output
    assert report["failures"] == [], output
    assert report["errors"] == [], output
    assert report["operations"]["tested"] == report["operations"]["total"], output
    assert exit_code == 0, log
    assert "Traceback" not in log, log
