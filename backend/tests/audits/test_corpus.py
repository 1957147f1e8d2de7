"""The corpus, audited end to end: the real crawler (and Chromium for the script-built
site) against each site on loopback, pages stored through the real storage path into
PostgreSQL, then the site-wide checks; every issue count must equal the site's table."""

import asyncio
import os
import socket
import ssl
import subprocess
import uuid
from collections.abc import Iterator
from dataclasses import dataclass, replace
from functools import partial
from pathlib import Path

import pytest
from sqlmodel import Session

from app.audits import stages, storage
from app.audits.checks.catalogue import CATALOGUE
from app.audits.checks.site_checks import run_site_checks
from app.audits.crawl.crawler import CrawlConfig, crawl
from app.audits.models import AuditRun
from app.audits.page import CrawledPage
from app.audits.scoring import ISSUES_BY_CODE, PAGES_BY_STATUS, RESOURCES_BY_STATUS, count_by
from app.core.config import settings
from tests.audits.corpus import cjk, clean, defects, js_only, multilingual
from tests.audits.corpus.common import Elsewhere, elsewhere_routes
from tests.builders import create_project, create_user
from tests.fakes.site_server import SiteServer

pytestmark = pytest.mark.slow

CHROMIUM = os.environ.get("BROWSER_EXECUTABLE_PATH") or "/usr/bin/chromium"


@pytest.fixture(scope="module")
def certificate(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path]:
    folder = tmp_path_factory.mktemp("tls")
    cert, key = folder / "cert.pem", folder / "key.pem"
    subprocess.run(
        ["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "1",
         "-subj", "/CN=localhost", "-addext", "subjectAltName=DNS:localhost",
         "-keyout", str(key), "-out", str(cert)],
        check=True,
        capture_output=True,
    )  # fmt: skip
    return cert, key


def _serve(routes_of: object, *, tls: ssl.SSLContext | None = None) -> SiteServer:
    site = SiteServer(tls=tls)
    base = site.url.replace("127.0.0.1", "localhost") if tls else site.url
    site.routes.update(routes_of(base))  # type: ignore[operator]
    return site.start()


