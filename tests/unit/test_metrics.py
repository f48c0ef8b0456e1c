"""The hand-written exposition (issue 8): what real parsers make of it, in both formats."""

from __future__ import annotations

import pytest
from prometheus_client.openmetrics.parser import (
    text_string_to_metric_families as parse_openmetrics,
)
from prometheus_client.parser import text_string_to_metric_families as parse_prometheus

from pinit.runtime.metrics import (
    Family,
    Histogram,
    escape_label,
    labels,
    render,
    wants_openmetrics,
)

NASTY = 'we"b\\1\nx'  # a quote, a backslash and a newline in a label value


def families() -> list[Family]:
    state = Family("pinit_program_state", "gauge", "1 for the state")
    state.add(1, labels(("program", NASTY), ("state", "running")))
    state.add(0, labels(("program", NASTY), ("state", "fatal")))
    restarts = Family("pinit_program_restarts_total", "counter", "Restarts, by reason")
    restarts.add(3, labels(("program", "a"), ("reason", "exited")))
    cpu = Family("process_cpu_seconds_total", "counter", "CPU time")
    cpu.add(0.25)
    hist = Histogram((0.001, 0.01, 1.0))
    for value in (0.0005, 0.005, 0.005, 2.0):
        hist.observe(value)
    return [state, restarts, cpu, hist.family("pinit_loop_turn_seconds", "Turn time")]


def samples(fams: object) -> dict[tuple[str, tuple[tuple[str, str], ...]], float]:
    return {
        (s.name, tuple(sorted(s.labels.items()))): s.value
        for fam in fams  # type: ignore[attr-defined]
        for s in fam.samples
    }


@pytest.mark.parametrize("openmetrics", [False, True])
def test_real_parsers_read_every_sample(openmetrics: bool) -> None:
    text = render(families(), openmetrics=openmetrics).decode()
    parse = parse_openmetrics if openmetrics else parse_prometheus
    fams = list(parse(text))
    got = samples(fams)
    assert got[("pinit_program_state", (("program", NASTY), ("state", "running")))] == 1
    assert got[("pinit_program_restarts_total", (("program", "a"), ("reason", "exited")))] == 3
    assert got[("process_cpu_seconds_total", ())] == 0.25
    buckets = {k[1][0][1]: v for k, v in got.items() if k[0] == "pinit_loop_turn_seconds_bucket"}
    assert buckets == {"0.001": 1, "0.01": 3, "1.0": 3, "+Inf": 4}
    assert got[("pinit_loop_turn_seconds_count", ())] == 4
    assert got[("pinit_loop_turn_seconds_sum", ())] == pytest.approx(2.0105)
    types = {f.name: f.type for f in fams}
    assert types["pinit_program_restarts"] == "counter"  # both parsers strip _total
    assert types["pinit_loop_turn_seconds"] == "histogram"


def test_openmetrics_ends_with_eof_and_names_counters_without_total() -> None:
    text = render(families(), openmetrics=True).decode()
    assert text.endswith("# EOF\n")
    assert "# TYPE pinit_program_restarts counter\n" in text
    assert "pinit_program_restarts_total{" in text
    plain = render(families()).decode()
    assert "# EOF" not in plain
    assert "# TYPE pinit_program_restarts_total counter\n" in plain


def test_label_values_are_escaped() -> None:
    assert escape_label("plain-name_1.0") == "plain-name_1.0"
    assert escape_label(NASTY) == 'we\\"b\\\\1\\nx'
    text = render(families()).decode()
    assert all(line.count("\n") == 0 for line in text.splitlines())
    assert 'program="we\\"b\\\\1\\nx"' in text


@pytest.mark.parametrize(
    ("accept", "openmetrics"),
    [
        ("", False),
        ("*/*", False),
        ("text/plain;version=0.0.4", False),
        ("application/openmetrics-text;version=1.0.0,text/plain;version=0.0.4;q=0.5", True),
        ("application/openmetrics-text; version=1.0.0; q=0", False),
        ("Application/OpenMetrics-Text", True),
    ],
)
def test_content_negotiation(accept: str, openmetrics: bool) -> None:
    assert wants_openmetrics(accept) is openmetrics
