"""The platform's app with three endpoints that raise: from a sync route, an async route and
a dependency, each while holding a database session (and so one of the request slots)."""

from typing import Annotated

from fastapi import Depends
from sqlmodel import text

from app.api.deps import SessionDep
from app.main import create_app

app = create_app()


class Boom(Exception):
    pass


@app.get("/boom/sync")
def boom_sync(session: SessionDep) -> None:
    session.exec(text("SELECT 1"))
    raise Boom("from a sync route")


@app.get("/boom/async")
async def boom_async(session: SessionDep) -> None:
    raise Boom("from an async route")


def exploding_dependency(session: SessionDep) -> None:
    session.exec(text("SELECT 1"))
    raise Boom("from a dependency")


@app.get("/boom/dependency")
def boom_dependency(_: Annotated[None, Depends(exploding_dependency)]) -> None:
    return None
