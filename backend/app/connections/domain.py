"""Provider connections: each project's credentials for third-party APIs (Search Console,
Google Ads, SERP providers), encrypted at rest, and the Google call rules (google.py) that the
Google domains share."""

from app.core.domains import Domain

domain = Domain(name="connections", models="app.connections.models")
