"""The Search Console API (webmasters v3) as the sync calls it, over connections.google.

- `sites.list`: GET {base}/webmasters/v3/sites -> `siteEntry[{siteUrl, permissionLevel}]`.
- `searchAnalytics.query`: POST {base}/webmasters/v3/sites/{siteUrl}/searchAnalytics/query,
  the property fully percent-encoded (`sc-domain%3Aexample.com`,
  `https%3A%2F%2Fwww.example.com%2F`): a URL-prefix property keeps its exact scheme and
  trailing slash, or Google answers for another property (or 403).

Every call takes a token from two shared buckets (Google's limits are per property and per
user): GSC_QUERIES_PER_MINUTE each, across all workers (core/token_bucket.py).

A searchAnalytics page (up to 25,000 rows, ~4 MB) is decoded straight into typed structs
(msgspec): about twice as fast as `json.loads` into dicts, less memory, and the shape is
checked on the way (a row missing a metric is a malformed page, retried later). Its rows are
decoded when first read, so a page the store holds unchanged (same digest) costs no decoding.
"""

import hashlib
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass
from typing import Any
from urllib.parse import quote

import httpx
import msgspec

from app.connections import google
from app.core.config import settings
from app.core.token_bucket import Bucket
from app.jobs.errors import TransientJobError

SCOPES = ("https://www.googleapis.com/auth/webmasters.readonly",)
ROW_LIMIT = 25_000  # the most one searchAnalytics.query page returns
NO_PERMISSION = "User does not have sufficient permission for site"


# Not tracked by the garbage collector (gc=False): they hold only strings and numbers, so
# never a cycle, and a page's 25,000 of them would otherwise be walked by every collection.
# `keys` is a tuple for the same reason (a tuple of strings is never tracked, a list always
# is), and decodes faster; the counts stay ints when Google sends them as ints (it does).
class SearchRow(msgspec.Struct, gc=False):
    """One row of a searchAnalytics answer: `keys` in the order of the asked dimensions."""

    keys: tuple[str, ...]
    clicks: int | float
    impressions: int | float
    position: float


_NO_ROWS = msgspec.Raw(b"")


class _PageParts(msgspec.Struct, gc=False):
    rows: msgspec.Raw = _NO_ROWS  # the JSON of the rows, undecoded (empty when absent)
    metadata: Any = None


_PAGE_DECODER = msgspec.json.Decoder(_PageParts)
_ROWS_DECODER = msgspec.json.Decoder(list[SearchRow])


def _malformed_rows(exc: msgspec.ValidationError) -> TransientJobError:
    return TransientJobError(
        f"Search Console sent a malformed row or page ({exc})", category="provider_error"
    )


class SearchPage:
    """One searchAnalytics answer. `rows` is None when nothing matches (Google leaves the key
    out); `metadata` (with `firstIncompleteDate` when `dataState` is `all`) is read as sent.

    The rows are decoded on first use of `rows` (or `decode()`), so a page the store already
    holds unchanged is never decoded: `digest` identifies its rows by their JSON as sent, and
    the page's place (rowLimit and startRow asked for)."""

    __slots__ = ("_digest", "_raw", "_rows", "_salt", "metadata")

    def __init__(self, raw_rows: msgspec.Raw | None, metadata: Any, *, salt: bytes = b"") -> None:
        self._raw = raw_rows
        self._rows: list[SearchRow] | None = None
        self._salt = salt
        self._digest: bytes | None = None
        self.metadata = metadata

    @property
    def rows(self) -> list[SearchRow] | None:
        if self._rows is None and self._raw is not None:
            self.decode()
        return self._rows

    def decode(self) -> None:
        """Decodes the rows (a malformed row is a provider fault worth a retry)."""
        if self._rows is not None or self._raw is None:
            return
        try:
            self._rows = _ROWS_DECODER.decode(self._raw)
        except msgspec.ValidationError as exc:
            raise _malformed_rows(exc) from exc

    @property
    def has_rows(self) -> bool:
        raw = self._raw
        if raw is None:
            return False
        # A short answer (maybe "[]") is decoded to tell; a long one has rows.
        return len(memoryview(raw)) > 64 or bool(self.rows)

    @property
    def digest(self) -> bytes | None:
        """A digest of the rows as sent, None without rows."""
        if self._digest is None and self.has_rows:
            assert self._raw is not None
            hasher = hashlib.sha256(self._salt)  # (the fastest where CPUs compute it)
            hasher.update(self._raw)
            self._digest = hasher.digest()[:16]
        return self._digest


