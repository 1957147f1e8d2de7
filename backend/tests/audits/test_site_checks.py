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
GOOD_STATS = {
    "crawl": {
        "robots_txt_found": True,
        "robots_txt_status": 200,
        "sitemaps_fetched": [f"{SITE}/sitemap.xml"],
        "sitemap_stats": [
            {"url": f"{SITE}/sitemap.xml", "urls": 3, "bytes": 400, "too_large": False}
        ],
        "missing_page_probe": {"url": f"{SITE}/nope", "status": 404, "body_hash": None},
        "external_links": {"https://other.example.org/": {"status": 200, "error": None}},
    }
}


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
    stats["crawl"].update(robots_txt_found=False, robots_txt_status=404)


def _no_sitemap(site: dict[str, CrawledPage], stats: dict[str, Any]) -> None:
    stats["crawl"]["sitemaps_fetched"] = []


def _robots_503(site: dict[str, CrawledPage], stats: dict[str, Any]) -> None:
    stats["crawl"].update(robots_txt_found=False, robots_txt_status=503)


def _hreflang_to_target(target: CrawledPage) -> Scenario:
    def scenario(site: dict[str, CrawledPage], stats: dict[str, Any]) -> None:
        _add(site, target, linked_from=None)
        site[A].hreflang = [Hreflang("en", A), Hreflang("de", target.url)]

    return scenario


def _return_with_other_language(site: dict[str, CrawledPage], stats: dict[str, Any]) -> None:
    german = good_page(f"{SITE}/de/a", lang="de")
    german.hreflang = [Hreflang("fr", german.url), Hreflang("en", A)]
    _add(site, german)
    site[A].hreflang = [Hreflang("en", A), Hreflang("de", german.url)]


def _refresh_to_404(site: dict[str, CrawledPage], stats: dict[str, Any]) -> None:
    _add(site, _error_page(f"{SITE}/gone", 404), linked_from=None)
    _add(site, good_page(f"{SITE}/stub", meta_refresh=f"{SITE}/gone", body_hash="stub"))


def _only_nofollow(site: dict[str, CrawledPage], stats: dict[str, Any]) -> None:
    _add(site, good_page(f"{SITE}/hidden-ish", in_sitemap=True), linked_from=None)
    site[A].links.append(Link(f"{SITE}/hidden-ish", "hidden", nofollow=True, internal=True))


def _mixed_inlinks(site: dict[str, CrawledPage], stats: dict[str, Any]) -> None:
    site[A].links = [_link(HOME), Link(B, "b", nofollow=True, internal=True)]


def _near_duplicates(site: dict[str, CrawledPage], stats: dict[str, Any]) -> None:
    site[A].simhash = 0x1234_5678_9ABC_DEF0
    site[B].simhash = 0x1234_5678_9ABC_DEF0 ^ 0b101


def _same_as_missing(site: dict[str, CrawledPage], stats: dict[str, Any]) -> None:
    probe = {"url": f"{SITE}/nope", "status": 200, "body_hash": site[B].body_hash}
    stats["crawl"]["missing_page_probe"] = probe


def _missing_from_sitemap(site: dict[str, CrawledPage], stats: dict[str, Any]) -> None:
    _add(site, good_page(f"{SITE}/unlisted"))


def _huge_sitemap(site: dict[str, CrawledPage], stats: dict[str, Any]) -> None:
    big = {"url": f"{SITE}/big.xml", "urls": 60_000, "bytes": 9_000_000, "too_large": True}
    stats["crawl"]["sitemap_stats"] = [*stats["crawl"]["sitemap_stats"], big]


def _heavy_image(site: dict[str, CrawledPage], stats: dict[str, Any]) -> None:
    photo = CrawledPage(
        url=f"{SITE}/photo.jpg",
        depth=2,
        status_code=200,
        content_type="image/jpeg",
        is_resource=True,
        size_bytes=900_000,
    )
    _add(site, photo, linked_from=None)
    site[A].images = [Image(src=photo.url, alt="A photo")]


