"""The command and ``ready`` values of a program table: argv splitting and the probes.

Split out of ``loadprog`` for size. Probe addresses are checked as strictly as the prober
will use them, in PID 1's loop: numeric hosts only, ASCII ports, a URL that cannot split the
request line (issue 11.4 found ``http://[::1/`` and ``"²"`` ports raising in the loader).
"""

from __future__ import annotations

from collections.abc import Callable

from pinit.config import keyset, units
from pinit.config.expand import ExpandError, expand
from pinit.config.fields import (
    FieldError,
    sub_field,
    unit,
    unknown_keys,
    want_int,
    want_str,
    want_str_list,
    want_table,
)
from pinit.config.schema import Liveness, Readiness, ReadyKind
from pinit.config.units import show

__all__ = ["duration", "parse_argv", "parse_live", "parse_ready", "positive_duration"]

READY_KEYS = keyset.keys("programs.NAME.ready")
LIVE_KEYS = keyset.keys("programs.NAME.live")

duration = unit(units.parse_duration)


def _expand_items(items: list[str], lookup: Callable[[str], str | None]) -> tuple[str, ...]:
    problems: list[tuple[str, str]] = []
    out: list[str] = []
    for i, item in enumerate(items):
        try:
            out.append(expand(item, lookup))
        except ExpandError as exc:
            problems.append((f"[{i}]", str(exc)))
    if problems:
        raise FieldError(items=problems)
    return tuple(out)


def parse_argv(value: object, lookup: Callable[[str], str | None]) -> tuple[str, ...]:
    """A list of strings, or one string split like a shell would (shlex, no expansion)."""
    if isinstance(value, str):
        import shlex  # only for a command string: off PID 1's start path (issue 7, speed)

        try:
            items = shlex.split(want_str(value))
        except ValueError as exc:
            raise FieldError(f"cannot split command string: {exc}") from None
    else:
        items = want_str_list(value)
    if not items:
        raise FieldError("must not be empty")
    if not items[0]:
        raise FieldError("program name must not be empty", sub="[0]")
    return _expand_items(items, lookup)


def positive_duration(value: object) -> float:
    seconds = duration(value)
    if seconds <= 0:
        raise FieldError(f"must be greater than zero, got {show(value)}")
    return seconds


def _host_port(text: str) -> tuple[str, int]:
    host, sep, port = text.rpartition(":")
    host = host.removeprefix("[").removesuffix("]")
    digits = port.isascii() and port.isdigit() and len(port) <= 5  # "²".isdigit() is True
    if not sep or not host or not digits or not 0 < int(port) < 65536:
        raise FieldError(f"expected 'host:port', got {show(text)}", sub=".tcp")
    _numeric_host(host)
    return host, int(port)


def _numeric_host(host: str) -> None:
    """Readiness probes run in PID 1's loop, where a DNS lookup would block reaping and
    signals for as long as the resolver takes (20 s for a silent one): only addresses and
    "localhost" are accepted. A program's readiness is local by nature."""
    if host == "localhost":
        return
    import ipaddress  # only with a probe: off PID 1's start path (issue 7, speed)

    try:
        ipaddress.ip_address(host)
    except ValueError:
        raise FieldError(
            f"expected an IP address or 'localhost', got {show(host)} "
            "(a name lookup would block pinit's event loop)"
        ) from None


def _expanded(value: object, lookup: Callable[[str], str | None]) -> str:
    try:
        return expand(want_str(value), lookup)
    except ExpandError as exc:
        raise FieldError(str(exc)) from None


def _http_address(url: str) -> tuple[str, int]:
    """(host, port) of an ``http://`` probe URL. The URL goes into the request line as
    written, so it must be visible ASCII (a space or CR/LF would split the request), and
    ``urlsplit`` raises ValueError on text such as ``http://[::1/`` (issue 11.4)."""
    wrong = FieldError(f"expected 'http://host:port/path', got {show(url)}")
    if not url.isascii() or not url.isprintable() or " " in url:
        raise wrong
    try:
        import urllib.parse  # only with an http probe (issue 7, speed)

        parts = urllib.parse.urlsplit(url)
        port = 80 if parts.port is None else parts.port
        host = parts.hostname
    except ValueError:
        raise wrong from None
    if parts.scheme != "http" or not host or not 0 < port < 65536:
        raise wrong
    _numeric_host(host)
    return host, port


def parse_ready(value: object, lookup: Callable[[str], str | None]) -> Readiness:
    """``"started"`` or a table naming exactly one probe; see ``schema.ReadyKind``.

    ``${VAR}`` expands in the tcp/http address and the command too, so a port defined once in
    ``environment`` serves both the server's argv and its readiness probe.
    """
    if value == "started":
        return Readiness()
    if isinstance(value, str):
        raise FieldError(
            f"expected 'started' or a table such as {{ tcp = 'host:port' }}, got {show(value)}"
        )
    raw = want_table(value)
    kinds = [k for k in keyset.READY_PROBES if k in raw]
    problems = unknown_keys(raw, READY_KEYS)
    if len(kinds) != 1:
        problems.append(("", "needs exactly one of tcp, http, command, notify"))
    base = Readiness()
    interval = sub_field(raw, "interval", positive_duration, base.interval, problems)
    timeout = sub_field(raw, "timeout", positive_duration, base.timeout, problems)
    if problems:
        raise FieldError(items=problems)
    return _probe(kinds[0], raw[kinds[0]], lookup, interval, timeout)


def _probe(
    kind: str, probe: object, lookup: Callable[[str], str | None], interval: float, timeout: float
) -> Readiness:
    """One probe's target, with its errors under ``.tcp`` / ``.http`` / ``.command``."""
    try:
        if kind == "tcp":
            host, port = _host_port(_expanded(probe, lookup))
            return Readiness(ReadyKind.TCP, host, port, interval=interval, timeout=timeout)
        if kind == "http":
            url = _expanded(probe, lookup)
            host, port = _http_address(url)
            return Readiness(ReadyKind.HTTP, host, port, url, interval=interval, timeout=timeout)
        if kind == "notify":
            if probe is not True:
                raise FieldError(f"must be true, got {show(probe)}")
            return Readiness(ReadyKind.NOTIFY, interval=interval, timeout=timeout)
        argv = parse_argv(probe, lookup)
        return Readiness(ReadyKind.COMMAND, command=argv, interval=interval, timeout=timeout)
    except FieldError as exc:
        located = [(sub if sub.startswith(".") else f".{kind}{sub}", m) for sub, m in exc.items]
        raise FieldError(items=located) from None


def parse_live(value: object, lookup: Callable[[str], str | None]) -> Liveness:
    """Issue 8: ``live = { tcp | http | command, interval, timeout, failures, initial_delay }``,
    one probe per table as for ``ready``, with the same address rules (no DNS in the loop)."""
    raw = want_table(value)
    kinds = [k for k in keyset.LIVE_PROBES if k in raw]
    problems = unknown_keys(raw, LIVE_KEYS)
    if len(kinds) != 1:
        problems.append(("", "needs exactly one of tcp, http, command"))
    base = Liveness(Readiness())
    interval = sub_field(raw, "interval", positive_duration, base.interval, problems)
    timeout = sub_field(raw, "timeout", positive_duration, base.timeout, problems)
    failures = sub_field(raw, "failures", lambda v: want_int(v, 1), base.failures, problems)
    delay = sub_field(raw, "initial_delay", duration, base.initial_delay, problems)
    if problems:
        raise FieldError(items=problems)
    check = _probe(kinds[0], raw[kinds[0]], lookup, interval, timeout)
    return Liveness(check, interval, timeout, failures, delay)
