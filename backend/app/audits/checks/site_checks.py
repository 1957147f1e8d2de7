"""Site-wide checks: SQL over one audit's pages and links, each an
`INSERT ... SELECT` into audit_issues, so nothing site-sized is loaded into the worker.

Each query selects `(url, details)` rows for `:audit_id`; `run_site_checks` wraps it with the
code and severity from the catalogue. The unique (audit, code, url) key makes a re-run (a
retried analyze stage) harmless.
"""

# ruff: noqa: S608 - the queries are fixed text of this module; every value is a bound parameter.

import json
import uuid
from collections.abc import Callable, Iterable, Iterator
from itertools import islice
from typing import Any

import sqlalchemy as sa
from sqlmodel import Session

from app.audits.checks import catalogue as c
from app.audits.crawl.text import hamming
from app.core.config import settings

# A page "redirects" whether the crawler recorded hops or stored the 3xx answer itself, or
# sends visitors on with a meta refresh (a redirect, as search engines treat it).
_REDIRECTS = """(t.redirect_chain <> '[]'::jsonb OR t.status_code BETWEEN 300 AND 399
    OR (t.meta_refresh IS NOT NULL AND t.meta_refresh <> coalesce(t.final_url, t.url)))"""


def _links_to(target_condition: str) -> str:
    """Source pages with internal links whose crawled target matches the condition."""
    return f"""
        SELECT l.source_url AS url,
               jsonb_build_object(
                   'count', count(DISTINCT l.target_url),
                   'targets', to_jsonb((array_agg(DISTINCT l.target_url))[1:10])
               ) AS details
        FROM audit_links l
        JOIN audit_pages t ON t.audit_id = l.audit_id AND t.url = l.target_url
        WHERE l.audit_id = :audit_id AND l.internal AND ({target_condition})
        GROUP BY l.source_url
    """


def _duplicates_of(column: str) -> str:
    """Indexable pages sharing a non-empty value of `column` with another indexable page."""
    return f"""
        SELECT p.url, jsonb_build_object('pages', d.pages, 'value', p.{column}) AS details
        FROM audit_pages p
        JOIN (
            SELECT {column} AS value, count(*) AS pages
            FROM audit_pages
            WHERE audit_id = :audit_id AND indexable AND coalesce({column}, '') <> ''
            GROUP BY {column}
            HAVING count(*) > 1
        ) d ON d.value = p.{column}
        WHERE p.audit_id = :audit_id AND p.indexable
    """


def _canonical_to(target_condition: str) -> str:
    return f"""
        SELECT p.url, jsonb_build_object('canonical', p.canonical_url,
                                         'status_code', t.status_code) AS details
        FROM audit_pages p
        JOIN audit_pages t ON t.audit_id = p.audit_id AND t.url = p.canonical_url
        WHERE p.audit_id = :audit_id AND p.canonical_url <> p.url AND ({target_condition})
    """


# Internal inlinks from another page, raw or revealed by rendering.
_HAS_INLINK = """
    EXISTS (SELECT 1 FROM audit_links l
            WHERE l.audit_id = p.audit_id AND l.target_url = p.url
              AND l.source_url <> p.url AND l.internal)
"""

_HREFLANG_PAIRS = """
    SELECT p.url AS source_url, e->>'lang' AS lang, e->>'url' AS target_url
    FROM audit_pages p, jsonb_array_elements(p.hreflang) e
    WHERE p.audit_id = :audit_id AND p.hreflang <> '[]'::jsonb AND e->>'url' <> p.url
"""


def _hreflang_to(target_condition: str) -> str:
    """Pages with hreflang alternates whose crawled target matches the condition."""
    return f"""
        SELECT h.source_url AS url,
               jsonb_build_object('alternates', to_jsonb((array_agg(DISTINCT h.target_url))[1:10]))
                   AS details
        FROM ({_HREFLANG_PAIRS}) h
        JOIN audit_pages t ON t.audit_id = :audit_id AND t.url = h.target_url
        WHERE {target_condition}
        GROUP BY h.source_url
    """


