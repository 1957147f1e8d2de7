"""What runs in the backlink import's parse helper process (helper.py starts it as
`python -m app.links.helper_process`): chunks of the export in, their results out.

It imports the links parsing modules and nothing more (no subprocess, threads, database or
hashlib's OpenSSL): it is one more process per large import, and its memory counts.
Messages are frames (app/core/frames.py) on its stdin and stdout:
- a HelperSetup first, then chunks as (text, final);
- each chunk is answered with its ChunkResult, in the order sent;
- when its stdin closes (the importer is done, or died), it exits.
"""

import gc
import sys
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from app.core.frames import decode_frame, encode_frame, read_frame
from app.links.chunks import ReadBatch, RowSyntax, parse_chunk
from app.links.copyrows import CopyBatchReader
from app.links.formats import ColumnPlan
from app.links.rows import LinkRowReader, SiteScope


@dataclass(frozen=True, slots=True)
class HelperSetup:
    """What the helper needs to read a file's rows into COPY rows, as the importer does."""

    syntax: RowSyntax
    plan: ColumnPlan
    site_url: str
    include_subdomains: bool
    project_id: bytes
    created: datetime
    read_rows: int  # rows per read batch


def link_reader(setup: HelperSetup) -> ReadBatch:
    """Reads a batch's links as (keys, their COPY rows), and its rejections."""
    reader = CopyBatchReader(
        LinkRowReader(
            setup.plan,
            SiteScope(setup.site_url, include_subdomains=setup.include_subdomains),
            site_url=setup.site_url,
        ),
        project_id=setup.project_id,
        created=setup.created,
    )

    def read(rows: list[list[str]]) -> tuple[Any, list[tuple[int, str]]]:
        batch = reader.read(rows)
        return (batch.keys, batch.rows), batch.rejected

    return read


def main() -> None:
    """Chunks in, results out, until the input ends."""
    gc.disable()  # millions of short-lived tuples and lists, none in a cycle
    stdin, stdout = sys.stdin.buffer, sys.stdout.buffer
    first = read_frame(stdin)
    if first is None:
        return
    setup = decode_frame(first)
    assert isinstance(setup, HelperSetup)
    read = link_reader(setup)
    while (frame := read_frame(stdin)) is not None:
        text, final = decode_frame(frame)
        result = parse_chunk(text, setup.syntax, read, final=final, batch_rows=setup.read_rows)
        try:
            stdout.write(encode_frame(result))
            stdout.flush()
        except BrokenPipeError:
            return  # the importer ended


if __name__ == "__main__":
    # Run as the module itself (not __main__), so the classes it unpickles are its own.
    from app.links import helper_process

    helper_process.main()
