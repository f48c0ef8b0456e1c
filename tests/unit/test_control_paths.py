"""paths.prepare: the private socket directory is ours, 0700, not a link, or refused with why."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from pinit.control import paths

UID = os.getuid()


@pytest.fixture
def base(tmp_path: Path) -> Path:
    """A parent like /tmp: world-writable with the sticky bit."""
    tmp_path.chmod(0o1777)
    return tmp_path


def sock_in(base: Path) -> Path:
    return Path(paths.private_dir({"XDG_RUNTIME_DIR": str(base)})) / "pinit.sock"


def test_creates_the_private_dir_0700_and_accepts_it_again(base: Path) -> None:
    sock = sock_in(base)
    old = os.umask(0)  # a permissive umask must not loosen it
    try:
        paths.prepare(str(sock))
    finally:
        os.umask(old)
    st = os.lstat(sock.parent)
    assert st.st_uid == UID and st.st_mode & 0o7777 == 0o700
    paths.prepare(str(sock))  # it exists and is right: fine


def test_refuses_a_loose_mode_a_symlink_and_a_file(base: Path) -> None:
    sock = sock_in(base)
    sock.parent.mkdir(mode=0o755)
    sock.parent.chmod(0o755)
    with pytest.raises(OSError, match="has mode 0755, not 0700"):
        paths.prepare(str(sock))
    sock.parent.rmdir()
    elsewhere = base / "elsewhere"
    elsewhere.mkdir(mode=0o700)
    sock.parent.symlink_to(elsewhere)
    with pytest.raises(OSError, match="is a symbolic link") as caught:
        paths.prepare(str(sock))
    assert "XDG_RUNTIME_DIR" in str(caught.value)  # says what to do
    sock.parent.unlink()
    sock.parent.write_text("")
    with pytest.raises(OSError, match="is not a directory"):
        paths.prepare(str(sock))


@pytest.mark.skipif(UID != 0, reason="needs root to give the directory to another uid")
def test_refuses_a_dir_another_uid_owns(base: Path) -> None:
    sock = sock_in(base)
    sock.parent.mkdir(mode=0o700)
    os.chown(sock.parent, 4242, 4242)
    with pytest.raises(OSError, match=f"owned by uid 4242, not by pinit's uid {UID}"):
        paths.prepare(str(sock))


def test_refuses_a_parent_others_may_rename_it_out_of(tmp_path: Path) -> None:
    tmp_path.chmod(0o777)  # world-writable, no sticky bit
    with pytest.raises(OSError, match="no sticky bit"):
        paths.prepare(str(sock_in(tmp_path)))


def test_a_configured_path_is_left_alone(tmp_path: Path) -> None:
    loose = tmp_path / "loose"
    loose.mkdir()
    loose.chmod(0o777)
    paths.prepare(str(loose / "ctl.sock"))  # the operator's choice: no check, no error
    assert not (loose / "ctl.sock").exists()


def test_refuses_a_parent_a_group_may_rename_it_out_of(tmp_path: Path) -> None:
    """Review of 11.8: group write without the sticky bit is as bad as world write."""
    tmp_path.chmod(0o770)
    with pytest.raises(OSError, match=f"group {tmp_path.stat().st_gid} may rename it out of"):
        paths.prepare(str(sock_in(tmp_path)))
    tmp_path.chmod(0o1770)  # sticky: only an entry's owner (or the parent's) may rename it
    paths.prepare(str(sock_in(tmp_path)))


@pytest.mark.skipif(UID != 0, reason="needs root to give the parent to another uid")
def test_refuses_a_parent_another_uid_owns(tmp_path: Path) -> None:
    """Review of 11.8: the parent's owner may rename entries even under the sticky bit."""
    tmp_path.chmod(0o1755)
    os.chown(tmp_path, 4242, 4242)
    with pytest.raises(OSError, match="is in a directory owned by uid 4242"):
        paths.prepare(str(sock_in(tmp_path)))
