"""Issue 8, `[pinit] log_format = "json"`: pinit's own lines (stderr) and passed-through
program lines (stdout) are one JSON object each, parsed here by a real JSON parser; a program
line that is a JSON object stays an object; nothing is lost, torn or merged under load."""

from __future__ import annotations

import json
import re
import signal
from pathlib import Path

from tests.conftest import Launch
from tests.integration.supervise import start

HEAD = '[pinit]\nlog_format = "json"\n'
TALK_SH = r"""
echo hello
echo '{"a": 1, "b": [2, {"c": null}]}'
echo '{bad}'
echo '{"x": NaN}'
echo oops >&2
printf 'no newline'
echo "talk done $$ 0" > "$EVENTS"
exit 3
"""
TALK = """
[programs.talk]
command = ["sh", "{script}"]
stdout = {{ passthrough = true }}
start_seconds = 0
restart = "never"
"""


def parse(text: str) -> list[dict[str, object]]:
    out = []
    for line in text.splitlines():
        obj = json.loads(line)  # every line, or the test fails here
        assert isinstance(obj, dict), line
        out.append(obj)
    return out


def test_passthrough_and_own_lines_are_json(launch: type[Launch], tmp_path: Path) -> None:
    (tmp_path / "talk.sh").write_text(TALK_SH)
    body = HEAD + TALK.format(script=tmp_path / "talk.sh")
    pinit, events = start(launch, tmp_path, body, mode="plain")
    try:
        events.wait("talk", "done")
        pinit.wait_stderr('"level":"warn"')
        pinit.signal(signal.SIGTERM)
        _, out, err = pinit.finish()
    finally:
        pinit.kill()
        events.close()
    lines = parse(out)
    for obj in lines:
        assert (obj["program"], obj["instance"]) == ("talk", "talk")
        assert isinstance(obj["ts"], float)
    stdout = [o for o in lines if o["stream"] == "stdout"]
    assert [o.get("msg", o.get("json")) for o in stdout] == [
        "hello",
        {"a": 1, "b": [2, {"c": None}]},  # embedded as an object, not a string
        "{bad}",  # looks like one, is not: a string
        '{"x": NaN}',  # Python would read NaN; JSON does not: a string
        "no newline",  # the run's partial last line, ended at its exit
    ]
    assert "msg" not in stdout[1]
    assert [o["msg"] for o in lines if o["stream"] == "stderr"] == ["oops"]
    own = parse(err)
    assert own and all(o["program"] == "pinit" and o["stream"] == "stderr" for o in own)
    assert all(o["instance"] is None and o["level"] in ("info", "warn", "error") for o in own)
    died = [o for o in own if re.fullmatch(r"talk: pid \d+ exit 3", str(o["msg"]))]
    assert died and died[0]["level"] == "warn"  # said as "warn: ..." in text mode
    assert not str(died[0]["msg"]).startswith("warn")
    assert any(o["msg"] == "shutting down: received SIGTERM" for o in own)


OBJS_SH = r"""seq 1 10000 | sed 's/.*/{"n": \0, "pad": "PAD"}/'; echo "objs done $$ 0" > "$EVENTS"
"""
TEXT_SH = r"""seq 1 10000 | sed 's/.*/line \0 PAD/' >&2; echo "text done $$ 0" > "$EVENTS"
"""
FLOOD = """
[programs.objs]
command = ["sh", "{dir}/objs.sh"]
stdout = {{ passthrough = true }}
start_seconds = 0
restart = "never"
[programs.text]
command = ["sh", "{dir}/text.sh"]
stdout = {{ passthrough = true }}
start_seconds = 0
restart = "never"
"""


def test_ten_thousand_lines_each_none_lost_or_merged(launch: type[Launch], tmp_path: Path) -> None:
    pad = "x" * 300  # long enough that two programs' lines would tear if anything did
    (tmp_path / "objs.sh").write_text(OBJS_SH.replace("PAD", pad))
    (tmp_path / "text.sh").write_text(TEXT_SH.replace("PAD", pad))
    body = HEAD + FLOOD.format(dir=tmp_path)
    pinit, events = start(launch, tmp_path, body, mode="plain")
    try:
        # read as it comes (a full stdout pipe would rightly hold the programs back)
        got = [pinit.readline(timeout=30) for _ in range(20_000)]
        events.wait("objs", "done")
        events.wait("text", "done")
        pinit.signal(signal.SIGTERM)
        rc, out, _ = pinit.finish(timeout=60)
    finally:
        pinit.kill()
        events.close()
    assert rc == 0
    assert out == ""  # nothing more, nothing split off
    lines = parse("\n".join(got))
    objs = [o["json"] for o in lines if o["program"] == "objs"]
    assert objs == [{"n": n, "pad": pad} for n in range(1, 10_001)]
    text = [o for o in lines if o["program"] == "text"]
    assert {o["stream"] for o in text} == {"stderr"}
    assert [o["msg"] for o in text] == [f"line {n} {pad}" for n in range(1, 10_001)]
    assert len(lines) == 20_000
