"""Which signals pinit catches, and what the child must inherit instead.

The kernel drops a signal sent to a namespace's PID 1 unless PID 1 has a handler for it, so
every signal we forward needs one. Left out, as tini leaves them out:
- SIGKILL, SIGSTOP: cannot be caught.
- SIGCHLD: ours; it drives the reaper.
- SIGTTIN, SIGTTOU: ignored, so pinit is never stopped by touching the terminal it handed to
  the child (tini does the same).
- SIGSEGV, SIGBUS, SIGILL, SIGFPE, SIGABRT, SIGTRAP, SIGSYS: synchronous faults. A Python
  handler would return to the faulting instruction and spin; a real fault must kill us.
SIGPIPE and SIGXFSZ are forwarded when another process sends them (`kill -PIPE 1`, as tini and
dumb-init do); the ones pinit causes itself are not (runtime/sigfd.py tells them apart).
Real-time signals are forwarded too (dumb-init #70 was a bug report about exactly those).

A child's signal state equals a direct exec's from pinit's parent (issue 7.1): an empty mask,
and ignored only what pinit itself inherited as ignored (`nohup`, a shell's background job).
pinit needs no handler (signals are blocked and read from a signalfd), so the only dispositions
it changed are CPython's (SIGPIPE, SIGXFSZ ignored; SIGINT's KeyboardInterrupt handler) and its
own SIGTTIN/SIGTTOU; those, and glibc's internal 32 and 33 that its posix_spawn leaves ignored,
go back to SIG_DFL in the child.
"""

from __future__ import annotations

import _signal  # type: ignore[import-not-found]  # C module under `signal`: no enum wrapping
import signal

from pinit.model import status

# Statuses and signal names are decoded once, in the model's leaf module (issue 7): the log
# line of a death and the exit code pinit returns cannot disagree.
describe_status = status.describe
exit_code = status.exit_code
name = status.signal_name

NOT_FORWARDED = frozenset(
    {
        signal.SIGKILL,
        signal.SIGSTOP,
        signal.SIGCHLD,
        signal.SIGTTIN,
        signal.SIGTTOU,
        signal.SIGSEGV,
        signal.SIGBUS,
        signal.SIGILL,
        signal.SIGFPE,
        signal.SIGABRT,
        signal.SIGTRAP,
        signal.SIGSYS,
    }
)
# Sent by the kernel to the writer itself: pinit's own are dropped, not forwarded (issue 7.2).
SELF_CAUSED = frozenset({int(signal.SIGPIPE), int(signal.SIGXFSZ)})

IGNORED_BY_PINIT = (signal.SIGTTIN, signal.SIGTTOU)
_SIG_DFL = int(signal.SIG_DFL)
_SIG_SETMASK = int(signal.SIG_SETMASK)

# Read once at import, before pinit changes anything: what pinit's parent left ignored. SIGPIPE
# and SIGXFSZ are CPython's doing (it ignores them at start), SIGCHLD ignored would make the
# kernel reap children behind the reaper's back: those three are never passed on ignored.
INHERITED_IGNORED = frozenset(
    int(s)
    for s in signal.valid_signals()
    if signal.getsignal(s) == signal.SIG_IGN
    and s not in (signal.SIGPIPE, signal.SIGXFSZ, signal.SIGCHLD)
)
# Dispositions pinit (or CPython) changed from what it inherited; a forked child resets them.
_changed: set[int] = {int(signal.SIGPIPE), int(signal.SIGXFSZ), int(signal.SIGINT)}
_changed.update(int(s) for s in IGNORED_BY_PINIT)
_changed.difference_update(INHERITED_IGNORED)
# What posix_spawn sets to SIG_DFL in the child: every signal, glibc's 32 and 33 included
# (its posix_spawn otherwise leaves them SIG_IGN), except what a direct exec would find ignored.
SPAWN_DEFAULTS = tuple(
    s for s in range(1, 65) if s not in (signal.SIGKILL, signal.SIGSTOP, *INHERITED_IGNORED)
)


def forwardable() -> list[int]:
    """Every catchable signal pinit relays, real-time ones included."""
    return sorted(int(s) for s in signal.valid_signals() if s not in NOT_FORWARDED)


def watched() -> list[int]:
    """Forwardable signals plus SIGCHLD: everything that must wake the loop."""
    return [*forwardable(), int(signal.SIGCHLD)]


def ignore_job_control() -> None:
    for sig in IGNORED_BY_PINIT:
        signal.signal(sig, signal.SIG_IGN)


def handled_here(signums: list[int]) -> None:
    """Record that pinit installed handlers for these (the loop's fallback when it has no
    signalfd), so a forked child puts them back to SIG_DFL."""
    _changed.update(signums)


def reset_in_child() -> None:
    """Run between fork and exec, with every signal still blocked by the parent.

    Each disposition pinit changed goes back to SIG_DFL *before* the mask is lifted, so a
    signal that reached the child early stays pending and then acts with its default meaning:
    it is neither lost in a Python handler that exec discards, nor written into a wakeup pipe
    the child inherited (which would make pinit believe it received it). Ignored ones are reset
    too: CPython ignores SIGPIPE and SIGXFSZ and pinit ignores SIGTTIN/SIGTTOU, and a child
    that inherited SIG_IGN for SIGPIPE spins on EPIPE instead of dying as `yes | head` expects.
    What pinit changed is recorded here (``handled_here``), not passed by the caller.
    """
    # The C functions, not signal.signal(): its wrapper converts every old handler to an enum,
    # and in a freshly forked child each Python object touched is a copy-on-write page fault.
    # That made the time from fork to exec ~1.9 ms, most of a restart's overhead.
    _signal.set_wakeup_fd(-1)
    for sig in _changed:
        _signal.signal(sig, _SIG_DFL)
    _signal.pthread_sigmask(_SIG_SETMASK, ())
