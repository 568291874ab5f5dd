"""A bare application that reads one post, as the generated `GET /posts/{id}` does.

It sends the same SELECT through the same stack, SQLAlchemy's asyncio API over
psycopg, with SQLAlchemy's default pool, which has the generated service's
default size (5 connections plus 10 overflow). It has no session dependency,
response model or middleware. `DATABASE_URL` names the PostgreSQL database.
"""

import os
from typing import Any

from fastapi import FastAPI, HTTPException
from sqlalchemy import Column, DateTime, Integer, MetaData, String, Table, Text, select
from sqlalchemy.engine import make_url
from sqlalchemy.ext.asyncio import create_async_engine

posts = Table(
    "posts",
    MetaData(),
    Column("id", Integer, primary_key=True),
    Column("title", String(200)),
    Column("body", Text),
    Column("owner_id", Integer),
    Column("created_at", DateTime(timezone=True)),
    Column("updated_at", DateTime(timezone=True)),
)
url = make_url(os.environ["DATABASE_URL"]).set(drivername="postgresql+psycopg")
# Each worker process imports this module and so gets an engine of its own.
engine = create_async_engine(url)
app = FastAPI()


@app.get("/posts/{post_id}")
async def read_post(post_id: int) -> dict[str, Any]:
    """Read one post."""
    async with engine.connect() as connection:
        result = await connection.execute(select(posts).where(posts.c.id == post_id))
        row = result.one_or_none()
    if row is None:
        raise HTTPException(404, "Post not found")
    return dict(row._mapping)
