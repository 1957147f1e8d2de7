"""URL normalization and crawl scope.

Two spellings of one resource must become one string, or the crawl fetches it twice and the
checks report duplicates that are not there. `normalize_url` is on the hot path (every link
of every page), so it does the common work with plain string operations.
"""

from fnmatch import fnmatchcase
from functools import lru_cache
from itertools import islice
from urllib.parse import quote, unquote, urljoin, urlsplit, urlunsplit

from app.core.hosts import normalize_host

DEFAULT_TRACKING_PARAMS: tuple[str, ...] = (
    "utm_*",
    "gclid",
    "gclsrc",
    "dclid",
    "fbclid",
    "msclkid",
    "yclid",
    "mc_cid",
    "mc_eid",
    "_ga",
    "_gl",
    "igshid",
)

_DEFAULT_PORTS = {"http": "80", "https": "443"}
# RFC 3986 unreserved characters never need escaping; everything else that is already legal
# in a path or query stays as written (we only re-escape what is illegal).
_UNRESERVED = frozenset("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-._~")
_LEGAL = frozenset(
    "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-._~:/?#[]@!$&'()*+,;=%"
)
_PATH_SAFE = "/:@!$&'()*+,;=-._~%"
_QUERY_SAFE = "/?:@!$&'()*+,;=-._~%"


def _normalize_escapes(component: str, safe: str) -> str:
    """Decode escaped unreserved characters, upper-case the remaining escapes and escape
    whatever is not legal (spaces, non-ASCII as UTF-8)."""
    if "%" in component:
        pieces = component.split("%")
        out = [pieces[0]]
        for piece in pieces[1:]:
            code = piece[:2]
            if len(code) == 2 and all(c in "0123456789abcdefABCDEF" for c in code):
                char = chr(int(code, 16))
                out.append(
                    char + piece[2:] if char in _UNRESERVED else "%" + code.upper() + piece[2:]
                )
            else:
                # A lone "%" is not an escape: escape it so the URL stays valid.
                out.append("%25" + piece)
        component = "".join(out)
    if component.isascii() and all(c in _LEGAL for c in component):
        return component
    return quote(component, safe=safe, encoding="utf-8", errors="strict")


def _remove_dot_segments(path: str) -> str:
    if "." not in path:
        return path
    segments = path.split("/")
    if not any(s in (".", "..") for s in segments):
        return path
    output: list[str] = []
    for segment in segments[1:]:
        if segment == ".":
            continue
        if segment == "..":
            if output:
                output.pop()
            continue
        output.append(segment)
    result = "/" + "/".join(output)
    # "a/b/.." and "a/b/." name the directory: keep the trailing slash.
    if segments[-1] in (".", "..") and not result.endswith("/"):
        result += "/"
    return result


def _is_tracking(name: str, tracking_params: tuple[str, ...]) -> bool:
    lowered = name.lower()
    for pattern in tracking_params:
        if "*" in pattern or "?" in pattern:
            if fnmatchcase(lowered, pattern):
                return True
        elif lowered == pattern:
            return True
    return False


def normalize_url(
    url: str,
    *,
    base: str | None = None,
    tracking_params: tuple[str, ...] = DEFAULT_TRACKING_PARAMS,
) -> str | None:
    """The canonical spelling of an http(s) URL, resolved against `base`; None when the URL
    is not a crawlable http(s) URL (mailto:, javascript:, malformed).

    A site's pages link to the same URLs again and again (menus, footers, related pages),
    so answers are remembered: for an absolute URL, and for a path from the root (`/a/b`),
    whose resolution depends on the base's scheme and host alone (RFC 3986, 5.2.2), keyed
    by those instead of the whole base so that every page of a host shares them."""
    url = url.strip()
    if base is None or url.startswith(("http://", "https://")):
        return _absolute(url, tracking_params)
    if url[:1] == "/" and url[1:2] != "/":
        origin = _origin(base)
        if origin is not None:
            path = _root_path(url, tracking_params)
            return None if path is None else origin + path
    return _normalize(url, base, tracking_params)


# Answers remembered per set of tracking parameters (one or two per crawl): the URL as
# written -> its normalized spelling, the very string written when normalizing changed
# nothing (one string held, not two). A root path is remembered as the path and query it
# resolves to, without the host: resolving it reads the base's scheme and host alone, and
# they change neither, so one entry serves every host. About 100 to 200 bytes an entry
# (a tuple-keyed lru_cache of full URLs took about 350).
_MAX_REMEMBERED = 4096
_PLACEHOLDER_ORIGIN = "http://h"
_ABSOLUTE: dict[tuple[str, ...], dict[str, str | None]] = {}
_ROOT_PATHS: dict[tuple[str, ...], dict[str, str | None]] = {}


