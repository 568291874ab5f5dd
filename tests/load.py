"""Send HTTP load to a booted service and print every request's outcome.

Run as a separate process, so the load does not share an event loop or a GIL
with the test that starts it: `python tests/load.py CONFIG_JSON`. CONFIG_JSON
contains `base_url` (an http://127.0.0.1 address), `connections`, `max_seconds`
and `headers`. Each connection loops over three requests: `GET /health`,
`POST /posts` and `GET /posts/{id}` of the post it created last.

Once every connection has had a response, the process writes `ready` to
stderr. The load stops when stdin is closed, or after `max_seconds`. Then it
prints a JSON list with one object per request (see `Outcome`) to stdout.

Times are `time.monotonic()` values. On Linux that clock is system-wide, so
the test that reads the output can compare them with its own events.
"""

from __future__ import annotations

import asyncio
import json
import sys
import threading
import time
from dataclasses import asdict, dataclass
from typing import Any
from urllib.parse import urlsplit

import httpx

# Pause after a failed connection attempt, so a stopped server is not polled
# in a busy loop for the rest of the load.
RETRY_PAUSE = 0.05
REQUEST_TIMEOUT = 30.0


@dataclass
class Outcome:
    """What happened to one request.

    `sent` is when the request was fully written to the socket, or None if it
    never was; `status` is None when no complete response arrived, and `error`
    then names the exception. `body` keeps the start of error responses.
    """

    method: str
    path: str
    started: float
    sent: float | None
    ended: float
    status: int | None
    error: str | None
    body: str | None
    post_id: int | None


async def send(
    client: httpx.AsyncClient, method: str, path: str, body: object = None
) -> tuple[Outcome, httpx.Response | None]:
    """Send one request and return its outcome and, if one came, the response."""
    sent: list[float] = []

    async def trace(event: str, info: dict[str, Any]) -> None:
        if event == "http11.send_request_body.complete":
            sent.append(time.monotonic())

    started = time.monotonic()
    response = None
    error = None
    try:
        response = await client.request(
            method, path, json=body, extensions={"trace": trace}
        )
    except httpx.HTTPError as exception:
        error = f"{type(exception).__name__}: {exception}"
    outcome = Outcome(
        method=method,
        path=path,
        started=started,
        sent=sent[0] if sent else None,
        ended=time.monotonic(),
        status=None if response is None else response.status_code,
        error=error,
        body=None if response is None or response.is_success else response.text[:300],
        post_id=None,
    )
    return outcome, response


class LoadState:
    """The outcomes so far, and the events that start the report and the stop."""

    def __init__(self, connections: int) -> None:
        self.connections = connections
        self.outcomes: list[Outcome] = []
        self.answered: set[int] = set()
        self.stop = asyncio.Event()

    def add(self, connection: int, outcome: Outcome) -> None:
        """Keep `outcome`; report `ready` once every connection had a response."""
        self.outcomes.append(outcome)
        if outcome.status is None or len(self.answered) == self.connections:
            return
        self.answered.add(connection)
        if len(self.answered) == self.connections:
            sys.stderr.write("ready\n")
            sys.stderr.flush()


async def connection_loop(
    client: httpx.AsyncClient, connection: int, state: LoadState
) -> None:
    """Send the request cycle on one connection until the load stops."""
    post_path = None
    step = 0
    while not state.stop.is_set():
        if step % 3 == 0:
            outcome, response = await send(client, "GET", "/health")
        elif step % 3 == 1:
            body = {"title": f"Load {step}", "body": "Written under load."}
            outcome, response = await send(client, "POST", "/posts", body)
            if response is not None and response.status_code == 201:
                outcome.post_id = response.json()["id"]
                post_path = f"/posts/{outcome.post_id}"
        else:
            outcome, response = await send(client, "GET", post_path or "/posts")
        state.add(connection, outcome)
        step += 1
        if outcome.error is not None and outcome.sent is None:
            await asyncio.sleep(RETRY_PAUSE)


def stop_on_stdin_close(loop: asyncio.AbstractEventLoop, stop: asyncio.Event) -> None:
    """Set `stop` from a thread once stdin reaches end of file."""

    def wait_for_close() -> None:
        sys.stdin.read()
        loop.call_soon_threadsafe(stop.set)

    threading.Thread(target=wait_for_close, daemon=True).start()


async def run_load(config: dict[str, Any]) -> list[Outcome]:
    """Run `config["connections"]` connection loops until the load stops."""
    connections = int(config["connections"])
    limits = httpx.Limits(
        max_connections=connections, max_keepalive_connections=connections
    )
    state = LoadState(connections)
    stop_on_stdin_close(asyncio.get_running_loop(), state.stop)
    asyncio.get_running_loop().call_later(float(config["max_seconds"]), state.stop.set)
    async with httpx.AsyncClient(
        base_url=config["base_url"],
        headers=config.get("headers", {}),
        limits=limits,
        timeout=REQUEST_TIMEOUT,
        trust_env=False,
    ) as client:
        await asyncio.gather(
            *(connection_loop(client, number, state) for number in range(connections))
        )
    return state.outcomes


def main(argv: list[str]) -> None:
    """Read the config from `argv[1]`, run the load and print the outcomes."""
    config = json.loads(argv[1])
    host = urlsplit(config["base_url"]).hostname
    if host != "127.0.0.1":
        raise SystemExit(f"base_url {config['base_url']!r} is not on 127.0.0.1")
    outcomes = asyncio.run(run_load(config))
    json.dump([asdict(outcome) for outcome in outcomes], sys.stdout)


if __name__ == "__main__":
    main(sys.argv)
