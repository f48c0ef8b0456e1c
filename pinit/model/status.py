"""Raw ``waitpid`` statuses: the one decoder that the model and the runtime share (issue 7).

A leaf module (it imports only ``signal``), so every other model module may use it without a
cycle. Decoded by hand in the Linux layout because ``os.WIFEXITED`` and friends would pull
``os`` into the pure model; the runtime uses the same functions, so a death is described one
way everywhere (there used to be two describers that disagreed on a stopped status).
"""

from __future__ import annotations

import signal

__all__ = ["describe", "exit_code", "signal_name"]


def signal_name(signum: int) -> str:
    """``SIGTERM``; real-time signals as ``SIGRTMIN+N``, which is how kill(1) spells them."""
    try:
        return signal.Signals(signum).name
    except ValueError:
        rtmin = int(signal.SIGRTMIN)
        return f"SIGRTMIN+{signum - rtmin}" if signum >= rtmin else f"signal {signum}"


def exit_code(status: int) -> int:
    """Raw status -> the shell's code: the exit code, or 128+N for signal N.

    tini, dumb-init and sh agree on 128+N, so ``docker stop`` of a TERM-killed main reports 143.
    A stopped status (never reported without WUNTRACED) maps to 128+stopsig.
    """
    termsig = status & 0x7F
    if termsig == 0:
        return (status >> 8) & 0xFF
    if termsig == 0x7F:  # stopped: WSTOPSIG in the high byte
        return 128 + ((status >> 8) & 0xFF)
    return 128 + termsig


def describe(status: int) -> str:
    """``exit 3``, ``killed by SIGTERM`` or ``stopped by SIGSTOP``, for log lines."""
    termsig = status & 0x7F
    if termsig == 0:
        return f"exit {(status >> 8) & 0xFF}"
    if termsig == 0x7F:
        return f"stopped by {signal_name((status >> 8) & 0xFF)}"
    return f"killed by {signal_name(termsig)}"
