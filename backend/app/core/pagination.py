"""One way to page a list: the bounds every list accepts, the page's rows, whether more
follow, and a count that never walks a whole large table.

The page is read with one row more than asked (`has_more`). The count is free when the page
reaches the end of the list (offset + rows); a list with a cheap exact count of its own (job
lists: the rollups) gives it. Otherwise it is counted, but only up to `COUNT_AHEAD` rows past
the page: lists of hundreds of thousands of rows answer as fast as small ones, with `count`
then a lower bound and `count_is_estimate` true (pages go on while `has_more`).
"""

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, Generic, TypeVar

from sqlalchemy import func
from sqlmodel import Session, SQLModel, select
from sqlmodel.sql.expression import SelectOfScalar

T = TypeVar("T")
U = TypeVar("U")

DEFAULT_PAGE_SIZE = 50
MAX_PAGE_SIZE = 500
MAX_OFFSET = 10_000_000
# Rows counted past the end of the page before the count stops being exact.
COUNT_AHEAD = 1000


class PagePublic(SQLModel):
    """The pagination fields of every paginated list body, beside its `data`."""

    count: int
    # More rows follow this page.
    has_more: bool = False
    # `count` is a lower bound: counting stopped COUNT_AHEAD rows past the page.
    count_is_estimate: bool = False


@dataclass(frozen=True, slots=True)
class PageRequest:
    limit: int = DEFAULT_PAGE_SIZE
    offset: int = 0


@dataclass(frozen=True, slots=True)
class Page(Generic[T]):
    rows: list[T]
    count: int
    has_more: bool
    count_is_estimate: bool

    def with_rows(self, rows: list[U]) -> "Page[U]":
        """The same page over other rows (the public form of each row, say)."""
        return Page(rows, self.count, self.has_more, self.count_is_estimate)

    def public(self) -> dict[str, Any]:
        """The pagination fields of a `{data, count, has_more, count_is_estimate}` body."""
        return {
            "count": self.count,
            "has_more": self.has_more,
            "count_is_estimate": self.count_is_estimate,
        }


def paginate(
    session: Session,
    statement: SelectOfScalar[T],
    page: PageRequest,
    *,
    exact_count: Callable[[], int] | None = None,
) -> Page[T]:
    """`statement` (filtered and ordered) read at `page`, with its bounded count; or with
    `exact_count`'s, when the caller has a cheap exact one (a rollup)."""
    fetched = list(session.exec(statement.offset(page.offset).limit(page.limit + 1)).all())
    has_more = len(fetched) > page.limit
    rows = fetched[: page.limit]
    if not has_more and (rows or page.offset == 0):
        return Page(rows, page.offset + len(rows), has_more=False, count_is_estimate=False)
    if exact_count is not None:
        return Page(rows, exact_count(), has_more=has_more, count_is_estimate=False)
    bound = page.offset + page.limit + COUNT_AHEAD
    counted = statement.order_by(None).limit(bound + 1).subquery()
    count = session.exec(select(func.count()).select_from(counted)).one()
    return Page(rows, min(count, bound), has_more=has_more, count_is_estimate=count > bound)
