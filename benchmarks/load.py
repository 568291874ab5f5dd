"""HTTP/1.1 load generator: keep-alive connections from asyncio streams.

It runs in a process of its own, so the server under test and the client do
not share an interpreter: `python -m benchmarks.load URL` prints one JSON
object with the request count, errors, throughput and latency percentiles.
"""

from __future__ import annotations

import asyncio
import json
import statistics
import subprocess
import sys
import time
from dataclasses import dataclass, field
from typing import Annotated, Any
from urllib.parse import urlsplit

import typer

NAME = "asyncio streams client (benchmarks/load.py)"
# Errors that end one connection; the client counts one error and reconnects.
CONNECTION_ERRORS = (OSError, asyncio.IncompleteReadError, asyncio.LimitOverrunError)
# Seconds a response may take after the deadline before the client gives up.
DRAIN_TIMEOUT = 10.0


@dataclass
class Tally:
    """Requests completed after the warm-up, shared by every connection."""

    latencies: list[float] = field(default_factory=list)
    errors: int = 0


@dataclass(frozen=True)
class Target:
    """The host, port and request that every connection sends."""

    host: str
    port: int
    request: bytes

    @classmethod
    def from_url(cls, url: str) -> Target:
        """Build the GET request for `url`, which must be plain http."""
        parts = urlsplit(url)
        if parts.scheme != "http" or parts.hostname is None or parts.port is None:
            raise typer.BadParameter(
                f"{url!r} is not an http URL with a host and port, "
                "such as http://127.0.0.1:8000/health",
                param_hint="URL",
            )
        path = parts.path or "/"
        if parts.query:
            path = f"{path}?{parts.query}"
        request = f"GET {path} HTTP/1.1\r\nHost: {parts.netloc}\r\n\r\n"
        return cls(parts.hostname, parts.port, request.encode("ascii"))


async def read_response(reader: asyncio.StreamReader) -> tuple[int, bool]:
    """Read one response; return its status and whether the server keeps alive.

    Raises:
        ValueError: The response has no Content-Length, which this client
            needs to find where the body ends.
    """
    head = await reader.readuntil(b"\r\n\r\n")
    lines = head.decode("latin-1").split("\r\n")
    status = int(lines[0].split(" ", 2)[1])
    headers = {}
    for line in lines[1:]:
        name, _, value = line.partition(":")
        headers[name.strip().lower()] = value.strip().lower()
    if "content-length" not in headers:
        raise ValueError(f"response without Content-Length: {lines[0]!r}")
    await reader.readexactly(int(headers["content-length"]))
    return status, headers.get("connection") != "close"


async def keep_sending(
    target: Target, warm_until: float, stop_at: float, tally: Tally
) -> None:
    """Send requests one after another on one connection until `stop_at`."""
    writer: asyncio.StreamWriter | None = None
    reader: asyncio.StreamReader | None = None
    while time.perf_counter() < stop_at:
        try:
            if writer is None or reader is None:
                reader, writer = await asyncio.open_connection(target.host, target.port)
            started = time.perf_counter()
            writer.write(target.request)
            status, keep_alive = await read_response(reader)
            finished = time.perf_counter()
        except (*CONNECTION_ERRORS, ValueError):
            if time.perf_counter() >= warm_until:
                tally.errors += 1
            if writer is not None:
                writer.close()
            writer = reader = None
            # A server that refuses connections must not turn this loop
            # into a busy wait.
            await asyncio.sleep(0.01)
            continue
        if started >= warm_until:
            tally.latencies.append(finished - started)
            if status != 200:
                tally.errors += 1
        if not keep_alive:
            writer.close()
            writer = reader = None
    if writer is not None:
        writer.close()


async def generate(
    target: Target, connections: int, duration: float, warmup: float
) -> dict[str, Any]:
    """Run `connections` connections for `warmup` plus `duration` seconds."""
    tally = Tally()
    begin = time.perf_counter()
    warm_until = begin + warmup
    stop_at = warm_until + duration
    tasks = [
        asyncio.create_task(keep_sending(target, warm_until, stop_at, tally))
        for _ in range(connections)
    ]
    done, pending = await asyncio.wait(tasks, timeout=warmup + duration + DRAIN_TIMEOUT)
    for task in pending:
        task.cancel()
        tally.errors += 1
    for task in done:
        task.result()
    elapsed = max(time.perf_counter(), stop_at) - warm_until
    return summarize(tally, elapsed)


def summarize(tally: Tally, elapsed: float) -> dict[str, Any]:
    """Return the throughput and latency percentiles of the measured requests."""
    latencies_ms = sorted(latency * 1000 for latency in tally.latencies)
    p50 = p99 = None
    if len(latencies_ms) >= 2:
        # 99 cut points: index 49 is the median, index 98 the 99th percentile.
        cuts = statistics.quantiles(latencies_ms, n=100, method="inclusive")
        p50, p99 = cuts[49], cuts[98]
    return {
        "requests": len(latencies_ms),
        "errors": tally.errors,
        "seconds": elapsed,
        "requests_per_second": len(latencies_ms) / elapsed,
        "p50_ms": p50,
        "p99_ms": p99,
    }


def main(
    url: Annotated[str, typer.Argument(help="http URL that every request GETs.")],
    connections: Annotated[
        int, typer.Option(min=1, help="Keep-alive connections, each sequential.")
    ] = 32,
    duration: Annotated[
        float, typer.Option(min=0.1, help="Seconds of measured load.")
    ] = 3.0,
    warmup: Annotated[
        float, typer.Option(min=0.0, help="Seconds of load before measuring.")
    ] = 1.0,
) -> None:
    """Load URL and print the results as one JSON object."""
    target = Target.from_url(url)
    result = asyncio.run(generate(target, connections, duration, warmup))
    typer.echo(json.dumps(result))


def run_load(
    url: str, *, connections: int, duration: float, warmup: float
) -> dict[str, Any]:
    """Run the load generator in a subprocess and return its results."""
    completed = subprocess.run(
        [
            sys.executable,
            "-m",
            "benchmarks.load",
            url,
            f"--connections={connections}",
            f"--duration={duration}",
            f"--warmup={warmup}",
        ],
        capture_output=True,
        text=True,
        timeout=warmup + duration + DRAIN_TIMEOUT + 30,
        check=False,
    )
    if completed.returncode != 0:
        raise RuntimeError(
            f"load generator failed on {url} with exit code "
            f"{completed.returncode}:\n{completed.stdout}{completed.stderr}"
        )
    result: dict[str, Any] = json.loads(completed.stdout)
    return result


if __name__ == "__main__":
    typer.run(main)