def _inlinks(condition: str) -> str:
    """HTML pages by the follow/nofollow mix of their internal inlinks from other pages."""
    return f"""
        SELECT p.url, jsonb_build_object('follow', f.follow, 'nofollow', f.nofollow) AS details
        FROM audit_pages p
        JOIN (
            SELECT l.target_url, count(*) FILTER (WHERE NOT l.nofollow) AS follow,
                   count(*) FILTER (WHERE l.nofollow) AS nofollow
            FROM audit_links l
            WHERE l.audit_id = :audit_id AND l.internal AND l.source_url <> l.target_url
            GROUP BY l.target_url
        ) f ON f.target_url = p.url
        WHERE p.audit_id = :audit_id AND p.is_html AND ({condition})
    """


_CRAWL = "(SELECT r.stats_json->'crawl' FROM audit_runs r WHERE r.id = :audit_id)"


def _external_links(condition: str) -> str:
    """Pages linking to checked external targets whose answer matches the condition."""
    return f"""
        SELECT l.source_url AS url,
               jsonb_build_object(
                   'count', count(DISTINCT l.target_url),
                   'targets', to_jsonb((array_agg(DISTINCT l.target_url))[1:10])
               ) AS details
        FROM audit_links l
        JOIN jsonb_each(coalesce({_CRAWL}->'external_links', '{{}}'::jsonb)) e
          ON e.key = l.target_url
        WHERE l.audit_id = :audit_id AND NOT l.internal AND ({condition})
        GROUP BY l.source_url
    """


SiteFinder = Callable[[Session, uuid.UUID], Iterable[tuple[str, dict[str, Any]]]]


def near_duplicates(session: Session, audit_id: uuid.UUID) -> Iterator[tuple[str, dict[str, Any]]]:
    """Indexable pages whose main-content SimHashes differ in at most
    AUDIT_NEAR_DUPLICATE_BITS bits (exact duplicates are duplicate_content's), grouped.

    Candidates share one of four 16-bit bands (with at most 3 differing bits, two close
    hashes always share one); each is compared with a bounded number of its band's
    neighbours, and groups are closed transitively, so a site of near-identical pages costs
    a linear number of comparisons, not a quadratic one."""
    bits = settings.AUDIT_NEAR_DUPLICATE_BITS
    rows = session.execute(
        sa.text(
            "SELECT url, simhash, body_hash FROM audit_pages"
            " WHERE audit_id = :audit_id AND indexable AND simhash IS NOT NULL ORDER BY url"
        ),
        {"audit_id": audit_id},
    ).all()
    parent = list(range(len(rows)))

    def root(index: int) -> int:
        while parent[index] != index:
            parent[index] = parent[parent[index]]
            index = parent[index]
        return index

    window = 16
    for band in range(4):
        buckets: dict[int, list[int]] = {}
        for index, row in enumerate(rows):
            buckets.setdefault((row[1] >> (band * 16)) & 0xFFFF, []).append(index)
        for members in buckets.values():
            for position, index in enumerate(members):
                for other in members[max(0, position - window) : position]:
                    if rows[index][2] == rows[other][2]:
                        continue  # an exact duplicate
                    if hamming(rows[index][1], rows[other][1]) <= bits:
                        parent[root(index)] = root(other)
    groups: dict[int, list[int]] = {}
    for index in range(len(rows)):
        groups.setdefault(root(index), []).append(index)
    for members in groups.values():
        if len(members) < 2 or len({rows[i][2] for i in members}) < 2:
            continue
        examples = [str(rows[i][0]) for i in members[:6]]  # five others than any page
        for i in members:
            url = str(rows[i][0])
            similar = [other for other in examples if other != url][:5]
            yield url, {"group": examples[0], "size": len(members), "similar": similar}


