"""Accounts: the users table, sign-up, login and /users/me."""

from app.core.domains import Domain

domain = Domain(name="users", models="app.users.models", routes="app.users.routes")
