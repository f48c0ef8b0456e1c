"""logs.dirs: the path to a log directory is refused where another user could steer it."""

from __future__ import annotations

import os
import struct
from pathlib import Path

import pytest

from pinit.logs.dirs import UntrustedPathError, open_trusted_dir
from pinit.logs.rotate import RotatingFile, UnsafeLogFileError

NOBODY = 65534

pytestmark = pytest.mark.skipif(os.geteuid() != 0, reason="needs root to chown")


def opened(path: Path) -> os.stat_result:
    fd = open_trusted_dir(str(path))
    try:
        return os.fstat(fd)
    finally:
        os.close(fd)


def same(a: os.stat_result, b: Path) -> bool:
    st = b.stat()
    return (a.st_dev, a.st_ino) == (st.st_dev, st.st_ino)


def test_a_plain_path_and_a_link_root_put_in_a_trusted_directory(tmp_path: Path) -> None:
    real = tmp_path / "real" / "logs"
    real.mkdir(parents=True)
    (tmp_path / "link").symlink_to("real")  # relative, like /var/run -> ../run
    (tmp_path / "abs").symlink_to(tmp_path / "real")
    assert same(opened(real), real)
    assert same(opened(tmp_path / "link" / "logs"), real)
    assert same(opened(tmp_path / "abs" / "logs" / ".." / "logs"), real)


def test_the_log_directory_itself_may_belong_to_the_programs_user(tmp_path: Path) -> None:
    logs = tmp_path / "logs"
    logs.mkdir()
    os.chown(logs, NOBODY, NOBODY)
    assert same(opened(logs), logs)


def test_a_directory_above_it_owned_by_another_user_is_refused(tmp_path: Path) -> None:
    home = tmp_path / "home"
    (home / "logs").mkdir(parents=True)
    os.chown(home, NOBODY, NOBODY)  # it could rename logs/ and put a link in its place
    with pytest.raises(UntrustedPathError, match=f"^.*{home} is owned by uid {NOBODY}$"):
        opened(home / "logs")


def test_a_directory_above_it_writable_by_everyone_or_a_group_is_refused(tmp_path: Path) -> None:
    everyone, group = tmp_path / "everyone", tmp_path / "group"
    for d in (everyone, group):
        (d / "logs").mkdir(parents=True)
    everyone.chmod(0o777)
    os.chown(group, 0, NOBODY)
    group.chmod(0o775)
    with pytest.raises(UntrustedPathError, match="everyone is writable by everyone"):
        opened(everyone / "logs")
    with pytest.raises(UntrustedPathError, match=f"group is writable by group {NOBODY}"):
        opened(group / "logs")


def test_in_a_sticky_directory_only_links_of_trusted_owners_are_followed(tmp_path: Path) -> None:
    sticky = tmp_path / "sticky"
    (sticky / "logs").mkdir(parents=True)
    sticky.chmod(0o1777)  # like /tmp
    assert same(opened(sticky / "logs"), sticky / "logs")
    (sticky / "planted").symlink_to("/etc")
    os.lchown(sticky / "planted", NOBODY, NOBODY)
    with pytest.raises(UntrustedPathError, match=f"planted is a link owned by uid {NOBODY}"):
        opened(sticky / "planted")


def test_a_link_loop_is_an_error_not_a_hang(tmp_path: Path) -> None:
    (tmp_path / "loop").symlink_to("loop")
    with pytest.raises(OSError, match="too many symbolic links"):
        opened(tmp_path / "loop")


def test_a_rotating_file_under_an_untrusted_directory_refuses_to_write(tmp_path: Path) -> None:
    home = tmp_path / "home"
    (home / "logs").mkdir(parents=True)
    os.chown(home, NOBODY, NOBODY)
    path = home / "logs" / "x.log"
    out = RotatingFile(str(path), max_bytes=1000, backups=1)
    with pytest.raises(UnsafeLogFileError) as err:
        out.write([b"one\n"])
    assert err.value.strerror == f"refusing to write {path}: {home} is owned by uid {NOBODY}"
    assert not path.exists()
    out.close()


def test_a_directory_above_it_writable_by_group_0_is_refused_too(tmp_path: Path) -> None:
    """Review of 11.1: a program may run with gid 0 (`group = "0"`, OpenShift's -g 0)."""
    root = tmp_path / "root"
    (root / "logs").mkdir(parents=True)
    os.chown(root, 0, 0)
    root.chmod(0o775)
    with pytest.raises(UntrustedPathError, match=f"{root} is writable by group 0"):
        opened(root / "logs")
    root.chmod(0o1775)  # sticky: only an entry's owner may replace it
    assert same(opened(root / "logs"), root / "logs")


def test_an_acl_granting_another_user_write_is_refused_by_its_mask(tmp_path: Path) -> None:
    """ACLs are not read: with one, st_mode's group bits are its mask, which bounds every named
    entry, so an entry letting another user write shows as group write (acl(5))."""
    acl = tmp_path / "acl"
    (acl / "logs").mkdir(parents=True)
    acl.chmod(0o755)
    entries = [(0x01, 7, 0xFFFFFFFF), (0x02, 7, NOBODY), (0x04, 5, 0xFFFFFFFF),
               (0x10, 7, 0xFFFFFFFF), (0x20, 5, 0xFFFFFFFF)]  # fmt: skip
    # user::rwx user:nobody:rwx group::r-x mask::rwx other::r-x, in the kernel's xattr form
    value = struct.pack("<I", 2) + b"".join(struct.pack("<HHI", *e) for e in entries)
    try:
        os.setxattr(acl, "system.posix_acl_access", value)
    except OSError as exc:
        pytest.skip(f"no POSIX ACLs here: {exc}")
    with pytest.raises(UntrustedPathError, match=f"{acl} is writable by group"):
        opened(acl / "logs")
