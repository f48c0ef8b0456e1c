"""posix_spawn(3) called through ctypes, because os.posix_spawn cannot reset signals 32 and 33.

glibc's posix_spawn leaves its internal signals (32, SIGCANCEL; 33, SIGSETXID) SIG_IGN in the
child unless they are in the spawn's "set to default" set, and exec keeps ignored signals
ignored: every program started this way saw `SigIgn: 0000000180000000`, where a direct exec
or a fork shows 0 (issue 7.1). os.posix_spawn builds that set with sigaddset(), which refuses
exactly those two numbers; here the attribute's sigset_t is written bit by bit
(sigfd.sigset), which glibc's posix_spawnattr_setsigdefault copies as it is.

The attribute objects are built once per flavour and reused: they hold no pointers, only
flags, a group and two signal sets. The cost per spawn is building argv/envp, as
os.posix_spawn does in C (a few microseconds against ~150 for the vfork + exec).
"""

from __future__ import annotations

import ctypes
import os
from collections.abc import Mapping, Sequence

from pinit.runtime import sigfd, signals

_SETPGROUP = 0x02
_SETSIGDEF = 0x04
_SETSIGMASK = 0x08
_SETSID = 0x80  # glibc >= 2.26
_ATTR_BYTES = 512  # sizeof(posix_spawnattr_t) is 336 on x86-64 and aarch64 glibc
_ACTIONS_BYTES = 256  # sizeof(posix_spawn_file_actions_t) is 80

_libc = ctypes.CDLL(None, use_errno=True)
_attrs: dict[bool, ctypes.Array[ctypes.c_char]] = {}


def _attr(new_session: bool) -> ctypes.Array[ctypes.c_char]:
    attr = _attrs.get(new_session)
    if attr is None:
        attr = ctypes.create_string_buffer(_ATTR_BYTES)
        _check(_libc.posix_spawnattr_init(attr))
        _check(_libc.posix_spawnattr_setsigmask(attr, sigfd.sigset(())))
        _check(_libc.posix_spawnattr_setsigdefault(attr, sigfd.sigset(signals.SPAWN_DEFAULTS)))
        flags = _SETSIGDEF | _SETSIGMASK | (_SETSID if new_session else _SETPGROUP)
        _check(_libc.posix_spawnattr_setpgroup(attr, 0))  # 0: a group of its own
        _check(_libc.posix_spawnattr_setflags(attr, ctypes.c_short(flags)))
        _attrs[new_session] = attr
    return attr


def _check(rc: int) -> None:
    if rc != 0:
        raise OSError(rc, os.strerror(rc))


def _strings(items: Sequence[bytes]) -> ctypes.Array[ctypes.c_char_p]:
    """A NULL-terminated char* array. A NUL inside an item would silently cut it in C, so it
    is refused as os.posix_spawn refuses it."""
    for item in items:
        if b"\0" in item:
            raise ValueError("embedded null byte")
    return (ctypes.c_char_p * (len(items) + 1))(*items, None)


def _environ(env: Mapping[str, str] | None) -> list[bytes]:
    if env is None:  # pinit's own, as bytes: no decode and re-encode
        return [k + b"=" + v for k, v in os.environb.items()]
    out = []
    for key, value in env.items():
        k = os.fsencode(key)
        if not k or b"=" in k:
            raise ValueError("illegal environment variable name")
        out.append(k + b"=" + os.fsencode(value))
    return out


def spawn(
    path: str,
    argv: Sequence[str],
    env: Mapping[str, str] | None,
    dup2: Sequence[tuple[int, int]] = (),
    *,
    new_session: bool = False,
) -> int:
    """Start `path`; return its pid. Raises OSError (exec errors included: glibc reports
    them as the call's result), ValueError for a NUL or a bad variable name.

    The child gets an empty signal mask and SIG_DFL for every signal but those pinit's own
    parent left ignored; its own process group (or its own session with `new_session`).
    """
    c_argv = _strings([os.fsencode(a) for a in argv])
    c_env = _strings(_environ(env))
    c_path = os.fsencode(path)
    if b"\0" in c_path:
        raise ValueError("embedded null byte")
    actions = ctypes.create_string_buffer(_ACTIONS_BYTES)
    _check(_libc.posix_spawn_file_actions_init(actions))
    try:
        for fd, target in dup2:
            _check(_libc.posix_spawn_file_actions_adddup2(actions, fd, target))
        pid = ctypes.c_int(0)
        _check(
            _libc.posix_spawn(ctypes.byref(pid), c_path, actions, _attr(new_session), c_argv, c_env)
        )
    finally:
        _libc.posix_spawn_file_actions_destroy(actions)
    return pid.value
