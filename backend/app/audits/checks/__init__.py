"""Audit checks: the catalogue, single-page checks and site-wide SQL checks."""
