"""How wide a title or description is in a search result: Arial (the results' font), from
its advance widths in thousandths of an em (the same metrics as Helvetica for ASCII)."""

import unicodedata

# Search results show titles at 20 px and descriptions at 14 px.
TITLE_FONT_PX = 20
DESCRIPTION_FONT_PX = 14

_ASCII_WIDTHS = {
    " ": 278, "!": 278, '"': 355, "#": 556, "$": 556, "%": 889, "&": 667, "'": 191,
    "(": 333, ")": 333, "*": 389, "+": 584, ",": 278, "-": 333, ".": 278, "/": 278,
    ":": 278, ";": 278, "<": 584, "=": 584, ">": 584, "?": 556, "@": 1015,
    "[": 278, "\\": 278, "]": 278, "^": 469, "_": 556, "`": 333,
    "{": 334, "|": 260, "}": 334, "~": 584,
    "A": 667, "B": 667, "C": 722, "D": 722, "E": 667, "F": 611, "G": 778, "H": 722, "I": 278,
    "J": 500, "K": 667, "L": 556, "M": 833, "N": 722, "O": 778, "P": 667, "Q": 778, "R": 722,
    "S": 667, "T": 611, "U": 722, "V": 667, "W": 944, "X": 667, "Y": 667, "Z": 611,
    "a": 556, "b": 556, "c": 500, "d": 556, "e": 556, "f": 278, "g": 556, "h": 556, "i": 222,
    "j": 222, "k": 500, "l": 222, "m": 833, "n": 556, "o": 556, "p": 556, "q": 556, "r": 333,
    "s": 500, "t": 278, "u": 556, "v": 500, "w": 722, "x": 500, "y": 500, "z": 500,
    **{digit: 556 for digit in "0123456789"},
    "\u2013": 556, "\u2014": 1000, "\u2018": 222, "\u2019": 222, "\u201c": 333, "\u201d": 333,
    "\u2022": 350, "\u2026": 1000, "\u00a0": 278, "\u00b7": 278, "\u00a9": 737, "\u00ae": 737,
}  # fmt: skip
_DEFAULT_WIDTH = 556


def _width(char: str) -> int:
    known = _ASCII_WIDTHS.get(char)
    if known is not None:
        return known
    if unicodedata.east_asian_width(char) in ("W", "F"):
        return 1000  # CJK ideographs, kana, full-width forms: one em
    if unicodedata.combining(char):
        return 0
    base = unicodedata.normalize("NFD", char)[:1]  # é -> e
    return _ASCII_WIDTHS.get(base, _DEFAULT_WIDTH)


def text_px(text: str, font_px: int) -> int:
    """The width of `text` in pixels at `font_px` (whitespace runs count as one space)."""
    units = sum(_width(char) for char in " ".join(text.split()))
    return round(units * font_px / 1000)
