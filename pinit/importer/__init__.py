"""`pinit import FILE [--from supervisord|procfile] [--explain]`: a translator, not a runtime
(issue 10; DESIGN §9). It prints pinit TOML on stdout; `--explain` lists every decision on
stderr, one line per source key or section, so `pinit import x.conf > pinit.toml` keeps the
TOML clean. Imported only by this subcommand: nothing here is on PID 1's start path.
"""

from __future__ import annotations

import configparser
import os
import re
import sys
from collections.abc import Mapping, Sequence
from typing import TextIO

__all__ = ["detect", "main", "run"]

SECTION = re.compile(r"^\s*\[[^\]]+\]\s*$", re.MULTILINE)


def detect(path: str) -> str:
    """``procfile`` for a file named Procfile* or without any ``[section]`` line."""
    if os.path.basename(path).lower().startswith("procfile"):
        return "procfile"
    with open(path, encoding="utf-8", errors="surrogateescape") as handle:
        text = handle.read(1 << 20)
    return "supervisord" if SECTION.search(text) else "procfile"


def run(  # noqa: PLR0917 - the CLI's arguments, then where to write
    path: str,
    kind: str | None,
    explain: bool,
    out: TextIO,
    err: TextIO,
    environ: Mapping[str, str],
) -> int:
    """0 with the TOML on ``out``; 1 when the file cannot be read or supervisord itself would
    refuse it (the reason on ``err``)."""
    try:
        kind = kind or detect(path)
        if kind == "procfile":
            from pinit.importer import procfile

            doc = procfile.translate(path)
        else:
            from pinit.importer import supervisord

            doc = supervisord.translate(path, environ)
    except (OSError, UnicodeError, ValueError, configparser.Error) as exc:
        print(f"pinit import: {path}: {exc}", file=err)
        return 1
    out.write(doc.render())
    if explain:
        for decision in doc.decisions:
            print(f"pinit import: {decision}", file=err)
    if not doc.programs:
        print(
            f"pinit import: {path}: no programs found; `pinit check` refuses a config without"
            " one: add a [programs.NAME] table",
            file=err,
        )
    return 0


def main(argv: Sequence[str]) -> int:
    import argparse

    parser = argparse.ArgumentParser(
        prog="pinit import",
        description="Translate a supervisord config or a Procfile into pinit TOML (stdout).",
        epilog="Every key becomes a pinit key or a comment saying why not. Check the result "
        "with `pinit check --config FILE --explain`.",
    )
    parser.add_argument("file", metavar="FILE", help="supervisord.conf or Procfile")
    parser.add_argument(
        "--from",
        dest="kind",
        choices=("supervisord", "procfile"),
        help="the format (default: a file named Procfile*, or one without [sections], is a"
        " Procfile)",
    )
    parser.add_argument(
        "--explain", action="store_true", help="list every decision on stderr, one a line"
    )
    args = parser.parse_args(list(argv))
    return run(args.file, args.kind, args.explain, sys.stdout, sys.stderr, os.environ)
