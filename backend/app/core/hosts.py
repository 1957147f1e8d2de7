"""Host names as one spelling: what a project's site and every crawled link are compared by."""

import re
from functools import lru_cache

# What a host can be on the wire: dot-separated labels (the underscore is not valid in a
# host name, but real sites use it), or a bracketed IPv6 literal.
_HOST_NAME = re.compile(r"[a-z0-9_-]+(?:\.[a-z0-9_-]+)*")
_IPV6_LITERAL = re.compile(r"\[[0-9a-f:.]+\]")


@lru_cache(maxsize=4096)  # every link of every page names a host, nearly always the same
def normalize_host(host: str) -> str | None:
    """`Faß.DE.` -> `xn--fa-hia.de`: lower-case ASCII, an internationalized name as its IDNA
    2008 A-labels (UTS #46 mapping, non-transitional: `ß` stays `ß`, where the standard
    library's IDNA 2003 codec turns `faß.de` into another site, `fass.de`). None for a host
    no URL can name (spaces, quotes, empty labels...)."""
    host = host.rstrip(".")
    if host.isascii():
        host = host.lower()
    else:
        # Imported here: its tables are 3 MB in every process that imports this module (every
        # worker, the backlink import's parse helper), and nearly every host is ASCII.
        import idna

        try:
            host = idna.encode(host, uts46=True).decode("ascii")
        except (idna.IDNAError, UnicodeError):
            return None
    if _HOST_NAME.fullmatch(host) or _IPV6_LITERAL.fullmatch(host):
        return host
    return None
