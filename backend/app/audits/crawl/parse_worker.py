"""The parsing subprocess of the crawl (parse_pool.py starts it): reads (page, body, charset)
frames on stdin, writes the parsed page back on stdout.

Kept apart from the pool so the subprocess imports only the parser (no asyncio, no HTTP
stack): it is one more process per running audit, and its footprint counts.
"""

import sys
from dataclasses import dataclass
from typing import BinaryIO

from app.audits.crawl.parser import decode_html, parse_html
from app.audits.crawl.urls import SiteScope
from app.audits.page import CrawledPage
from app.core.frames import decode_frame, encode_frame, read_frame


@dataclass(frozen=True, slots=True)
class ParseSettings:
    site: str
    include_subdomains: bool
    tracking_params: tuple[str, ...]
    bot_token: str


def parse_page(page: CrawledPage, body: bytes, charset: str | None, how: ParseSettings) -> None:
    scope = SiteScope(how.site, how.include_subdomains)
    try:
        parse_html(
            page,
            decode_html(body, charset),
            scope=scope,
            tracking_params=how.tracking_params,
            bot_token=how.bot_token,
        )
    except Exception as exc:  # one odd document must not end the crawl
        page.error_detail = f"HTML could not be parsed: {exc!r}"[:500]


def serve(stdin: BinaryIO, stdout: BinaryIO) -> None:
    """The worker's loop: settings once, then (page, body, charset) -> page."""
    first = read_frame(stdin)
    if first is None:
        return
    how: ParseSettings = decode_frame(first)
    while (frame := read_frame(stdin)) is not None:
        page, body, charset = decode_frame(frame)
        parse_page(page, body, charset, how)
        stdout.write(encode_frame(page))
        stdout.flush()


if __name__ == "__main__":
    serve(sys.stdin.buffer, sys.stdout.buffer)
