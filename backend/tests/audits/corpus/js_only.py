"""A site built by scripts: the HTML is an empty shell; content, links, title and robots
directives come from JavaScript, and one page's scripts fail. Served over plain HTTP (the
renderer trusts no test certificate), so every page is also an http_page."""

from tests.audits.corpus.common import SECURITY_HEADERS, robots, sitemap
from tests.fakes.site_server import Route

SHELL = """<!doctype html><html lang="en"><head><meta charset="utf-8">
<title>{title}</title>
<meta name="description" content="{description}">
<meta name="viewport" content="width=device-width, initial-scale=1">
<link rel="canonical" href="{base}{path}">
{head}</head><body><div id="root"></div>
<noscript>Please enable JavaScript to use this site.</noscript>
<footer><a href="/">Home page</a> <a href="/catalogue">The catalogue</a>
<a href="/broken">A page whose scripts fail</a></footer>
<script>{script}</script>{tail}</body></html>"""

BUILD = """
const words = Array.from({length: 260}, (_, i) => 'word' + i + '{path}').join(' ');
document.getElementById('root').innerHTML = '<main><h1>{h1}</h1><p>' + words + '</p>'
  + '<a href="/">Home page</a> <a href="/catalogue">The catalogue</a>'
  + ' <a href="/js-only-page">A page only scripts link to</a></main>';
"""

PAGES = ["/", "/catalogue", "/broken"]  # linked in the HTML; /js-only-page only by scripts


def _page(base: str, path: str, *, head: str = "", script: str = "", tail: str = "") -> Route:
    html = SHELL.format(
        title=f"Script-built page {path} of the corpus app",
        description=f"The page {path} of a site whose content is built in the browser by "
        "scripts, for the rendering checks.",
        base=base,
        path=path,
        head=head,
        script=BUILD.replace("{path}", path.strip("/")).replace("{h1}", f"Page {path}") + script,
        tail=tail,
    )
    return Route(body=html, headers=dict(SECURITY_HEADERS))


def routes(base: str) -> dict[str, Route]:
    return {
        "/": _page(base, "/", script="document.title = 'A title set by a script';"),
        "/catalogue": _page(
            base,
            "/catalogue",
            script="const m = document.createElement('meta'); m.name = 'robots';"
            " m.content = 'noindex'; document.head.appendChild(m);",
        ),
        "/broken": _page(
            base,
            "/broken",
            script="undefinedFunctionCall();",
            tail="<script src='/missing.js'></script>",
        ),
        "/js-only-page": _page(base, "/js-only-page"),
        "/robots.txt": robots(base),
        "/sitemap.xml": sitemap(base, [*PAGES, "/js-only-page"]),
    }


PAGES_BY_STATUS = {"2xx": 4}
# Every count, checked by hand.
EXPECTED: dict[str, int] = {
    "duplicate_content": 4,  # the raw shells are the same HTML
    "h1_missing": 4,  # raw HTML: scripts add the h1
    "http_page": 4,
    "render_console_errors": 1,  # /broken
    "render_failed_resources": 1,  # /broken (/missing.js)
    "rendered_h1_changed": 4,
    "rendered_noindex_changed": 1,  # /catalogue: a script adds noindex
    "rendered_only_content": 4,  # every page: words and the /js-only-page link
    "rendered_title_changed": 1,  # /
    "structured_data_missing": 4,
    "thin_content": 4,  # raw HTML: scripts add the words
}
