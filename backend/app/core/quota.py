"""The error every per-account quota raises; the API answers it 429 with its message."""


class QuotaExceededError(Exception):
    """One more would pass a per-account quota (projects, active jobs, tokens, ...)."""
