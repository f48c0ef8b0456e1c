"""Process titles via setproctitle: `pinit-NAME-manager`, as gunicorn names its arbiter.

setproctitle's package `__init__` imports `logging` only to report a missing C module, which
costs PID 1 ~9 ms of its ~60 ms start. The C module is loaded straight from the package
folder instead; anything unusual falls back to the ordinary import.

Call `set_title` before anything edits os.environ: setproctitle moves environ's memory to
make room for the title (gunicorn #3430: a title set after environ changed clobbered it).
"""

from __future__ import annotations

import sys
from collections.abc import Callable
from types import ModuleType

_C_NAME = "setproctitle._setproctitle"


def _c_module() -> ModuleType | None:
    """setproctitle's C module, loaded without importlib.util (another ~4 ms) and kept in
    sys.modules, so a later ordinary import of setproctitle finds it."""
    loaded = sys.modules.get(_C_NAME)
    if loaded is not None:
        return loaded
    try:
        from importlib.machinery import (
            EXTENSION_SUFFIXES,
            ExtensionFileLoader,
            ModuleSpec,
            PathFinder,
        )

        package = PathFinder.find_spec("setproctitle")
        if package is None or not package.submodule_search_locations:
            return None
        for folder in package.submodule_search_locations:
            for suffix in EXTENSION_SUFFIXES:
                path = f"{folder}/_setproctitle{suffix}"
                loader = ExtensionFileLoader(_C_NAME, path)
                try:
                    module = loader.create_module(ModuleSpec(_C_NAME, loader, origin=path))
                except (ImportError, OSError):
                    continue
                loader.exec_module(module)
                sys.modules[_C_NAME] = module
                return module
    except (ImportError, AttributeError, ValueError):
        return None
    return None


def prepare() -> None:
    """Let setproctitle take its copy of argv and environ now, before anything edits
    os.environ (the frozen build's runtime hook calls this first thing)."""
    module = _c_module()
    try:
        if module is not None:
            module.getproctitle()
        else:
            from setproctitle import getproctitle

            getproctitle()
    except Exception:  # cosmetic; never fatal for PID 1
        return


def set_title(title: str) -> None:
    module = _c_module()
    setter: Callable[[str], None] | None = None if module is None else module.setproctitle
    if setter is None:
        try:
            from setproctitle import setproctitle

            setter = setproctitle
        except ImportError:  # a dependency, but a title is not worth failing to start
            return
    try:
        setter(title)
    except Exception:  # cosmetic; never fatal for PID 1
        print(f"pinit: warning: cannot set process title {title!r}", file=sys.stderr)


def manager_title(name: str | None) -> str:
    return f"pinit-{name}-manager" if name else "pinit"
