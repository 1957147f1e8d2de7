"""Validation and normalization of a project's site URL."""

import ipaddress
from urllib.parse import urlsplit, urlunsplit

from app.audits.crawl.urls import normalize_host

_DEFAULT_PORTS = {"http": 80, "https": 443}


def normalize_site_url(raw: str) -> str:
    """`HTTPS://Example.COM:443/blog?x#y` -> `https://example.com/blog`.

    Raises ValueError with a message people can act on.
    """
    value = raw.strip()
    if "://" not in value:
        raise ValueError("site_url must start with http:// or https://")
    parts = urlsplit(value)
    scheme = parts.scheme.lower()
    if scheme not in _DEFAULT_PORTS:
        raise ValueError("site_url must use http or https")
    host = (parts.hostname or "").rstrip(".")
    if not host:
        raise ValueError("site_url must include a host name")
    if parts.username or parts.password:
        raise ValueError("site_url must not contain credentials")
    try:
        port = parts.port
    except ValueError as exc:
        raise ValueError("site_url has an invalid port") from exc
    if ":" in host:
        try:
            address = ipaddress.IPv6Address(host)
        except ValueError as exc:
            raise ValueError("site_url has an invalid IPv6 address") from exc
        if address.scope_id:  # a zone names an interface of the machine that asks
            raise ValueError("site_url must not name an IPv6 zone")
        host = f"[{address.compressed}]"
    else:
        normalized = normalize_host(host)
        if normalized is None:
            raise ValueError("site_url has an invalid host name")
        host = normalized
    netloc = host if port in (None, _DEFAULT_PORTS[scheme]) else f"{host}:{port}"
    path = parts.path or "/"
    return urlunsplit((scheme, netloc, path, "", ""))
