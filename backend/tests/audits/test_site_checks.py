"""Every site-wide check fires on a site with its defect and stays quiet on a good site.
Pages go through the real storage path (batch INSERT + COPY) into PostgreSQL."""

import uuid
from collections.abc import Callable
from typing import Any

import pytest
import sqlalchemy as sa
from sqlmodel import Session

from app.audits import storage
from app.audits.checks.site_checks import SITE_CHECKS, run_site_checks
from app.audits.models import AuditRun
from app.audits.page import CrawledPage, FetchError, Hreflang, Image, Link, RedirectHop
from tests.audits.pages import SITE, good_page
from tests.builders import create_project, create_user

HOME, A, B = f"{SITE}/", f"{SITE}/a", f"{SITE}/b"
GOOD_STATS = {"crawl": {"robots_txt_found": True, "sitemaps_fetched": [f"{SITE}/sitemap.xml"]}}


def _link(url: str) -> Link:
    return Link(url=url, anchor_text="link", nofollow=False, internal=True)


def good_site() -> dict[str, CrawledPage]:
    home = good_page(HOME, depth=0, in_sitemap=True, links=[_link(A), _link(B)])
    a = good_page(A, in_sitemap=True, links=[_link(HOME), _link(B)])
    b = good_page(B, in_sitemap=True, links=[_link(HOME), _link(A)])
    return {page.url: page for page in (home, a, b)}


def _add(site: dict[str, CrawledPage], page: CrawledPage, *, linked_from: str | None = A) -> None:
    site[page.url] = page
    if linked_from is not None:
        site[linked_from].links.append(_link(page.url))


def _error_page(url: str, status: int) -> CrawledPage:
    return good_page(url, status_code=status, titles=[], is_html=True)


Scenario = Callable[[dict[str, CrawledPage], dict[str, Any]], None]


def _link_to_4xx(site: dict[str, CrawledPage], stats: dict[str, Any]) -> None:
    _add(site, _error_page(f"{SITE}/gone", 404))


def _link_to_5xx(site: dict[str, CrawledPage], stats: dict[str, Any]) -> None:
    _add(site, _error_page(f"{SITE}/broken", 500))


def _link_to_unreachable(site: dict[str, CrawledPage], stats: dict[str, Any]) -> None:
    down = CrawledPage(url=f"{SITE}/down", depth=2, error=FetchError.TIMEOUT)
    _add(site, down)


def _redirect(url: str, to: str) -> CrawledPage:
    return good_page(url, final_url=to, redirect_chain=[RedirectHop(url, 301)], body_hash="r")


def _link_to_redirect(site: dict[str, CrawledPage], stats: dict[str, Any]) -> None:
    _add(site, _redirect(f"{SITE}/old", B))


def _duplicate_title(site: dict[str, CrawledPage], stats: dict[str, Any]) -> None:
    site[B].titles = list(site[A].titles)


def _duplicate_description(site: dict[str, CrawledPage], stats: dict[str, Any]) -> None:
    site[B].meta_descriptions = list(site[A].meta_descriptions)


def _duplicate_content(site: dict[str, CrawledPage], stats: dict[str, Any]) -> None:
    site[B].body_hash = site[A].body_hash


def _blocked_yet_linked(site: dict[str, CrawledPage], stats: dict[str, Any]) -> None:
    _add(site, CrawledPage(url=f"{SITE}/private", depth=2, blocked_by_robots=True))


def _canonical_to(target: CrawledPage) -> Scenario:
    def scenario(site: dict[str, CrawledPage], stats: dict[str, Any]) -> None:
        _add(site, target)
        site[B].canonicals = [target.url]

    return scenario


def _orphan(site: dict[str, CrawledPage], stats: dict[str, Any]) -> None:
    _add(site, good_page(f"{SITE}/lonely", in_sitemap=True), linked_from=None)


def _hreflang_without_return(site: dict[str, CrawledPage], stats: dict[str, Any]) -> None:
    german = good_page(f"{SITE}/de/a", lang="de")
    _add(site, german)
    site[A].hreflang = [Hreflang("en", A), Hreflang("de", german.url), Hreflang("x-default", A)]


