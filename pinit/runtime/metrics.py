"""The Prometheus text exposition (0.0.4) and OpenMetrics 1.0.0, written by hand (issue 8).

DESIGN.md §9: the format is a few lines to write, while ``prometheus_client`` brings a registry,
threads and an import cost PID 1 has no use for. The tests parse what this writes with
``prometheus_client.parser`` / ``openmetrics.parser`` and ``promtool check metrics``.

The two formats differ in three places, all handled here: a counter's family is named without
``_total`` in OpenMetrics (its sample keeps it) and with it in 0.0.4; OpenMetrics ends with
``# EOF``; and its HELP text escapes double quotes too. Label values are escaped in both
(backslash, double quote, newline): a program name is the config author's text.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Sequence

__all__ = [
    "OPENMETRICS",
    "PROMETHEUS",
    "Family",
    "Histogram",
    "labels",
    "line",
    "render",
    "wants_openmetrics",
]

PROMETHEUS = "text/plain; version=0.0.4; charset=utf-8"
OPENMETRICS = "application/openmetrics-text; version=1.0.0; charset=utf-8"


class Family:
    """One metric family: ``kind`` is gauge, counter or histogram; samples are added in order.

    A counter's ``name`` ends with ``_total`` (its sample name in both formats). A sample line
    is the same text in both formats, so it is written when added (``add``), or handed over
    already written (``add_text``: /metrics keeps each instance's lines until the instance
    changes, issue 8's CPU per scrape); ``render`` only adds the headers and joins."""

    __slots__ = ("help", "kind", "lines", "name")

    def __init__(self, name: str, kind: str, help_text: str) -> None:
        self.name = name
        self.kind = kind
        self.help = help_text
        self.lines: list[str] = []  # sample lines, each ending with a newline

    def add(self, value: float, labels: str = "", suffix: str = "") -> None:
        """``labels``: from ``labels()``, escaped once per instance rather than per sample
        (a scrape of 500 programs writes ~9000 samples)."""
        self.lines.append(line(self.name + suffix, value, labels))

    def add_text(self, text: str) -> None:
        """Sample lines written by ``line`` (any number, each ending with a newline)."""
        self.lines.append(text)


def line(name: str, value: float, labels: str = "") -> str:
    """One sample line: ``name{labels} value``, newline-terminated."""
    if labels:
        return name + "{" + labels + "} " + _number(value) + "\n"
    return name + " " + _number(value) + "\n"


class Histogram:
    """Cumulative buckets of observations (seconds); ``observe`` is O(buckets), no allocation."""

    __slots__ = ("bounds", "count", "counts", "total")

    def __init__(self, bounds: Sequence[float]) -> None:
        self.bounds = tuple(bounds)
        self.counts = [0] * len(self.bounds)
        self.count = 0
        self.total = 0.0

    def observe(self, value: float) -> None:
        self.count += 1
        self.total += value
        for i, bound in enumerate(self.bounds):
            if value <= bound:
                self.counts[i] += 1
                break

    def family(self, name: str, help_text: str) -> Family:
        fam = Family(name, "histogram", help_text)
        running = 0
        for bound, n in zip(self.bounds, self.counts, strict=True):
            running += n
            fam.add(running, labels(("le", _number(float(bound)))), "_bucket")
        fam.add(self.count, 'le="+Inf"', "_bucket")
        fam.add(self.total, "", "_sum")
        fam.add(self.count, "", "_count")
        return fam


def wants_openmetrics(accept: str) -> bool:
    """Content negotiation as Prometheus does it: OpenMetrics when the scraper lists it (with a
    non-zero q), the 0.0.4 text format otherwise (curl, browsers, older scrapers)."""
    for part in accept.split(","):
        media, _, params = part.partition(";")
        if media.strip().lower() == "application/openmetrics-text":
            for param in params.split(";"):
                key, _, value = param.partition("=")
                if key.strip().lower() == "q":
                    try:
                        return float(value) > 0
                    except ValueError:
                        return False
            return True
    return False


def _number(value: float) -> str:
    """An int as written; a float as Python's shortest repr ("0.25", "3.0"); NaN and infinities
    spelled as both formats want them."""
    if type(value) is int:  # the common case, first
        return str(value)
    if isinstance(value, int):
        return str(int(value))  # bool: 1/0
    if math.isnan(value):
        return "NaN"
    if math.isinf(value):
        return "+Inf" if value > 0 else "-Inf"
    return repr(float(value))


def escape_label(value: str) -> str:
    if "\\" not in value and '"' not in value and "\n" not in value:
        return value
    return value.replace("\\", "\\\\").replace('"', '\\"').replace("\n", "\\n")


def labels(*pairs: tuple[str, str]) -> str:
    """``name="value"`` pairs, escaped, comma-separated: what goes between the braces."""
    return ",".join(f'{k}="{escape_label(v)}"' for k, v in pairs)


def _help(text: str, openmetrics: bool) -> str:
    text = text.replace("\\", "\\\\").replace("\n", "\\n")
    return text.replace('"', '\\"') if openmetrics else text


def render(families: Iterable[Family], openmetrics: bool = False) -> bytes:
    out: list[str] = []
    for fam in families:
        name = fam.name
        if fam.kind == "counter" and openmetrics:
            name = name.removesuffix("_total")
        out.append(f"# HELP {name} {_help(fam.help, openmetrics)}\n# TYPE {name} {fam.kind}\n")
        out += fam.lines
    if openmetrics:
        out.append("# EOF\n")
    return "".join(out).encode()