def decode_page(raw: bytes, what: str, *, salt: bytes = b"") -> SearchPage:
    """A searchAnalytics answer, its rows left for later; a malformed page is a provider
    fault worth a retry."""
    try:
        parts = _PAGE_DECODER.decode(raw)
    except msgspec.ValidationError as exc:
        raise _malformed_rows(exc) from exc
    except msgspec.DecodeError as exc:
        raise TransientJobError(
            f"{what}: Google's answer is not valid JSON ({len(raw)} bytes)",
            category="provider_error",
        ) from exc
    rows: msgspec.Raw | None = parts.rows
    view = memoryview(parts.rows)
    if len(view) <= 8 and bytes(view).strip() in (b"", b"null"):
        rows = None
    return SearchPage(rows, parts.metadata, salt=salt)


@dataclass(frozen=True, slots=True)
class Site:
    site_url: str
    permission_level: str


def _digest(text: str) -> str:
    return hashlib.sha256(text.encode()).hexdigest()[:16]


def property_path(site_url: str) -> str:
    """The property as one path segment, every reserved character encoded."""
    return quote(site_url, safe="")


class SearchConsoleClient:
    def __init__(
        self,
        *,
        credential: google.GoogleCredential,
        client: httpx.Client,
        checkpoint: Callable[[], None] | None = None,
        base_url: str | None = None,
    ) -> None:
        self.credential = credential
        self.base_url = (base_url or settings.GSC_API_BASE_URL).rstrip("/")
        self._client = client
        self._checkpoint = checkpoint
        self._sessions: dict[str, google.GoogleSession] = {}

    def session(self, site_url: str | None = None) -> google.GoogleSession:
        """The Google session for calls about `site_url` (its own bucket beside the user's)."""
        key = site_url or ""
        if key not in self._sessions:
            per_minute = settings.GSC_QUERIES_PER_MINUTE
            buckets = [Bucket(f"gsc:user:{_digest(self.credential.account)}", per_minute)]
            if site_url is not None:
                buckets.append(Bucket(f"gsc:site:{_digest(site_url)}", per_minute))
            self._sessions[key] = google.GoogleSession(
                credential=self.credential,
                scopes=SCOPES,
                client=self._client,
                buckets=buckets,
                checkpoint=self._checkpoint,
            )
        return self._sessions[key]

    @property
    def retries(self) -> int:
        return sum(s.retries for s in self._sessions.values())

    def list_sites(self) -> list[Site]:
        what = "Search Console sites.list"
        body = self.session().request("GET", f"{self.base_url}/webmasters/v3/sites", what=what)
        data = google.response_json(body, what)
        entries = data.get("siteEntry") if isinstance(data, dict) else None
        return [
            Site(
                site_url=str(e.get("siteUrl", "")),
                permission_level=str(e.get("permissionLevel", "")),
            )
            for e in entries or ()
            if isinstance(e, dict)
        ]

    def query(self, site_url: str, body: Mapping[str, Any]) -> SearchPage:
        """One searchAnalytics.query page, decoded. A 403 for want of permission fails at once
        saying whom to add to the property."""
        what = f"Search Console query for {site_url}"
        url = f"{self.base_url}/webmasters/v3/sites/{property_path(site_url)}/searchAnalytics/query"
        try:
            raw = self.session(site_url).request("POST", url, what=what, json_body=dict(body))
        except google.GoogleApiError as exc:
            if exc.error.http_status == 403 and NO_PERMISSION in exc.error.message:
                raise google.GoogleApiError(
                    f"Search Console refused {self.credential.account} access to {site_url}: "
                    f"add {self.credential.account} as a user of the property in Search "
                    "Console (Settings, Users and permissions)",
                    exc.error,
                    category="permission_denied",
                ) from exc
            raise
        place = f"{body.get('rowLimit', '')}:{body.get('startRow', '')}"
        return decode_page(raw, what, salt=place.encode())

    def query_pages(
        self, site_url: str, body: Mapping[str, Any], *, row_limit: int = ROW_LIMIT
    ) -> Iterator[SearchPage]:
        """Every page of a query: `startRow` += `row_limit` until a page has no rows."""
        start_row = 0
        while True:
            page = self.query(site_url, {**body, "rowLimit": row_limit, "startRow": start_row})
            if not page.has_rows:
                if start_row == 0:
                    yield page  # its metadata still says whether the day is final
                return
            yield page
            # Google's rule: a short page may still be followed by more; only an empty one
            # (no `rows` key at all) ends the query.
            start_row += row_limit