def _hreflang_to_404(site: dict[str, CrawledPage], stats: dict[str, Any]) -> None:
    _add(site, _error_page(f"{SITE}/fr/a", 404), linked_from=None)
    site[A].hreflang = [Hreflang("en", A), Hreflang("fr", f"{SITE}/fr/a")]


def _broken_image(site: dict[str, CrawledPage], stats: dict[str, Any]) -> None:
    missing = CrawledPage(url=f"{SITE}/missing.png", depth=2, status_code=404)
    _add(site, missing, linked_from=None)
    site[A].images = [Image(src=missing.url, alt="A chart")]


def _no_robots(site: dict[str, CrawledPage], stats: dict[str, Any]) -> None:
    stats["crawl"]["robots_txt_found"] = False


def _no_sitemap(site: dict[str, CrawledPage], stats: dict[str, Any]) -> None:
    stats["crawl"]["sitemaps_fetched"] = []


# code -> (how to spoil the good site, the URL the issue must be reported on)
SCENARIOS: dict[str, tuple[Scenario, str]] = {
    "internal_link_to_4xx": (_link_to_4xx, A),
    "internal_link_to_5xx": (_link_to_5xx, A),
    "internal_link_to_unreachable": (_link_to_unreachable, A),
    "internal_link_to_redirect": (_link_to_redirect, A),
    "title_duplicate": (_duplicate_title, B),
    "meta_description_duplicate": (_duplicate_description, B),
    "duplicate_content": (_duplicate_content, A),
    "blocked_by_robots_linked": (_blocked_yet_linked, f"{SITE}/private"),
    "canonical_to_redirect": (_canonical_to(_redirect(f"{SITE}/old", A)), B),
    "canonical_to_4xx": (_canonical_to(_error_page(f"{SITE}/gone", 404)), B),
    "canonical_to_5xx": (_canonical_to(_error_page(f"{SITE}/broken", 503)), B),
    "canonical_to_non_indexable": (
        _canonical_to(good_page(f"{SITE}/hidden", meta_robots=["noindex"])),
        B,
    ),
    "orphan_page": (_orphan, f"{SITE}/lonely"),
    "hreflang_missing_return": (_hreflang_without_return, A),
    "hreflang_to_non_200": (_hreflang_to_404, A),
    "image_broken": (_broken_image, A),
    "robots_txt_missing": (_no_robots, HOME),
    "sitemap_missing": (_no_sitemap, HOME),
}


def _store_site(session: Session, site: dict[str, CrawledPage], stats: dict[str, Any]) -> uuid.UUID:
    user = create_user(session)
    project = create_project(session, owner=user, site_url=SITE)
    audit = AuditRun(project_id=project.id, config_json={"start_url": HOME}, stats_json=stats)
    session.add(audit)
    session.commit()
    storage.store_pages(session=session, audit_id=audit.id, pages=list(site.values()))
    session.commit()
    return audit.id


def _site_issues(session: Session, audit_id: uuid.UUID) -> set[tuple[str, str]]:
    run_site_checks(session=session, audit_id=audit_id)
    session.commit()
    codes = "', '".join(SITE_CHECKS)
    rows = session.execute(
        sa.text(f"SELECT code, url FROM audit_issues WHERE audit_id = :id AND code IN ('{codes}')"),
        {"id": audit_id},
    ).all()
    return {(row[0], row[1]) for row in rows}


def test_every_site_check_has_a_scenario() -> None:
    assert set(SCENARIOS) == set(SITE_CHECKS)


def test_the_good_site_has_no_site_wide_issue(session: Session) -> None:
    audit_id = _store_site(session, good_site(), {"crawl": dict(GOOD_STATS["crawl"])})
    assert _site_issues(session, audit_id) == set()


@pytest.mark.parametrize("code", sorted(SCENARIOS))
def test_site_check_fires_on_its_defect(session: Session, code: str) -> None:
    scenario, expected_url = SCENARIOS[code]
    site = good_site()
    stats = {"crawl": dict(GOOD_STATS["crawl"])}
    scenario(site, stats)
    audit_id = _store_site(session, site, stats)
    found = _site_issues(session, audit_id)
    assert (code, expected_url) in found, found
    # Running the checks again (a retried analyze stage) adds nothing.
    assert run_site_checks(session=session, audit_id=audit_id)[code] == 0