def _absolute(url: str, tracking_params: tuple[str, ...]) -> str | None:
    cache = _ABSOLUTE.get(tracking_params) or _ABSOLUTE.setdefault(tracking_params, {})
    try:
        return cache[url]
    except KeyError:
        pass
    found = _normalize(url, None, tracking_params)
    _remember(cache, url, url if found == url else found)
    return found


def _root_path(url: str, tracking_params: tuple[str, ...]) -> str | None:
    """The path and query (`/a/b?c`) a root path resolves to on any http(s) host."""
    cache = _ROOT_PATHS.get(tracking_params) or _ROOT_PATHS.setdefault(tracking_params, {})
    try:
        return cache[url]
    except KeyError:
        pass
    found = _normalize(url, _PLACEHOLDER_ORIGIN, tracking_params)
    path = None if found is None else found[len(_PLACEHOLDER_ORIGIN) :]
    _remember(cache, url, url if path == url else path)
    return path


def _remember(cache: dict[str, str | None], url: str, found: str | None) -> None:
    if len(cache) >= _MAX_REMEMBERED:
        # The oldest eighth goes (insertion order): the cache stays nearly full (evicting
        # half cost the crawl-speed site's parse 6% more instructions), and a site's menu
        # links, if among them, come back at once.
        for old in list(islice(cache, _MAX_REMEMBERED // 8)):
            del cache[old]
    cache[url] = found


@lru_cache(maxsize=256)
def _origin(base: str) -> str | None:
    """`scheme://host[:port]` of an http(s) base, normalized: what resolving a root path
    against it reads (the rest of the base is replaced); None for anything else."""
    try:
        parts = urlsplit(base)
    except ValueError:
        return None
    if parts.scheme not in _DEFAULT_PORTS or not parts.netloc:
        return None
    root = _normalize(f"{parts.scheme}://{parts.netloc}/", None, ())
    return None if root is None else root[:-1]


def _normalize(url: str, base: str | None, tracking_params: tuple[str, ...]) -> str | None:
    if base is not None and not url.startswith(("http://", "https://")):
        if url.lower().startswith(("mailto:", "javascript:", "tel:", "data:")):
            return None
        try:
            url = urljoin(base, url)
        except ValueError:
            return None
    try:
        parts = urlsplit(url)
    except ValueError:
        return None
    scheme = parts.scheme.lower()
    if scheme not in _DEFAULT_PORTS:
        return None
    netloc = parts.netloc
    if "@" in netloc:
        netloc = netloc.rsplit("@", 1)[1]  # credentials never belong to a crawled URL
    host, port = netloc, ""
    if netloc.startswith("["):
        end = netloc.find("]")
        if end < 0:
            return None
        host, rest = netloc[: end + 1], netloc[end + 1 :]
        port = rest[1:] if rest.startswith(":") else ""
    elif ":" in netloc:
        host, port = netloc.rsplit(":", 1)
    normalized_host = normalize_host(unquote(host) if "%" in host else host)
    if normalized_host is None:
        return None
    if port:
        if not port.isdigit() or int(port) > 65535:
            return None
        port = str(int(port))
    if port == _DEFAULT_PORTS[scheme]:
        port = ""
    netloc = f"{normalized_host}:{port}" if port else normalized_host
    path = parts.path or "/"
    try:
        path = _normalize_escapes(_remove_dot_segments(path), _PATH_SAFE)
        query = parts.query
        if query:
            kept = [
                pair
                for pair in query.split("&")
                if pair and not _is_tracking(unquote(pair.split("=", 1)[0]), tracking_params)
            ]
            query = _normalize_escapes("&".join(kept), _QUERY_SAFE)
    except UnicodeError:
        return None
    return urlunsplit((scheme, netloc, path, query, ""))


def host_of(url: str) -> str:
    """Host and explicit port (`example.com`, `127.0.0.1:8080`) of a normalized URL."""
    rest = url.split("://", 1)[1]
    return rest.split("/", 1)[0]


def _site_root(site: str) -> str:
    host = host_of(normalize_url(site) or site)
    return host[4:] if host.startswith("www.") else host


def in_scope(url: str, site: str, include_subdomains: bool) -> bool:
    """Whether `url` belongs to the project's site: the same host (with or without `www.`,
    either scheme) or, when asked, any subdomain of it."""
    normalized = normalize_url(url)
    if normalized is None:
        return False
    host = host_of(normalized)
    root = _site_root(site)
    if host == root or host == "www." + root:
        return True
    return include_subdomains and host.endswith("." + root)


class SiteScope:
    """`in_scope` for one site, precomputed: the parser asks it for every link."""

    __slots__ = ("include_subdomains", "root")

    def __init__(self, site: str, include_subdomains: bool) -> None:
        self.root = _site_root(site)
        self.include_subdomains = include_subdomains

    def contains(self, normalized_url: str) -> bool:
        host = host_of(normalized_url)
        if host == self.root or host == "www." + self.root:
            return True
        return self.include_subdomains and host.endswith("." + self.root)
