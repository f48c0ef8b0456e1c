"""Issue 11.8: the /tmp fallback control socket could be squatted by another user.

An unprivileged pinit (no writable /run) bound ``/tmp/pinit-NAME-UID.sock``: any user could
create that path first, pinit then ran without a socket and `pinit ctl` sent its requests to
the squatter and believed its replies. Now the socket lives in ``${XDG_RUNTIME_DIR:-/tmp}/
pinit-UID/``, created 0700 and checked without following links (pinit refuses a directory
another uid owns, or a symlink, and says why), and the client checks its server's uid with
SO_PEERCRED before it sends a byte.

Real users: pinit and its `ctl` run as one uid, the squatter as another; the squatter's
impostor listens on every path it could take (the old name too) and reports what it received.
"""

from __future__ import annotations

import json
import os
import select
import shutil
import subprocess
import sys
import tempfile
import textwrap
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from pinit.control import client, proto
from tests.conftest import Launch, pinit_bin

VICTIM, SQUATTER = 64001, 64002  # two uids nobody else uses

pytestmark = [
    pytest.mark.skipif(os.getuid() != 0, reason="needs root to run two other uids"),
    pytest.mark.skipif(shutil.which("setpriv") is None, reason="needs setpriv (util-linux)"),
]

IMPOSTOR = textwrap.dedent(
    """
    import os, selectors, socket, sys
    base, layout, uid = sys.argv[1], sys.argv[2], sys.argv[3]
    mine = os.path.join(base, "squatter")
    os.mkdir(mine, 0o777)
    os.chmod(mine, 0o777)
    private = os.path.join(base, f"pinit-{uid}")
    if layout == "dir":
        os.mkdir(private, 0o777)
        os.chmod(private, 0o777)
    elif layout == "symlink":
        os.symlink(mine, private)
    paths = [os.path.join(base, f"pinit-pinit-{uid}.sock")]  # where pinit used to bind
    if layout == "dir":
        paths.append(os.path.join(private, "pinit.sock"))
    if layout in ("symlink", "mine"):
        paths.append(os.path.join(mine, "pinit.sock"))
    sel = selectors.DefaultSelector()
    for path in paths:
        s = socket.socket(socket.AF_UNIX)
        s.bind(path)
        os.chmod(path, 0o666)
        s.listen()
        sel.register(s, selectors.EVENT_READ)
    print("listening", flush=True)
    while True:
        for key, _ in sel.select():
            conn, _ = key.fileobj.accept()
            conn.settimeout(5)
            data = b""
            try:
                while b"\\n" not in data:
                    chunk = conn.recv(4096)
                    if not chunk:
                        break
                    data += chunk
                conn.sendall(b'{"ok": true, "name": "IMPOSTOR", "instances": []}\\n')
            except OSError:
                pass
            conn.close()
            print("got", len(data), flush=True)
    """
)


@pytest.fixture
def shared_tmp() -> Iterator[Path]:
    """A directory like /tmp (1777): both users may create names in it."""
    path = Path(tempfile.mkdtemp(prefix="pinit-squat-"))
    path.chmod(0o1777)
    yield path
    shutil.rmtree(path, ignore_errors=True)


def as_user(uid: int) -> list[str]:
    return ["setpriv", f"--reuid={uid}", f"--regid={uid}", "--clear-groups"]


def impostor(base: Path, layout: str) -> subprocess.Popen[bytes]:
    proc = subprocess.Popen(
        [*as_user(SQUATTER), sys.executable, "-I", "-c", IMPOSTOR, str(base), layout, str(VICTIM)],
        stdout=subprocess.PIPE,
        cwd="/",
    )
    assert read_line(proc) == "listening"
    return proc


def read_line(proc: subprocess.Popen[bytes], timeout: float = 10.0) -> str:
    """One line of the impostor's stdout, or "" at EOF; TimeoutError past `timeout`. Read a
    byte at a time from the fd, so no buffer holds back what a later select should see."""
    assert proc.stdout is not None
    fd = proc.stdout.fileno()
    deadline = time.monotonic() + timeout
    line = bytearray()
    while not line.endswith(b"\n"):
        left = deadline - time.monotonic()
        if left <= 0 or not select.select([fd], [], [], left)[0]:
            raise TimeoutError(f"the impostor said no line within {timeout}s: {bytes(line)!r}")
        byte = os.read(fd, 1)
        if not byte:
            break
        line += byte
    return line.decode().strip()


