"""Each process starts with the configured uid, gid, groups, umask, cwd, rlimits and environment,
read back from /proc of the running child (not from what it claims)."""

from __future__ import annotations

import grp
import os
import pwd
import shutil
import signal
import subprocess
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.conftest import Launch
from tests.integration.supervise import fd_targets, start

USER = "pinit-test-user"
EXTRA = "pinit-test-extra"


@pytest.fixture(scope="module")
def test_user() -> Iterator[pwd.struct_passwd]:
    """A fresh user with one supplementary group, whatever an earlier run left behind."""
    if os.geteuid() != 0 or shutil.which("useradd") is None:
        pytest.skip("needs root and useradd to create a test user")

    def remove() -> None:
        subprocess.run(["userdel", USER], check=False, capture_output=True)
        subprocess.run(["groupdel", USER], check=False, capture_output=True)
        subprocess.run(["groupdel", EXTRA], check=False, capture_output=True)

    remove()
    subprocess.run(["groupadd", EXTRA], check=True)
    subprocess.run(
        [
            "useradd",
            "--no-create-home",
            "--home-dir",
            "/nonexistent-pinit",
            "--shell",
            "/bin/false",
            "--groups",
            EXTRA,
            USER,
        ],
        check=True,
    )
    yield pwd.getpwnam(USER)
    remove()


def wait_for_exec(pid: int, comm: str, timeout: float = 5.0) -> None:
    """The report is written by sh just before `exec sleep`: reading /proc earlier would see
    sh's own fds. exec raises no event we can wait on, so this polls, bounded. The new comm
    shows before exec has laid out the new stack: until then /proc/PID/environ reads empty
    (the kernel sets the environment's bounds last), so that is awaited too (a CI failure:
    GREETING missing from an environ read in that window)."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        with open(f"/proc/{pid}/comm") as f:
            execed = f.read().strip() == comm
        if execed:
            with open(f"/proc/{pid}/environ", "rb") as f:
                if f.read(1):
                    return
        time.sleep(0.005)
    raise TimeoutError(f"pid {pid} did not exec {comm} within {timeout}s")


def status_fields(pid: int) -> dict[str, str]:
    with open(f"/proc/{pid}/status") as f:
        return dict(line.rstrip("\n").split(":\t", 1) for line in f if ":\t" in line)


@pytest.fixture
def shared_dir() -> Iterator[Path]:
    """pytest's tmp_path lives under a 0700 directory the test user cannot enter."""
    path = Path(tempfile.mkdtemp(prefix="pinit-id-", dir="/tmp"))
    path.chmod(0o755)
    yield path
    shutil.rmtree(path, ignore_errors=True)


# The test user cannot run this venv's Python (it lives under /root), so the program is sh.
# `$$$$` is `$$` after pinit's own expansion (`$$` is its escape for a literal `$`).
REPORT_AND_SLEEP = '["sh", "-c", "echo \\"who start $$$$ 0\\" >> \\"$EVENTS\\"; exec sleep 1000"]'


def test_identity_umask_cwd_limits_environment(
    launch: type[Launch], shared_dir: Path, test_user: pwd.struct_passwd
) -> None:
    workdir = shared_dir / "work"
    workdir.mkdir()
    workdir.chmod(0o755)
    pinit, events = start(
        launch,
        shared_dir,
        f"""
        [programs.who]
        command = {REPORT_AND_SLEEP}
        user = "{USER}"
        umask = "027"
        cwd = "{workdir}"
        rlimits = {{ nofile = [1000, 2000], core = 0 }}
        environment = {{ GREETING = "hello ${{USER_SUFFIX}}", HOME = "/custom-home" }}
        """,
        mode="plain",
        env_extra={"USER_SUFFIX": "world"},
        # dash saves fd 1 at fd 10 while it runs `echo >>`: with stdout a pipe, that copy
        # would look like a leaked pipe if /proc is read before the exec.
        stdout=subprocess.DEVNULL,
    )
    pid = events.wait("who", "start").pid
    wait_for_exec(pid, "sleep")
    fields = status_fields(pid)
    extra_gid = grp.getgrnam(EXTRA).gr_gid
    assert fields["Uid"].split()[:2] == [str(test_user.pw_uid)] * 2
    assert fields["Gid"].split()[:2] == [str(test_user.pw_gid)] * 2
    assert set(fields["Groups"].split()) == {str(test_user.pw_gid), str(extra_gid)}
    assert fields["Umask"] == "0027"
    assert os.readlink(f"/proc/{pid}/cwd") == str(workdir)
    with open(f"/proc/{pid}/limits") as f:
        limits = {line[:26].strip(): line[26:].split() for line in f}
    assert limits["Max open files"][:2] == ["1000", "2000"]
    assert limits["Max core file size"][:2] == ["0", "0"]
    with open(f"/proc/{pid}/environ", "rb") as f:
        env = dict(e.decode().split("=", 1) for e in f.read().split(b"\0") if b"=" in e)
    assert env["GREETING"] == "hello world"
    assert env["HOME"] == "/custom-home"  # the program's own environment wins
    assert env["USER"] == env["LOGNAME"] == USER
    assert env["SHELL"] == "/bin/false"
    assert "NOTIFY_SOCKET" not in env  # only ready.notify programs get it (issue 7.4)
    # Nothing of pinit's leaks (its wakeup pipe, notify socket, spawn error pipe).
    extra = fd_targets(pid)
    assert not [t for t in extra if t.startswith(("socket:", "pipe:"))], extra
    pinit.signal(signal.SIGTERM)
    assert pinit.finish()[0] == 0