SITE_CHECKS: dict[str, str | SiteFinder] = {
    "internal_link_to_4xx": _links_to("t.status_code BETWEEN 400 AND 499"),
    "internal_link_to_5xx": _links_to("t.status_code >= 500"),
    "internal_link_to_unreachable": _links_to("t.error IS NOT NULL AND t.status_code IS NULL"),
    "internal_link_to_redirect": _links_to(_REDIRECTS),
    "title_duplicate": _duplicates_of("title"),
    "meta_description_duplicate": _duplicates_of("meta_description"),
    "duplicate_content": _duplicates_of("body_hash"),
    "blocked_by_robots_linked": f"""
        SELECT p.url, '{{}}'::jsonb AS details
        FROM audit_pages p
        WHERE p.audit_id = :audit_id AND p.blocked_by_robots AND {_HAS_INLINK}
    """,
    "canonical_to_redirect": _canonical_to(_REDIRECTS),
    "canonical_to_4xx": _canonical_to("t.status_code BETWEEN 400 AND 499"),
    "canonical_to_5xx": _canonical_to("t.status_code >= 500"),
    # A target blocked by robots.txt has no status: it was never fetched.
    "canonical_to_non_indexable": _canonical_to(
        "(t.status_code = 200 AND t.noindex) OR t.blocked_by_robots OR t.blocked_for_agent"
    ),
    "orphan_page": f"""
        SELECT p.url, '{{}}'::jsonb AS details
        FROM audit_pages p
        WHERE p.audit_id = :audit_id AND p.in_sitemap AND p.status_code = 200
          AND NOT p.blocked_by_robots AND NOT {_HAS_INLINK}
          AND p.url <> (SELECT r.config_json->>'start_url' FROM audit_runs r WHERE r.id = :audit_id)
    """,
    "hreflang_missing_return": f"""
        SELECT h.source_url AS url,
               jsonb_build_object('alternates', to_jsonb((array_agg(DISTINCT h.target_url))[1:10]))
                   AS details
        FROM ({_HREFLANG_PAIRS}) h
        JOIN audit_pages t ON t.audit_id = :audit_id AND t.url = h.target_url
        WHERE t.status_code = 200 AND t.redirect_chain = '[]'::jsonb
          AND NOT EXISTS (SELECT 1 FROM jsonb_array_elements(t.hreflang) back
                          WHERE back->>'url' = h.source_url)
        GROUP BY h.source_url
    """,
    "hreflang_to_non_200": _hreflang_to(
        "t.status_code IS DISTINCT FROM 200 AND NOT t.status_code BETWEEN 300 AND 399"
    ),
    "hreflang_to_redirect": _hreflang_to(_REDIRECTS),
    "hreflang_to_noindex": _hreflang_to("t.status_code = 200 AND t.noindex"),
    "hreflang_to_non_canonical": _hreflang_to(
        "t.status_code = 200 AND NOT t.noindex AND t.canonical_url IS NOT NULL"
        " AND t.canonical_url <> t.url"
    ),
    "hreflang_return_lang_mismatch": f"""
        SELECT h.source_url AS url,
               jsonb_build_object('alternates', to_jsonb((array_agg(DISTINCT h.target_url))[1:10]))
                   AS details
        FROM ({_HREFLANG_PAIRS}) h
        JOIN audit_pages t ON t.audit_id = :audit_id AND t.url = h.target_url
        WHERE lower(h.lang) <> 'x-default'
          AND EXISTS (SELECT 1 FROM jsonb_array_elements(t.hreflang) own
                      WHERE own->>'url' = t.url AND lower(own->>'lang') <> 'x-default')
          AND NOT EXISTS (SELECT 1 FROM jsonb_array_elements(t.hreflang) own
                          WHERE own->>'url' = t.url AND lower(own->>'lang') = lower(h.lang))
        GROUP BY h.source_url
    """,
    "canonical_chain": """
        SELECT p.url, jsonb_build_object('chain', jsonb_build_array(p.url, t.url, t.canonical_url))
                   AS details
        FROM audit_pages p
        JOIN audit_pages t ON t.audit_id = p.audit_id AND t.url = p.canonical_url
        WHERE p.audit_id = :audit_id AND p.canonical_url <> p.url
          AND t.canonical_url IS NOT NULL AND t.canonical_url <> t.url
    """,
    "meta_refresh_to_error": f"""
        SELECT p.url, jsonb_build_object('target', p.meta_refresh, 'status_code', t.status_code,
                                         'error', t.error) AS details
        FROM audit_pages p
        JOIN audit_pages t ON t.audit_id = p.audit_id AND t.url = p.meta_refresh
        WHERE p.audit_id = :audit_id AND p.meta_refresh IS NOT NULL
          AND p.meta_refresh <> coalesce(p.final_url, p.url)
          AND (t.status_code >= 400 OR (t.error IS NOT NULL AND t.status_code IS NULL)
               OR {_REDIRECTS})
    """,
    "only_nofollow_inlinks": _inlinks(
        "f.follow = 0 AND f.nofollow > 0"
        " AND p.url <> (SELECT r.config_json->>'start_url' FROM audit_runs r"
        " WHERE r.id = :audit_id)"
    ),
    "mixed_follow_inlinks": _inlinks("f.follow > 0 AND f.nofollow > 0"),
    "near_duplicate_content": near_duplicates,
    # A private address refused by the SSRF guard is link_to_private_address's, not broken.
    "external_link_broken": _external_links(
        "(e.value->>'status')::int >= 400 OR (e.value->>'status' IS NULL"
        " AND e.value->>'error' IS NOT NULL AND e.value->>'error' <> 'blocked_private_address')"
    ),
    "external_link_redirect": _external_links("(e.value->>'status')::int BETWEEN 300 AND 399"),
    "soft_404_same_as_missing": f"""
        SELECT p.url, jsonb_build_object('missing_url', {_CRAWL}->'missing_page_probe'->>'url')
                   AS details
        FROM audit_pages p
        WHERE p.audit_id = :audit_id AND p.status_code = 200 AND p.is_html
          AND ({_CRAWL}->'missing_page_probe'->>'status') = '200'
          AND p.body_hash = {_CRAWL}->'missing_page_probe'->>'body_hash'
    """,
    "sitemap_missing_indexable": f"""
        SELECT p.url, '{{}}'::jsonb AS details
        FROM audit_pages p
        WHERE p.audit_id = :audit_id AND p.indexable AND NOT p.in_sitemap
          AND jsonb_array_length(coalesce({_CRAWL}->'sitemaps_fetched', '[]')) > 0
    """,
    "sitemap_too_large": f"""
        SELECT s->>'url' AS url,
               jsonb_build_object('urls', s->'urls', 'bytes', s->'bytes',
                                  'truncated', coalesce(s->'truncated', 'false'::jsonb))
                   AS details
        FROM jsonb_array_elements(coalesce({_CRAWL}->'sitemap_stats', '[]')) s
        WHERE (s->>'too_large')::boolean
    """,
    "robots_txt_unreachable": """
        SELECT r.config_json->>'start_url' AS url,
               jsonb_build_object('detail', 'robots.txt unreachable (' ||
                   coalesce('HTTP ' || (r.stats_json->'crawl'->>'robots_txt_status'),
                            replace(r.stats_json->'crawl'->>'robots_txt_error', '_', ' ')) || ')')
                   AS details
        FROM audit_runs r
        WHERE r.id = :audit_id
          AND ((r.stats_json->'crawl'->>'robots_txt_status')::int >= 500
               OR r.stats_json->'crawl'->>'robots_txt_error' IS NOT NULL)
    """,
    "image_too_large": f"""
        SELECT p.url,
               jsonb_build_object('count', count(DISTINCT t.url),
                                  'images', to_jsonb((array_agg(DISTINCT t.url))[1:10])) AS details
        FROM audit_pages p, jsonb_array_elements(p.images) img
        JOIN audit_pages t ON t.audit_id = :audit_id AND t.url = img->>'src'
        WHERE p.audit_id = :audit_id AND p.images <> '[]'::jsonb
          AND t.status_code = 200 AND t.size_bytes > {int(settings.AUDIT_IMAGE_MAX_BYTES)}
        GROUP BY p.url
    """,
    "image_broken": """
        SELECT p.url,
               jsonb_build_object('count', count(DISTINCT t.url),
                                  'images', to_jsonb((array_agg(DISTINCT t.url))[1:10])) AS details
        FROM audit_pages p, jsonb_array_elements(p.images) img
        JOIN audit_pages t ON t.audit_id = :audit_id AND t.url = img->>'src'
        WHERE p.audit_id = :audit_id AND p.images <> '[]'::jsonb
          AND (t.status_code >= 400 OR (t.error IS NOT NULL AND t.status_code IS NULL))
        GROUP BY p.url
    """,
    # Missing means a 4xx; a 5xx or no answer is robots_txt_unreachable.
    "robots_txt_missing": """
        SELECT r.config_json->>'start_url' AS url, '{}'::jsonb AS details
        FROM audit_runs r
        WHERE r.id = :audit_id AND (r.stats_json->'crawl'->>'robots_txt_found')::boolean = false
          AND coalesce((r.stats_json->'crawl'->>'robots_txt_status')::int, 404) BETWEEN 400 AND 499
          AND r.stats_json->'crawl'->>'robots_txt_error' IS NULL
    """,
    "sitemap_missing": """
        SELECT r.config_json->>'start_url' AS url, '{}'::jsonb AS details
        FROM audit_runs r
        WHERE r.id = :audit_id
          AND jsonb_array_length(coalesce(r.stats_json->'crawl'->'sitemaps_fetched', '[]')) = 0
          AND r.stats_json ? 'crawl'
    """,
}


