"""Site-wide checks: SQL over one audit's pages and links, each an
`INSERT ... SELECT` into audit_issues, so nothing site-sized is loaded into the worker.

Each query selects `(url, details)` rows for `:audit_id`; `run_site_checks` wraps it with the
code and severity from the catalogue. The unique (audit, code, url) key makes a re-run (a
retried analyze stage) harmless.
"""

# ruff: noqa: S608 - the queries are fixed text of this module; every value is a bound parameter.

import uuid

import sqlalchemy as sa
from sqlmodel import Session

from app.audits.checks import catalogue as c

# A page "redirects" whether the crawler recorded hops or stored the 3xx answer itself.
_REDIRECTS = "(t.redirect_chain <> '[]'::jsonb OR t.status_code BETWEEN 300 AND 399)"


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

SITE_CHECKS: dict[str, str] = {
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
    "canonical_to_non_indexable": _canonical_to(
        "t.status_code = 200 AND (t.noindex OR t.blocked_by_robots)"
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
    "hreflang_to_non_200": f"""
        SELECT h.source_url AS url,
               jsonb_build_object('alternates', to_jsonb((array_agg(DISTINCT h.target_url))[1:10]))
                   AS details
        FROM ({_HREFLANG_PAIRS}) h
        JOIN audit_pages t ON t.audit_id = :audit_id AND t.url = h.target_url
        WHERE t.status_code IS DISTINCT FROM 200 OR t.redirect_chain <> '[]'::jsonb
        GROUP BY h.source_url
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
    "robots_txt_missing": """
        SELECT r.config_json->>'start_url' AS url, '{}'::jsonb AS details
        FROM audit_runs r
        WHERE r.id = :audit_id AND (r.stats_json->'crawl'->>'robots_txt_found')::boolean = false
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