def impostor_heard(proc: subprocess.Popen[bytes], connections: int) -> list[str]:
    """What the impostor received on its next `connections` connections (it reports each once
    it closed it), then anything more it reported before it was stopped."""
    lines = [read_line(proc) for _ in range(connections)]
    proc.terminate()
    while line := read_line(proc):
        lines.append(line)
    proc.wait(timeout=10)
    return lines


def victim(launch: type[Launch], base: Path) -> tuple[Launch, Path, dict[str, str]]:
    config = base / "pinit.toml"
    config.write_text('[programs.a]\ncommand = ["sleep", "1000"]\n')
    env = {k: v for k, v in os.environ.items() if k != "PINIT_CONTROL_SOCKET"}
    env["XDG_RUNTIME_DIR"] = str(base)
    pinit = launch([*as_user(VICTIM), *pinit_bin(), "--config", str(config)], "plain", env=env)
    return pinit, config, env


def ctl_status(config: Path, env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [*as_user(VICTIM), *pinit_bin(), "ctl", "--config", str(config), "status", "--json"],
        capture_output=True,
        text=True,
        env=env,
        cwd="/",
        timeout=20,
    )


def runs_as_victim() -> None:
    probe = subprocess.run([*as_user(VICTIM), *pinit_bin(), "--version"], capture_output=True)
    if probe.returncode != 0:
        pytest.skip("pinit cannot run as another uid here (its interpreter is private)")


@pytest.mark.parametrize("layout", ["dir", "symlink"])
def test_a_squatted_private_dir_is_refused_and_the_impostor_hears_nothing(
    launch: type[Launch], shared_tmp: Path, layout: str
) -> None:
    runs_as_victim()
    squat = impostor(shared_tmp, layout)
    pinit, config, env = victim(launch, shared_tmp)
    line = pinit.wait_stderr("no control socket")
    private = shared_tmp / f"pinit-{VICTIM}"
    assert str(private) in line
    why = f"owned by uid {SQUATTER}" if layout == "dir" else "is a symbolic link"
    assert why in line, line
    if b"a: started" not in pinit.err_seen:  # the boot's spawns come before the bind
        pinit.wait_stderr("a: started")  # runs anyway
    result = ctl_status(config, env)
    assert result.returncode == 3, result
    assert "IMPOSTOR" not in result.stdout
    assert f"runs as uid {SQUATTER}" in result.stderr, result.stderr
    assert impostor_heard(squat, 1) == ["got 0"]  # refused before a byte was sent


def test_the_old_name_squatted_pinit_uses_its_private_dir(
    launch: type[Launch], shared_tmp: Path
) -> None:
    runs_as_victim()
    squat = impostor(shared_tmp, "old-name-only")
    pinit, config, env = victim(launch, shared_tmp)
    sock = shared_tmp / f"pinit-{VICTIM}" / "pinit.sock"
    pinit.wait_stderr(f"control socket {sock}")
    private = os.lstat(sock.parent)
    assert private.st_uid == VICTIM and private.st_mode & 0o777 == 0o700
    result = ctl_status(config, env)
    assert result.returncode == 0, result.stderr
    reply = json.loads(result.stdout)
    assert reply["name"] == "pinit" and [i["name"] for i in reply["instances"]] == ["a"]
    assert impostor_heard(squat, 0) == []


def test_the_client_checks_the_servers_uid_before_it_sends(shared_tmp: Path) -> None:
    """A configured path in a loose directory: whoever listens there gets no request."""
    squat = impostor(shared_tmp, "mine")
    path = shared_tmp / "squatter" / "pinit.sock"
    with pytest.raises(client.CtlError) as caught:
        client.request([str(path)], proto.Request("stop", "all"), timeout=5)
    assert f"runs as uid {SQUATTER}, neither root nor your uid {os.getuid()}" in str(caught.value)
    assert caught.value.code == client.CONNECT_FAILED
    assert impostor_heard(squat, 1) == ["got 0"]
