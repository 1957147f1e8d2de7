"""GET /api/v1/dashboard/config: deployment settings the dashboard reads at run time."""

import pytest
from fastapi.testclient import TestClient

from app.core.config import settings


def test_the_dashboard_learns_flowers_address_from_the_deployment(
    client: TestClient, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(settings, "FLOWER_URL", "https://ops.example.com/flower/")

    response = client.get("/api/v1/dashboard/config")

    assert response.status_code == 200
    # No trailing slash: the dashboard appends paths such as /task/{id}.
    assert response.json() == {"flower_url": "https://ops.example.com/flower"}


def test_it_needs_no_login(client: TestClient) -> None:
    response = client.get("/api/v1/dashboard/config")
    assert response.status_code == 200
    assert response.json()["flower_url"] == settings.FLOWER_URL.rstrip("/")
