"""The bare application: FastAPI with one route and nothing else.

The benchmarks serve it from a rendered project's environment, so it runs on
the same FastAPI, Starlette and server versions as the generated service.
"""

from fastapi import FastAPI

app = FastAPI()


@app.get("/health")
async def health() -> dict[str, str]:
    """Report that the process is running."""
    return {"status": "ok"}