def _external(status: int) -> Scenario:
    def scenario(site: dict[str, CrawledPage], stats: dict[str, Any]) -> None:
        target = f"https://other.example.org/{status}"
        site[A].links.append(Link(target, "Elsewhere", nofollow=False, internal=False))
        stats["crawl"]["external_links"] = {target: {"status": status, "error": None}}

    return scenario


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
    "robots_txt_unreachable": (_robots_503, HOME),
    "canonical_chain": (_canonical_to(good_page(f"{SITE}/c", canonicals=[f"{SITE}/d"])), B),
    "hreflang_to_noindex": (
        _hreflang_to_target(good_page(f"{SITE}/de/a", meta_robots=["noindex"])),
        A,
    ),
    "hreflang_to_non_canonical": (
        _hreflang_to_target(good_page(f"{SITE}/de/a", canonicals=[f"{SITE}/de/"])),
        A,
    ),
    "hreflang_to_redirect": (_hreflang_to_target(_redirect(f"{SITE}/de/a", f"{SITE}/de/")), A),
    "hreflang_return_lang_mismatch": (_return_with_other_language, A),
    "meta_refresh_to_error": (_refresh_to_404, f"{SITE}/stub"),
    "only_nofollow_inlinks": (_only_nofollow, f"{SITE}/hidden-ish"),
    "mixed_follow_inlinks": (_mixed_inlinks, B),
    "near_duplicate_content": (_near_duplicates, A),
    "soft_404_same_as_missing": (_same_as_missing, B),
    "sitemap_missing_indexable": (_missing_from_sitemap, f"{SITE}/unlisted"),
    "sitemap_too_large": (_huge_sitemap, f"{SITE}/big.xml"),
    "image_too_large": (_heavy_image, A),
    "external_link_broken": (_external(404), A),
    "external_link_redirect": (_external(301), A),
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


def test_canonical_to_a_robots_blocked_page_is_non_indexable(session: Session) -> None:
    site = good_site()
    _add(site, CrawledPage(url=f"{SITE}/private", depth=2, blocked_by_robots=True))
    site[B].canonicals = [f"{SITE}/private"]
    found = _site_issues(session, _store_site(session, site, {"crawl": dict(GOOD_STATS["crawl"])}))
    assert ("canonical_to_non_indexable", B) in found


def test_near_duplicates_ignore_distant_and_exact_copies(session: Session) -> None:
    site = good_site()
    site[A].simhash = 0x0F0F_0F0F_0F0F_0F0F
    site[B].simhash = 0x0F0F_0F0F_0F0F_0F0F ^ 0xFF  # 8 bits apart: different pages
    site[HOME].simhash = site[A].simhash
    site[HOME].body_hash = site[A].body_hash  # exact copies are duplicate_content's
    found = _site_issues(session, _store_site(session, site, {"crawl": dict(GOOD_STATS["crawl"])}))
    assert not {code for code, _ in found} & {"near_duplicate_content"}


def test_robots_txt_404_is_missing_not_unreachable(session: Session) -> None:
    stats = {"crawl": {**GOOD_STATS["crawl"], "robots_txt_found": False, "robots_txt_status": 404}}
    found = _site_issues(session, _store_site(session, good_site(), stats))
    assert ("robots_txt_missing", HOME) in found
    assert not any(code == "robots_txt_unreachable" for code, _ in found)


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


def test_meta_refresh_stubs_share_no_duplicate_title(session: Session) -> None:
    """Stubs that borrow the title of the page they send visitors to are redirects, not
    duplicates of it."""
    site = good_site()
    for index in range(2):
        stub = good_page(
            f"{SITE}/old-{index}", meta_refresh=B, titles=list(site[B].titles), body_hash="s"
        )
        _add(site, stub)
    found = _site_issues(session, _store_site(session, site, {"crawl": dict(GOOD_STATS["crawl"])}))
    assert not {code for code, _ in found} & {"title_duplicate", "duplicate_content"}


def test_robots_txt_unreachable_says_why(session: Session) -> None:
    stats = {"crawl": {**GOOD_STATS["crawl"], "robots_txt_found": False, "robots_txt_status": 503}}
    audit_id = _store_site(session, good_site(), stats)
    run_site_checks(session=session, audit_id=audit_id)
    details = session.execute(
        sa.text(
            "SELECT details FROM audit_issues"
            " WHERE audit_id = :id AND code = 'robots_txt_unreachable'"
        ),
        {"id": audit_id},
    ).scalar_one()
    assert details == {"detail": "robots.txt unreachable (HTTP 503)"}


def test_a_sitemap_cut_at_the_cap_is_reported_with_the_size_seen(session: Session) -> None:
    cut = {
        "url": f"{SITE}/big.xml",
        "urls": 43_000,
        "bytes": 52_500_000,
        "truncated": True,
        "too_large": True,
    }
    fine = {"url": f"{SITE}/sitemap.xml", "urls": 3, "bytes": 400, "truncated": False,
            "too_large": False}  # fmt: skip
    stats = {"crawl": {**GOOD_STATS["crawl"], "sitemap_stats": [cut, fine]}}
    audit_id = _store_site(session, good_site(), stats)
    run_site_checks(session=session, audit_id=audit_id)
    rows = session.execute(
        sa.text(
            "SELECT url, details FROM audit_issues"
            " WHERE audit_id = :id AND code = 'sitemap_too_large'"
        ),
        {"id": audit_id},
    ).all()
    assert [(row[0], row[1]) for row in rows] == [
        (f"{SITE}/big.xml", {"urls": 43_000, "bytes": 52_500_000, "truncated": True})
    ]
