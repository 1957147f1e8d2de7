"""Validation and normalization of a project's site URL."""

import ipaddress
import threading
from urllib.parse import urlsplit, urlunsplit

from app.core.hosts import normalize_host
from app.core.net_guard import AddressPolicy, AddressRefusedError, resolve_checked

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


# How long the project form's check waits for DNS: a warning, not worth a slow answer.
_RESOLVE_WAIT_SECONDS = 2.0


def private_address_warning(site_url: str, *, allow_private: bool) -> str | None:
    """Why audits of `site_url` will be refused by the SSRF guard, or None: said when the
    project is saved rather than discovered as a failed audit. A name that does not
    resolve in time gets no warning (the audit reports that itself)."""
    if allow_private:
        return None
    parts = urlsplit(site_url)
    host = parts.hostname or ""
    outcome: list[str] = []

    def check() -> None:
        try:
            resolve_checked(host, parts.port or 443, AddressPolicy())
        except AddressRefusedError as exc:
            outcome.append(exc.address)
        except (OSError, UnicodeError):
            pass

    lookup = threading.Thread(target=check, name="site-url-check", daemon=True)
    lookup.start()
    lookup.join(_RESOLVE_WAIT_SECONDS)
    if not outcome:
        return None
    return (
        f"{host} resolves to {outcome[0]}, a private or reserved address: audits of this "
        "site will be refused unless the operator sets CRAWL_ALLOW_PRIVATE_NETWORKS=true"
    )
