"""A multilingual site: English, German and French pages in a correct hreflang set, and
pages whose hreflang is broken one way each."""

from tests.audits.corpus.common import HSTS, SECURITY_HEADERS, Page, robots, sitemap
from tests.fakes.site_server import Route, redirect


def _alternates(base: str, entries: list[tuple[str, str]]) -> str:
    return "".join(
        f"<link rel='alternate' hreflang='{lang}' href='{base}{path}'>" for lang, path in entries
    )


def _pages(base: str) -> list[Page]:
    good = [("en", "/"), ("de", "/de/"), ("fr", "/fr/"), ("x-default", "/")]
    broken = {
        # /it/ does not link back; and no x-default
        "/es/": ("es", [("es", "/es/"), ("it", "/it/")]),
        "/it/": ("it", []),
        "/pt/": ("pt", [("pt", "/pt/"), ("pt-XX", "/pt/"), ("x-default", "/pt/")]),
        # html lang says German
        "/nl/": ("de", [("nl", "/nl/"), ("x-default", "/nl/")]),
        "/sv/": ("sv", [("sv", "/sv/"), ("sv", "/sv-old/"), ("x-default", "/sv/")]),
        "/da/": ("da", [("da", "/da/"), ("fi", "/da-missing/"), ("x-default", "/da/")]),
        "/fi/": ("fi", [("fi", "/fi/"), ("sv", "/fi-moved/"), ("x-default", "/fi/")]),
    }
    links = "".join(f"<a href='{path}'>Language {path.strip('/')}</a> " for path in broken)
    pages = [
        Page("/", "Example travel guides in English and other languages",
             "Travel guides written by locals, in English, German and French, with maps and "
             "the places worth the detour.", "Travel guides", head=_alternates(base, good),
             body=links + "<a href='/de/'>Deutsch</a> <a href='/fr/'>Français</a>"),
        Page("/de/", "Reiseführer von Einheimischen, auf Deutsch geschrieben",
             "Reiseführer von Einheimischen geschrieben, mit Karten und den Orten, die einen "
             "Umweg wert sind.", "Reiseführer", lang="de", head=_alternates(base, good),
             nav=[("/", "English"), ("/fr/", "Français")]),
        Page("/fr/", "Guides de voyage écrits par des habitants du pays",
             "Des guides de voyage écrits par des habitants, avec des cartes et les lieux qui "
             "valent le détour.", "Guides de voyage", lang="fr", head=_alternates(base, good),
             nav=[("/", "English"), ("/de/", "Deutsch")]),
    ]  # fmt: skip
    for path, (lang, entries) in broken.items():
        pages.append(
            Page(path, f"Travel guide in the {path.strip('/')} edition of the site",
                 f"The {path.strip('/')} edition of the travel guides, with maps and the places "
                 "worth the detour for visitors.", f"Guide {path.strip('/')}", lang=lang,
                 head=_alternates(base, entries), nav=[("/", "English edition")])
        )  # fmt: skip
    pages.append(
        Page("/sv-old/", "An older Swedish edition of the travel guide pages",
             "The older Swedish edition of the travel guides, kept for readers who bookmarked "
             "it years ago.", "Äldre guide", lang="sv", nav=[("/", "English edition")])
    )  # fmt: skip
    return pages


def routes(base: str) -> dict[str, Route]:
    headers = {**SECURITY_HEADERS, **HSTS}
    pages = _pages(base)
    found = {page.path: page.route(base, extra_headers=headers) for page in pages}
    found["/fi-moved/"] = redirect("/sv/")
    found["/robots.txt"] = robots(base)
    found["/sitemap.xml"] = sitemap(base, [page.path for page in pages])
    return found


PAGES_BY_STATUS = {"2xx": 11, "3xx": 1, "4xx": 1}
# Every count, checked by hand.
EXPECTED: dict[str, int] = {
    "hreflang_duplicate_lang": 1,  # /sv/
    "hreflang_invalid_code": 1,  # /pt/ (pt-XX)
    "hreflang_lang_mismatch": 1,  # /nl/ (html lang de)
    "hreflang_missing_return": 2,  # /es/ (/it/ has no return link), /sv/ (/sv-old/ has none)
    "hreflang_no_x_default": 1,  # /es/
    "hreflang_to_non_200": 1,  # /da/
    "hreflang_to_redirect": 1,  # /fi/
    "http_4xx": 1,  # /da-missing/, an hreflang target
    "orphan_page": 1,  # /sv-old/: in the sitemap, reached only through hreflang
}
