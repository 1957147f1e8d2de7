"""Small real-world-like sites written for the audit tests, each with the issue counts a
correct audit finds on it (see test_corpus.py)."""
