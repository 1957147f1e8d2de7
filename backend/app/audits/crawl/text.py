"""Words of a page's text, fair to every language: Chinese and Japanese are written without
spaces, so each ideograph or kana counts as a word (as a word segmenter would come close
to), while other scripts are split on whitespace. And a SimHash of the words for near
duplicates."""

import hashlib
import re
import sys
from array import array
from collections import Counter

# Han ideographs, kana, CJK punctuation-free blocks (Hangul is written with spaces).
_CJK = re.compile(
    "[\u3040-\u30ff\u31f0-\u31ff\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff\U00020000-\U0002fa1f]"
)


def words(text: str) -> list[str]:
    """Words of `text`: whitespace-separated tokens, and every CJK character apart."""
    # isascii() is O(1) (CPython records it): most pages skip the scan.
    if not text.isascii() and _CJK.search(text):
        text = _CJK.sub(lambda match: f" {match.group(0)} ", text)
    return text.split()


def word_count(text: str) -> int:
    return len(words(text))


_MASK = (1 << 64) - 1
# Each word's 64 hash bits spread one per 16-bit lane of a 1024-bit integer, so that adding
# the spread values of a page's words (times their counts) sums every bit position at once.
_LANE = 16
_LANE_MASK = (1 << _LANE) - 1
_MAX_TOKENS = _LANE_MASK  # a lane holds the count of every token at most
_LANES_BYTES = 64 * _LANE // 8
_SPREAD_BYTE = [
    sum(1 << (bit * _LANE) for bit in range(8) if byte >> bit & 1) for byte in range(256)
]
# Word -> its spread hash: the words of a site repeat from page to page.
_SPREADS: dict[str, int] = {}
_MAX_CACHED = 10_000  # about 3 MB at most


def _spread(word: str) -> int:
    value = _SPREADS.get(word)
    if value is None:
        digest = hashlib.blake2b(word.encode(), digest_size=8).digest()
        value = 0
        for index, byte in enumerate(digest):
            value |= _SPREAD_BYTE[byte] << (index * 8 * _LANE)
        if len(_SPREADS) >= _MAX_CACHED:
            _SPREADS.clear()
        _SPREADS[word] = value
    return value


def simhash(tokens: list[str]) -> int | None:
    """A 64-bit SimHash of the words (each weighted by its count; pass them lower-cased),
    as a signed 64-bit integer (PostgreSQL's bigint); None for a text too short to
    compare."""
    if len(tokens) < 8:
        return None
    tokens = tokens[:_MAX_TOKENS]
    cached = _SPREADS.get
    ones = 0  # per lane: the weight of the words whose hash has that bit set
    for word, weight in Counter(tokens).items():
        value = cached(word)
        if value is None:
            value = _spread(word)
        # Most words of a page occur once: an addition, no multiplication.
        ones += value if weight == 1 else value * weight
    half = len(tokens) // 2
    # The 64 lanes as 16-bit integers at once (instead of 64 shifts of the whole sum).
    lanes = array("H", ones.to_bytes(_LANES_BYTES, "little"))
    if sys.byteorder == "big":
        lanes.byteswap()
    result = 0
    for bit, count in enumerate(lanes):
        if count > half:
            result |= 1 << bit
    return result - (1 << 64) if result >= 1 << 63 else result


def hamming(a: int, b: int) -> int:
    return ((a ^ b) & _MASK).bit_count()
