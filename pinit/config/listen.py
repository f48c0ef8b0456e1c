"""``[pinit] http``: the address the HTTP endpoint listens on (issue 8), checked at load.

Two spellings: ``HOST:PORT`` (an IP literal, ``[v6]:PORT``, or ``localhost``) and
``unix:/path``. Host names other than ``localhost`` are refused: resolving one is a DNS query,
which would block PID 1's loop at start and at every reload's check. ``ipaddress`` is imported
only when the key is set (issue 7, speed: nothing new on the start path).
"""

from __future__ import annotations

__all__ = ["UNIX", "parse", "split"]

UNIX = "unix:"


def split(address: str) -> tuple[str, str, int]:
    """A parsed address -> ("unix", path, 0) or ("tcp", host, port) (host without brackets)."""
    if address.startswith(UNIX):
        return "unix", address[len(UNIX) :], 0
    host, _, port = address.rpartition(":")
    return "tcp", host.strip("[]"), int(port)


def parse(value: str, here: str) -> str:
    """The normalized address, or ValueError saying what is wrong; a relative unix path is
    taken from ``here`` (the config file's directory), as every other path in the file."""
    text = value.strip()
    if text.startswith(UNIX):
        import os.path

        path = text[len(UNIX) :]
        if not path or "\0" in path:
            raise ValueError(f"{value!r}: expected unix:/path/to/http.sock")
        full = os.path.normpath(os.path.join(here, path))
        if len(full.encode()) > 107:  # sun_path holds 108 bytes with its NUL
            raise ValueError(f"{value!r}: a unix socket path is at most 107 bytes")
        return UNIX + full
    host, sep, port = text.rpartition(":")
    if not sep or not host:
        raise ValueError(f'{value!r}: expected "HOST:PORT" (e.g. "127.0.0.1:9100") or "unix:/path"')
    if not port.isdigit() or not 0 < int(port) < 65536:
        raise ValueError(f"{value!r}: the port must be a number from 1 to 65535")
    bare = host[1:-1] if host.startswith("[") and host.endswith("]") else host
    if bare != "localhost":
        import ipaddress

        try:
            ip = ipaddress.ip_address(bare)
        except ValueError:
            raise ValueError(
                f"{value!r}: the host must be an IP address or localhost (no DNS look-up in PID 1)"
            ) from None
        if ip.version == 6 and bare == host:
            raise ValueError(f"{value!r}: write an IPv6 address in brackets: [{bare}]:{port}")
        host = f"[{ip}]" if ip.version == 6 else str(ip)
    return f"{host}:{int(port)}"
