"""Receiving an upload: the multipart body is parsed as it arrives and the `file` part
written to disk chunk by chunk, so an export of any size is never held in memory, and the
size limit is enforced while streaming (and up front from Content-Length), not after the
whole body was spooled somewhere.
"""

import contextlib
import uuid
from dataclasses import dataclass
from pathlib import Path

import anyio
from python_multipart.exceptions import MultipartParseError
from python_multipart.multipart import MultipartParser, parse_options_header
from starlette.requests import Request

FILE_FIELD = "file"
# Room for the multipart framing and small fields around the file.
_FRAMING_ALLOWANCE = 64 * 1024
_MAX_HEADER_BYTES = 16 * 1024


class UploadRefusedError(Exception):
    """The upload is refused; `status_code` (413 or 422) and a message for people."""

    def __init__(self, status_code: int, message: str) -> None:
        super().__init__(message)
        self.status_code = status_code
        self.message = message


@dataclass(frozen=True, slots=True)
class ReceivedFile:
    path: Path
    file_name: str
    size: int


def too_large(limit: int) -> UploadRefusedError:
    return UploadRefusedError(
        413, f"The file is larger than the limit of {limit:,} bytes (LINKS_MAX_UPLOAD_BYTES)"
    )


class _FilePart:
    """The parser's callbacks: they collect the `file` part's bytes per written chunk (the
    caller writes them to disk between chunks) and the part's file name."""

    def __init__(self) -> None:
        self.header_field = bytearray()
        self.header_value = bytearray()
        self.headers: dict[str, bytes] = {}
        self.in_file = False
        self.seen_file = False
        self.file_name = ""
        self.pending: list[bytes] = []
        self.header_bytes = 0

    def on_part_begin(self) -> None:
        self.headers = {}

    def on_header_field(self, data: bytes, start: int, end: int) -> None:
        self.header_field += data[start:end]
        self._count(end - start)

    def on_header_value(self, data: bytes, start: int, end: int) -> None:
        self.header_value += data[start:end]
        self._count(end - start)

    def on_header_end(self) -> None:
        # Kept as bytes: a file name in UTF-8 is read as such below, whatever else it holds.
        self.headers[self.header_field.decode("latin-1").lower()] = bytes(self.header_value)
        self.header_field.clear()
        self.header_value.clear()

    def on_headers_finished(self) -> None:
        try:
            _, options = parse_options_header(self.headers.get("content-disposition", b""))
        except (ValueError, UnicodeError):
            raise UploadRefusedError(422, "A part's Content-Disposition is unreadable") from None
        name = options.get(b"name", b"").decode("utf-8", "replace")
        self.in_file = name == FILE_FIELD
        if self.in_file:
            if self.seen_file:
                raise UploadRefusedError(422, "Send one file per import")
            self.seen_file = True
            raw_name = options.get(b"filename", b"").decode("utf-8", "replace")
            self.file_name = Path(raw_name.replace("\\", "/")).name[:255] or "upload.csv"

    def on_part_data(self, data: bytes, start: int, end: int) -> None:
        if self.in_file:
            self.pending.append(data[start:end])

    def on_part_end(self) -> None:
        self.in_file = False

    def _count(self, size: int) -> None:
        self.header_bytes += size
        if self.header_bytes > _MAX_HEADER_BYTES:
            raise UploadRefusedError(422, "The multipart headers are too long")


async def receive_file(request: Request, *, directory: Path, limit: int) -> ReceivedFile:
    """Streams the request's multipart `file` part into a new file under `directory`.
    Raises UploadRefusedError (413 over `limit`, 422 for a body without a file); a partial
    file is removed."""
    content_type, options = parse_options_header(request.headers.get("content-type", ""))
    boundary = options.get(b"boundary")
    if content_type != b"multipart/form-data" or not boundary:
        raise UploadRefusedError(422, "Send the export as multipart/form-data, in a `file` field")
    declared = request.headers.get("content-length")
    if declared is not None and declared.isdigit() and int(declared) > limit + _FRAMING_ALLOWANCE:
        raise too_large(limit)
    part = _FilePart()
    parser = MultipartParser(
        boundary,
        {
            "on_part_begin": part.on_part_begin,
            "on_header_field": part.on_header_field,
            "on_header_value": part.on_header_value,
            "on_header_end": part.on_header_end,
            "on_headers_finished": part.on_headers_finished,
            "on_part_data": part.on_part_data,
            "on_part_end": part.on_part_end,
        },
    )
    await anyio.Path(directory).mkdir(parents=True, exist_ok=True)
    path = directory / f"{uuid.uuid4().hex}.part"
    size = 0
    body = 0
    try:
        async with await anyio.open_file(path, "wb") as file:
            async for chunk in request.stream():
                body += len(chunk)
                if body > limit + _FRAMING_ALLOWANCE:
                    raise too_large(limit)
                try:
                    parser.write(chunk)
                except MultipartParseError as exc:
                    raise UploadRefusedError(422, f"Malformed multipart body: {exc}") from None
                for data in part.pending:
                    size += len(data)
                    if size > limit:
                        raise too_large(limit)
                    await file.write(data)
                part.pending.clear()
        try:
            parser.finalize()
        except MultipartParseError as exc:
            raise UploadRefusedError(422, f"Malformed multipart body: {exc}") from None
        if not part.seen_file:
            raise UploadRefusedError(422, "The request has no `file` field")
        if size == 0:
            raise UploadRefusedError(422, "The file is empty")
    except BaseException:
        with contextlib.suppress(OSError):
            await anyio.Path(path).unlink()
        raise
    return ReceivedFile(path=path, file_name=part.file_name, size=size)
