"""PyInstaller runtime hook: runs inside the frozen pinit before pinit.cli is imported.

1. Keep the bundle's loader settings out of the programs pinit supervises.  The one-folder
   bootloader re-execs itself with LD_LIBRARY_PATH=<bundle>/_internal (the user's value is kept
   in LD_LIBRARY_PATH_ORIG) and _PYI_* bookkeeping variables.  Children inheriting them would
   load pinit's bundled libcrypto/libz instead of their own, and a frozen PyInstaller program
   run under pinit would take itself for a child of pinit's bootloader.  Changing the
   environment now does not affect pinit itself: the dynamic loader read it at exec.
2. Record how this pinit was packaged, for `pinit version`:
   sys._pinit_build_mode is "sfx" (self-extracting dist/pinit), "onedir" or "onefile";
   sys._pinit_launcher is the path of the self-extracting file ("" otherwise).

3. When the launcher ran as PID 1 it blocked the stop/forwardable signals before exec
   (`_PINIT_SIGBLOCK=1`, see launcher.c): PID 1 drops a signal it has no handler for, and a
   `podman stop` right after start would be lost.  Each of them is unblocked as soon as pinit
   calls signal.signal() for it, so one that arrived early is delivered to pinit's handler.
   Children never inherit the mask: pinit resets it to empty between fork and exec.

setproctitle is initialised first (DESIGN §3: it may move environ's memory, so it must set up
before anything edits os.environ).
"""


def _unblock_on_handler_install() -> None:
    import signal

    blocked = signal.pthread_sigmask(signal.SIG_BLOCK, ())
    if not blocked:
        return
    original = signal.signal

    def signal_then_unblock(signalnum, handler):  # type: ignore[no-untyped-def]
        previous = original(signalnum, handler)
        if signalnum in blocked:
            blocked.discard(signalnum)
            signal.pthread_sigmask(signal.SIG_UNBLOCK, (signalnum,))
            if not blocked:
                signal.signal = original
        return previous

    signal.signal = signal_then_unblock


def _pinit_rthook() -> None:
    import os
    import sys

    # setproctitle's C module alone: its package imports logging (and with it traceback,
    # threading, string, weakref: ~10 ms of every frozen start, issue 7 speed)
    from pinit.titles import prepare

    prepare()  # initialises its copy of argv/environ

    launcher = os.environ.pop("_PINIT_SFX", "")
    meipass = getattr(sys, "_MEIPASS", "")
    if launcher:
        mode = "sfx"
    elif os.path.basename(meipass).startswith("_MEI"):
        mode = "onefile"
    else:
        mode = "onedir"
    sys._pinit_build_mode = mode  # type: ignore[attr-defined]
    sys._pinit_launcher = launcher  # type: ignore[attr-defined]

    orig = os.environ.pop("LD_LIBRARY_PATH_ORIG", None)
    if orig is not None:
        os.environ["LD_LIBRARY_PATH"] = orig
    else:
        os.environ.pop("LD_LIBRARY_PATH", None)
    for key in [k for k in os.environ if k.startswith("_PYI_")]:
        del os.environ[key]

    if os.environ.pop("_PINIT_SIGBLOCK", None):
        _unblock_on_handler_install()


_pinit_rthook()
