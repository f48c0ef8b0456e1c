"""Which signals pinit catches, and what the child must inherit instead.

The kernel drops a signal sent to a namespace's PID 1 unless PID 1 has a handler for it, so
every signal we forward needs one. Left out, as tini leaves them out:
- SIGKILL, SIGSTOP: cannot be caught.
- SIGCHLD: ours; it drives the reaper.
- SIGTTIN, SIGTTOU: ignored, so pinit is never stopped by touching the terminal it handed to
  the child (tini does the same).
- SIGSEGV, SIGBUS, SIGILL, SIGFPE, SIGABRT, SIGTRAP, SIGSYS: synchronous faults. A Python
  handler would return to the faulting instruction and spin; a real fault must kill us.
- SIGPIPE, SIGXFSZ: CPython ignores them so a write reports EPIPE/EFBIG instead; forwarding
  would turn pinit's own broken stdout into a signal to the child.
Real-time signals are forwarded too (dumb-init #70 was a bug report about exactly those).
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
        signal.SIGPIPE,
        signal.SIGXFSZ,
    }
)

IGNORED_BY_PINIT = (signal.SIGTTIN, signal.SIGTTOU)
ALWAYS_RESET = tuple(int(s) for s in (signal.SIGPIPE, signal.SIGXFSZ, *IGNORED_BY_PINIT))
_SIG_DFL = int(signal.SIG_DFL)
_SIG_SETMASK = int(signal.SIG_SETMASK)


def forwardable() -> list[int]:
    """Every catchable signal pinit relays, real-time ones included."""
    return sorted(int(s) for s in signal.valid_signals() if s not in NOT_FORWARDED)


def watched() -> list[int]:
    """Forwardable signals plus SIGCHLD: everything that must wake the loop."""
    return [*forwardable(), int(signal.SIGCHLD)]


def ignore_job_control() -> None:
    for sig in IGNORED_BY_PINIT:
        signal.signal(sig, signal.SIG_IGN)


def reset_in_child(handled: list[int]) -> None:
    """Run between fork and exec, with every signal still blocked by the parent.

    Each signal pinit handled goes back to SIG_DFL *before* the mask is lifted, so a signal
    that reached the child early stays pending and then acts with its default meaning: it is
    neither lost in a Python handler that exec discards, nor written into the wakeup pipe the
    child inherited (which would make pinit believe it received it). Ignored ones are reset
    too: CPython ignores SIGPIPE and SIGXFSZ and pinit ignores SIGTTIN/SIGTTOU, and a child
    that inherited SIG_IGN for SIGPIPE spins on EPIPE instead of dying as `yes | head` expects.
    """
    # The C functions, not signal.signal(): its wrapper converts every old handler to an enum,
    # and in a freshly forked child each Python object touched is a copy-on-write page fault.
    # That made the time from fork to exec ~1.9 ms, most of a restart's overhead.
    _signal.set_wakeup_fd(-1)
    for sig in handled:
        _signal.signal(sig, _SIG_DFL)
    for sig in ALWAYS_RESET:
        _signal.signal(sig, _SIG_DFL)
    _signal.pthread_sigmask(_SIG_SETMASK, ())
