"""Money, in one place: Google Ads reports cost in micros (millionths) of the account's
currency, as int64. Rows keep micros; every read converts with `units` once, after summing
(sums stay exact integers until then)."""

MICROS_PER_UNIT = 1_000_000


def units(micros: int) -> float:
    """Micros to currency units (2500000000 -> 2500.0). Exact for any realistic spend: a
    float holds integers up to 2**53 micros, some nine billion units."""
    return micros / MICROS_PER_UNIT


def per_click(cost_micros: int, clicks: int) -> float | None:
    """Average cost per click in currency units; None when nothing was clicked."""
    return units(cost_micros) / clicks if clicks else None


def click_rate(clicks: int, impressions: int) -> float:
    return clicks / impressions if impressions else 0.0
