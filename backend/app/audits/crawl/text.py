"""Words of a page's text, fair to every language: Chinese and Japanese are written without
spaces, so each ideograph or kana counts as a word (as a word segmenter would come close
to), while other scripts are split on whitespace. And a SimHash of the words for near
duplicates."""

import hashlib
import re
from collections import Counter

# Han ideographs, kana, CJK punctuation-free blocks (Hangul is written with spaces).
_CJK = re.compile(
    "[\u3040-\u30ff\u31f0-\u31ff\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff\U00020000-\U0002fa1f]"
)
_WORD = re.compile(r"\w", re.UNICODE)


def words(text: str) -> list[str]:
    """Words of `text`: whitespace-separated tokens with a letter or digit, and every CJK
    character apart."""
    if _CJK.search(text):
        text = _CJK.sub(lambda match: f" {match.group(0)} ", text)
    return [token for token in text.split() if _WORD.search(token)]


def word_count(text: str) -> int:
    return len(words(text))


_MASK = (1 << 64) - 1
# Bit positions set in each byte value.
_BITS = [[bit for bit in range(8) if byte >> bit & 1] for byte in range(256)]
# Word -> its 64-bit hash as 8 bytes: the words of a site repeat from page to page.
_HASHES: dict[str, bytes] = {}
_MAX_CACHED = 200_000


def _word_hash(word: str) -> bytes:
    digest = _HASHES.get(word)
    if digest is None:
        digest = hashlib.blake2b(word.encode(), digest_size=8).digest()
        if len(_HASHES) >= _MAX_CACHED:
            _HASHES.clear()
        _HASHES[word] = digest
    return digest


def simhash(tokens: list[str]) -> int | None:
    """A 64-bit SimHash of the words (each weighted by its count), as a signed 64-bit
    integer (PostgreSQL's bigint); None for a text too short to compare."""
    if len(tokens) < 8:
        return None
    features = Counter(token.lower() for token in tokens)
    # Weight per (byte position, byte value): 8 additions per word, bits counted after.
    by_byte = [Counter[int]() for _ in range(8)]
    for word, weight in features.items():
        for counter, byte in zip(by_byte, _word_hash(word), strict=True):
            counter[byte] += weight
    ones = [0] * 64
    for index, counter in enumerate(by_byte):
        for byte, weight in counter.items():
            for bit in _BITS[byte]:
                ones[index * 8 + bit] += weight
    half = len(tokens) / 2  # the total weight, halved
    result = 0
    for bit, weight in enumerate(ones):
        if weight > half:
            result |= 1 << bit
    return result - (1 << 64) if result >= 1 << 63 else result


def hamming(a: int, b: int) -> int:
    return ((a ^ b) & _MASK).bit_count()
