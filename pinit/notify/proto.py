"""The sd_notify datagram, parsed without I/O.

One datagram is one message: newline-separated KEY=VALUE assignments (sd_notify(3)). A line
without "=" is invalid and skipped, as systemd skips it; later assignments of a key win.
"""

from __future__ import annotations

MAX_DATAGRAM = 4096  # systemd accepts larger, but no real state message comes near this


def parse(data: bytes) -> dict[str, str]:
    fields: dict[str, str] = {}
    for raw in data.split(b"\n"):
        key, sep, value = raw.partition(b"=")
        if sep and key:
            fields[key.decode(errors="replace")] = value.decode(errors="replace")
    return fields


def format_message(fields: dict[str, str]) -> bytes:
    return "\n".join(f"{k}={v}" for k, v in fields.items()).encode()
