"""Frames between a process and the helper processes it starts (the crawl's parse workers,
the backlink import's parse helper) over their pipes: a 4-byte big-endian length, then a
pickle. Only the platform's own processes write them, so unpickling them is safe."""

import pickle
import struct
from typing import IO, Any

HEADER = struct.Struct("!I")


def encode_frame(value: object) -> bytes:
    payload = pickle.dumps(value, protocol=pickle.HIGHEST_PROTOCOL)
    return HEADER.pack(len(payload)) + payload


def read_frame(stream: IO[bytes]) -> bytes | None:
    """The next frame's payload, or None at the end of the stream (or a frame cut short)."""
    header = stream.read(HEADER.size)
    if len(header) < HEADER.size:
        return None
    (length,) = HEADER.unpack(header)
    payload = stream.read(length)
    return payload if len(payload) == length else None


def decode_frame(payload: bytes) -> Any:
    return pickle.loads(payload)  # noqa: S301 - written by our own process