@pytest.fixture
def elsewhere() -> Iterator[tuple[Elsewhere, SiteServer]]:
    """Another site on loopback for the external links, and an address where nothing
    listens (a port bound, then let go)."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        nothing = f"http://127.0.0.1:{probe.getsockname()[1]}"
    with SiteServer(elsewhere_routes()) as other:
        yield Elsewhere(site=other.url, nothing=nothing), other


@dataclass
class Audited:
    issues: dict[str, int]  # by code
    pages: dict[str, int]  # pages by status bucket, as the summary counts them
    resources: dict[str, int]


def audit(
    session: Session, start_url: str, *, ca_file: str | None = None, render: int = 0
) -> Audited:
    """Crawls, renders (up to `render` pages), stores and checks the site."""
    user = create_user(session)
    project = create_project(session, owner=user, site_url=start_url)
    run = AuditRun(project_id=project.id, config_json={"start_url": start_url})
    session.add(run)
    session.commit()
    base = CrawlConfig.for_site(
        start_url=start_url, max_pages=200, max_depth=10, include_subdomains=False,
        settings=settings,
    )  # fmt: skip
    # Parsing in its own process, as in production: parsing in the event loop would delay
    # the loop, and so every response time measured meanwhile.
    # External links are checked, as in production; the corpus's lead to loopback only.
    config = replace(
        base,
        allow_private_networks=True,
        parse_workers=1,
        ca_file=ca_file,
        concurrency=8,
        max_external_links=50,
    )

    def store_batch(pages: list[CrawledPage]) -> None:
        storage.store_pages(session=session, audit_id=run.id, pages=pages)
        session.commit()

    async def store(pages: list[CrawledPage]) -> None:
        # In a thread, as the crawl stage does: the event loop keeps timing responses.
        await asyncio.to_thread(store_batch, pages)

    summary = asyncio.run(crawl(config, on_batch=store))
    run.stats_json = {"crawl": stages._summary_json(summary)}
    session.add(run)
    session.commit()
    if render:
        _render(session, run.id, render)
    run_site_checks(session=session, audit_id=run.id)
    session.commit()
    params = {"id": run.id}
    return Audited(
        issues=count_by(session, ISSUES_BY_CODE, params),
        pages=count_by(session, PAGES_BY_STATUS, params),
        resources=count_by(session, RESOURCES_BY_STATUS, params),
    )


def _render(session: Session, audit_id: uuid.UUID, limit: int) -> None:
    from app.audits.render.renderer import PageRenderer, choose_pages_to_render

    renderer = PageRenderer(
        settings.model_copy(
            update={"BROWSER_EXECUTABLE_PATH": CHROMIUM, "CRAWL_ALLOW_PRIVATE_NETWORKS": True}
        )
    )
    try:
        candidates = stages._render_candidates(session, audit_id, limit)
        by_url = {page.url: page for page in candidates}
        for url in choose_pages_to_render(candidates, limit):
            view = renderer.render(url, raw=by_url[url])
            storage.store_rendered_view(
                session=session, audit_id=audit_id, page=by_url[url], view=view
            )
            session.commit()
    finally:
        renderer.close()


# Response times depend on how busy the machine is: a loaded test machine can take a second
# to answer any page, so the timing check is compared apart.
TIMING = "slow_response"


def _untimed(found: dict[str, int]) -> dict[str, int]:
    return {code: n for code, n in found.items() if code != TIMING}


def _serious(found: dict[str, int]) -> dict[str, int]:
    return {code: n for code, n in found.items() if CATALOGUE[code].severity.value != "notice"}


@pytest.fixture
def tls_context(certificate: tuple[Path, Path]) -> ssl.SSLContext:
    context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    context.load_cert_chain(*certificate)
    return context


def test_the_best_practice_site_raises_nothing(
    session: Session,
    tls_context: ssl.SSLContext,
    certificate: tuple[Path, Path],
    elsewhere: tuple[Elsewhere, SiteServer],
) -> None:
    away, other = elsewhere
    site = _serve(partial(clean.routes, elsewhere=away), tls=tls_context)
    try:
        start = site.url.replace("127.0.0.1", "localhost") + "/"
        found = audit(session, start, ca_file=str(certificate[0]))
    finally:
        site.stop()
    # Its external links were checked (once for the two links to one page), and are fine.
    assert other.requested_paths == ["/partner"]
    assert _serious(_untimed(found.issues)) == {}, found
    assert _untimed(found.issues) == clean.EXPECTED
    assert (found.pages, found.resources) == ({"2xx": len(clean.PAGES)}, {"2xx": 1})


@pytest.mark.parametrize(
    "corpus", [defects, multilingual, cjk], ids=["defects", "multilingual", "cjk"]
)
def test_each_site_gives_its_expected_counts(
    session: Session,
    corpus: object,
    tls_context: ssl.SSLContext,
    certificate: tuple[Path, Path],
    elsewhere: tuple[Elsewhere, SiteServer],
) -> None:
    away, other = elsewhere
    routes = corpus.routes  # type: ignore[attr-defined]
    site = _serve(partial(routes, elsewhere=away) if corpus is defects else routes, tls=tls_context)
    try:
        start = site.url.replace("127.0.0.1", "localhost") + "/"
        found = audit(session, start, ca_file=str(certificate[0]))
    finally:
        site.stop()
    if corpus is defects:
        # Each external target checked once, however many pages link to it (HEAD is
        # refused by the test server, so each is a GET), and redirects not followed.
        assert sorted(other.requested_paths) == ["/gone", "/moved", "/partner", "/sponsored-gone"]
    expected = corpus.EXPECTED  # type: ignore[attr-defined]
    assert _untimed(found.issues) == _untimed(expected)
    assert found.issues.get(TIMING, 0) >= expected.get(TIMING, 0)
    assert found.pages == corpus.PAGES_BY_STATUS  # type: ignore[attr-defined]


@pytest.fixture
def site_with_scripts() -> Iterator[SiteServer]:
    site = _serve(js_only.routes)
    yield site
    site.stop()


def test_the_script_built_site_through_the_renderer(
    session: Session, site_with_scripts: SiteServer
) -> None:
    if not os.path.exists(CHROMIUM):
        pytest.skip("no Chromium (apt-get install -y chromium)")
    found = audit(session, site_with_scripts.url + "/", render=len(js_only.PAGES) + 1)
    assert _untimed(found.issues) == _untimed(js_only.EXPECTED)
    assert found.pages == js_only.PAGES_BY_STATUS