def run_site_checks(*, session: Session, audit_id: uuid.UUID) -> dict[str, int]:
    """Runs every site-wide check of the audit; returns the issues each one added."""
    added: dict[str, int] = {}
    for check in c.checks_in_scope("site"):
        query = SITE_CHECKS[check.code]
        if not isinstance(query, str):
            added[check.code] = _insert_found(session, audit_id, check, query(session, audit_id))
            continue
        result = session.execute(
            sa.text(
                f"""
                INSERT INTO audit_issues (audit_id, url, code, severity, details)
                SELECT :audit_id, found.url, :code, :severity, found.details
                FROM ({query}) AS found
                WHERE found.url IS NOT NULL
                ON CONFLICT ON CONSTRAINT uq_audit_issues_audit_id_code_url DO NOTHING
                """
            ),
            {"audit_id": audit_id, "code": check.code, "severity": check.severity.value},
        )
        added[check.code] = result.rowcount  # type: ignore[attr-defined]
    return added


def _insert_found(
    session: Session,
    audit_id: uuid.UUID,
    check: c.Check,
    found: Iterable[tuple[str, dict[str, Any]]],
    batch: int = 500,
) -> int:
    """Inserts what a Python check found, `batch` rows at a time (a site of near-identical
    pages flags every page: the rows are never all in memory)."""
    statement = sa.text(
        """
        INSERT INTO audit_issues (audit_id, url, code, severity, details)
        VALUES (:audit_id, :url, :code, :severity, CAST(:details AS jsonb))
        ON CONFLICT ON CONSTRAINT uq_audit_issues_audit_id_code_url DO NOTHING
        """
    )
    added = 0
    rows = iter(found)
    while chunk := list(islice(rows, batch)):
        result = session.execute(
            statement,
            [
                {
                    "audit_id": audit_id,
                    "url": url,
                    "code": check.code,
                    "severity": check.severity.value,
                    "details": json.dumps(details),
                }
                for url, details in chunk
            ],
        )
        added += int(result.rowcount)  # type: ignore[attr-defined]
    return added
