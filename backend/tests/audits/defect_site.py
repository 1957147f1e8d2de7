"""A small website on loopback with many checks' defects, and a page whose content and links
exist only once its script runs: the end-to-end audit's target."""

from tests.fakes.site_server import Route, SiteServer, html_page, redirect

HEAD = (
    "<meta name='viewport' content='width=device-width, initial-scale=1'>"
    "<meta name='description' content='{description}'>"
)
WORDS = " ".join(f"word{i}" for i in range(260))


def _page(title: str | None, body: str, *, head: str = "", description: str | None = None) -> Route:
    meta = HEAD.format(description=description or f"About {title}: a page of the defect site.")
    return html_page(f"<h1>{title}</h1><p>{WORDS}</p>{body}", title=title, head=meta + head)


def _links(*paths: str) -> str:
    return "".join(f"<a href='{path}'>{path}</a> " for path in paths)


JS_APP = """
<div id="root"></div>
<noscript>Please enable JavaScript to use this app.</noscript>
<script>
  const root = document.getElementById('root');
  root.innerHTML = '<h1>Built by a script</h1><p>' + 'rendered words '.repeat(120) + '</p>'
    + '<a href="/js-only-1">one</a> <a href="/js-only-2">two</a>';
</script>
"""


def defect_site_routes(base_url: str) -> dict[str, Route]:
    duplicate = _page("Duplicated page title for the test", _links("/"))
    return {
        "/robots.txt": Route(
            body=f"User-agent: *\nDisallow: /private/\nSitemap: {base_url}/sitemap.xml\n",
            content_type="text/plain",
        ),
        "/sitemap.xml": Route(
            content_type="application/xml",
            body=(
                "<urlset xmlns='http://www.sitemaps.org/schemas/sitemap/0.9'>"
                + "".join(
                    f"<url><loc>{base_url}{path}</loc></url>"
                    for path in ("/", "/orphan", "/noindexed", "/moved", "/about")
                )
                + "</urlset>"
            ),
        ),
        "/": _page(
            "Home of the defect site for audit tests",
            _links(
                "/about",
                "/gone",
                "/error",
                "/moved",
                "/chain-1",
                "/loop-a",
                "/no-title",
                "/dup-1",
                "/dup-2",
                "/noindexed",
                "/private/secret",
                "/slow",
                "/canon-away",
                "/refresh",
                "/Upper_Case",
                "/app",
            )
            + "<img src='/logo.png'>",
        ),
        "/about": _page(
            "About the defect site, its people and purpose",
            _links("/"),
            head=(
                "<link rel='alternate' hreflang='en' href='/about'>"
                "<link rel='alternate' hreflang='de' href='/de/about'>"
            ),
        ),
        "/de/about": _page("Über die Seite mit den Fehlern, auf Deutsch", _links("/")),
        "/gone": Route(status=404, body="<html><body>Gone</body></html>"),
        "/error": Route(status=500, body="<html><body>Broken</body></html>"),
        "/moved": redirect("/about"),
        "/chain-1": redirect("/chain-2"),
        "/chain-2": redirect("/about", 302),
        "/loop-a": redirect("/loop-b"),
        "/loop-b": redirect("/loop-a"),
        "/no-title": html_page(f"<p>{WORDS}</p>{_links('/')}", title=None),
        "/dup-1": duplicate,
        "/dup-2": duplicate,
        "/noindexed": _page(
            "A page that asks not to be indexed at all",
            _links("/"),
            head="<meta name='robots' content='noindex'>",
        ),
        "/orphan": _page("A page only the sitemap knows about here", _links("/")),
        "/slow": Route(
            body=_page("A slow page that takes its time to answer", _links("/")).body, delay=1.3
        ),
        "/canon-away": _page(
            "A page whose canonical points to a missing page",
            _links("/"),
            head="<link rel='canonical' href='/gone'>",
        ),
        "/refresh": _page(
            "A page that refreshes itself to another page",
            _links("/"),
            head="<meta http-equiv='refresh' content='0; url=/about'>",
        ),
        "/Upper_Case": _page("A page with an untidy URL of mixed case", _links("/")),
        "/app": html_page(
            JS_APP,
            title="A script-built application page",
            head=HEAD.format(
                description="An application page whose content is built in the browser by script."
            ),
        ),
    }


def start_defect_site() -> SiteServer:
    site = SiteServer()
    site.routes.update(defect_site_routes(site.url))
    return site.start()
