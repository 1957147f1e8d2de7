"""The `seo-platform up` launcher: embedded PostgreSQL and Redis, the supervised process
group."""
