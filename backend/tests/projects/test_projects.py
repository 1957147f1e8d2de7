import pytest
from fastapi.testclient import TestClient
from sqlmodel import Session

from app.projects.site_url import normalize_site_url
from tests.builders import auth_headers, create_project, create_user, signup_and_login


def test_owner_crud(client: TestClient) -> None:
    headers = signup_and_login(client, "owner@example.com")
    created = client.post(
        "/api/v1/projects",
        json={"name": "Shop", "site_url": "HTTPS://Shop.Example.COM:443", "render_enabled": False},
        headers=headers,
    )
    assert created.status_code == 201, created.text
    project = created.json()
    assert project["site_url"] == "https://shop.example.com/"
    assert project["render_enabled"] is False

    listed = client.get("/api/v1/projects", headers=headers).json()
    assert listed["count"] == 1
    assert listed["data"][0]["id"] == project["id"]

    patched = client.patch(
        f"/api/v1/projects/{project['id']}",
        json={"weekly_audit_enabled": True, "max_crawl_pages": 50},
        headers=headers,
    )
    assert patched.status_code == 200
    assert patched.json()["weekly_audit_enabled"] is True
    assert patched.json()["max_crawl_pages"] == 50

    # null keeps a flag as it is (the column has no "unset"); on a limit it means the default
    nulls = client.patch(
        f"/api/v1/projects/{project['id']}",
        json={"include_subdomains": None, "render_enabled": None, "max_crawl_pages": None},
        headers=headers,
    )
    assert nulls.status_code == 200, nulls.text
    assert nulls.json()["render_enabled"] is False
    assert nulls.json()["max_crawl_pages"] is None

    assert client.delete(f"/api/v1/projects/{project['id']}", headers=headers).status_code == 204
    assert client.get(f"/api/v1/projects/{project['id']}", headers=headers).status_code == 404


def test_another_users_project_is_404(client: TestClient, session: Session) -> None:
    owner = create_user(session)
    stranger = create_user(session)
    project = create_project(session, owner=owner)
    for method in ("get", "patch", "delete"):
        kwargs = {"json": {"name": "x"}} if method == "patch" else {}
        response = getattr(client, method)(
            f"/api/v1/projects/{project.id}", headers=auth_headers(stranger), **kwargs
        )
        assert response.status_code == 404, method
    assert client.get("/api/v1/projects", headers=auth_headers(stranger)).json()["count"] == 0


def test_superuser_sees_all(client: TestClient, session: Session) -> None:
    owner = create_user(session)
    admin = create_user(session, superuser=True)
    project = create_project(session, owner=owner)
    assert (
        client.get(f"/api/v1/projects/{project.id}", headers=auth_headers(admin)).status_code == 200
    )
    assert client.get("/api/v1/projects", headers=auth_headers(admin)).json()["count"] == 1


@pytest.mark.parametrize(
    "site_url",
    [
        "example.com",
        "ftp://example.com",
        "https://",
        "https://user:pw@example.com",
        "http://:80/",
        "http://exa mple.com/",
        'http://exa"mple.com/',
        "http://exa'mple.com/",
        "http://a..b.com/",
        "http://[::1%25eth0]/",
    ],
)
def test_invalid_site_urls_are_422(client: TestClient, session: Session, site_url: str) -> None:
    user = create_user(session)
    response = client.post(
        "/api/v1/projects", json={"name": "x", "site_url": site_url}, headers=auth_headers(user)
    )
    assert response.status_code == 422
    assert "site_url" in response.text


@pytest.mark.parametrize(
    ("raw", "normalized"),
    [
        ("https://Example.com", "https://example.com/"),
        ("http://example.com:80/blog?utm=1#top", "http://example.com/blog"),
        ("http://example.com:8080", "http://example.com:8080/"),
        ("https://bücher.de", "https://xn--bcher-kva.de/"),
        # IDNA 2008: ß is a letter of its own (IDNA 2003 made this fass.de, another site)
        ("https://faß.de", "https://xn--fa-hia.de/"),
        ("https://FAß.DE./shop", "https://xn--fa-hia.de/shop"),
        ("http://[2001:DB8:0::1]:8080", "http://[2001:db8::1]:8080/"),
        ("https://my_host.example.com", "https://my_host.example.com/"),
    ],
)
def test_site_url_normalization(raw: str, normalized: str) -> None:
    assert normalize_site_url(raw) == normalized


def test_pagination_is_bounded(client: TestClient, session: Session) -> None:
    user = create_user(session)
    headers = auth_headers(user)
    assert client.get("/api/v1/projects?limit=0", headers=headers).status_code == 422
    assert client.get("/api/v1/projects?limit=100000", headers=headers).status_code == 422
    assert client.get("/api/v1/projects?offset=-1", headers=headers).status_code == 422
    assert client.get("/api/v1/projects/not-a-uuid", headers=headers).status_code == 422


def test_saving_a_project_on_a_private_address_warns_at_once(
    client: TestClient, session: Session, monkeypatch: pytest.MonkeyPatch
) -> None:
    from app.core.config import settings

    headers = auth_headers(create_user(session))

    def create(site_url: str) -> dict[str, object]:
        response = client.post(
            "/api/v1/projects", json={"name": "x", "site_url": site_url}, headers=headers
        )
        assert response.status_code == 201, response.text
        body: dict[str, object] = response.json()
        return body

    # The tests allow private networks, as a developer's machine may: no warning then.
    assert create("http://127.0.0.1:8080/")["site_warning"] is None
    monkeypatch.setattr(settings, "CRAWL_ALLOW_PRIVATE_NETWORKS", False)
    for site_url, address in (
        ("http://127.0.0.1:8080/", "127.0.0.1"),
        ("http://10.1.2.3/", "10.1.2.3"),
        ("http://[2002:a00:1::1]/", "2002:a00:1::1"),
    ):
        warning = str(create(site_url)["site_warning"])
        assert f"resolves to {address}, a private or reserved address" in warning
        assert "CRAWL_ALLOW_PRIVATE_NETWORKS=true" in warning
    public = create("http://93.184.215.14/")
    assert public["site_warning"] is None
    moved = client.patch(
        f"/api/v1/projects/{public['id']}", json={"site_url": "http://localhost/"}, headers=headers
    )
    assert moved.status_code == 200
    assert "CRAWL_ALLOW_PRIVATE_NETWORKS" in str(moved.json()["site_warning"])
    listed = client.get("/api/v1/projects", headers=headers).json()["data"]
    assert all(project["site_warning"] is None for project in listed)  # saving only
