"""Open a log file's directory by a path that no other user can steer (issue 11.1).

logs.rotate does everything inside the log directory relative to a held fd, with O_NOFOLLOW,
so the directory itself may belong to the program's user. What remains is the path *to* it:
if a directory on the way is writable by someone else, that someone can rename an entry and
put a symbolic link in its place (`/home/app/logs` -> `/etc/cron.d`) between two opens, and
root would create its files there. So the path is walked one component at a time, each
opened with O_NOFOLLOW relative to the previous one, and every directory whose *entries* the
walk looks up must be trusted:

- owned by root or by pinit's own uid (whoever else owns it can rename in it);
- not writable by any group nor by everyone, unless the sticky bit is set (/tmp): then only
  the owner of an entry can replace it, so a symbolic link there is followed only if root or
  pinit owns it (a directory there is checked as the next step of the walk, like any other).
  Group 0 is no exception: a program may run with gid 0 (OpenShift's `useradd -g 0`, or
  `group = "0"`), and a root:root 0775 parent would let it swap the log directory for a link
  (review of issue 11.1).

POSIX ACLs need no reading of their own: on a directory with an ACL, the group bits of
st_mode are the ACL mask, which bounds every named user and group entry, so "no group write
bit" already means "no ACL entry but the owner's can write". A default ACL only seeds new
entries. This is why the group bit is refused whatever the group is.

A symbolic link found in a trusted directory was put there by a trusted user and is followed
(`/var/run` -> `/run`), with the kernel's limit of 40 links. The last directory, the log
directory itself, may belong to anyone: nothing in it is ever followed. This is sshd's
StrictModes and the kernel's `fs.protected_symlinks` rule, applied to the whole path because
pinit, unlike a shell, reopens it later (a reload, a deleted directory).
"""

from __future__ import annotations

import os
import stat

__all__ = ["UntrustedPathError", "open_trusted_dir"]

MAX_LINKS = 40  # Linux's MAXSYMLINKS
_DIR = os.O_RDONLY | os.O_DIRECTORY | os.O_CLOEXEC | os.O_NOFOLLOW


class UntrustedPathError(OSError):
    """A directory on the way can be changed by another user; strerror names it and why."""


def _doubt(st: os.stat_result, where: str) -> str:
    """Why a directory whose entries we look up is not trusted, or "" if it is."""
    mine = (0, os.geteuid())
    if st.st_uid not in mine:
        return f"{where} is owned by uid {st.st_uid}"
    if st.st_mode & stat.S_ISVTX:
        return ""
    if st.st_mode & stat.S_IWOTH:
        return f"{where} is writable by everyone"
    if st.st_mode & stat.S_IWGRP:  # any group, 0 too; with an ACL these bits are its mask
        return f"{where} is writable by group {st.st_gid}"
    return ""


def open_trusted_dir(path: str) -> int:
    """An O_DIRECTORY fd for `path`, or UntrustedPathError / OSError. The caller closes it."""
    if not os.path.isabs(path):
        path = os.path.join(os.getcwd(), path)
    todo = [c for c in path.split("/") if c and c != "."]
    todo.reverse()  # a stack: the next component is last
    where = "/"
    fd = os.open("/", _DIR)
    links = 0
    try:
        while todo:
            name = todo.pop()
            here = os.fstat(fd)
            doubt = _doubt(here, where)
            if doubt:
                raise UntrustedPathError(1, doubt)  # EPERM
            nxt = os.path.normpath(os.path.join(where, name))
            entry = os.stat(name, dir_fd=fd, follow_symlinks=False)
            if stat.S_ISLNK(entry.st_mode):
                # In a sticky directory only an entry's owner can replace it: a link is as
                # trustworthy as its owner (the kernel's fs.protected_symlinks rule).
                if here.st_mode & stat.S_ISVTX and entry.st_uid not in (0, os.geteuid()):
                    raise UntrustedPathError(1, f"{nxt} is a link owned by uid {entry.st_uid}")
                links += 1
                if links > MAX_LINKS:
                    raise OSError(40, f"too many symbolic links in {path}")  # ELOOP
                target = os.readlink(name, dir_fd=fd)
                todo.extend(reversed([c for c in target.split("/") if c and c != "."]))
                if target.startswith("/"):
                    os.close(fd)
                    fd, where = os.open("/", _DIR), "/"
                continue
            new = os.open(name, _DIR, dir_fd=fd)  # ".." too: it is checked like any other
            os.close(fd)
            fd, where = new, nxt
    except BaseException:
        os.close(fd)
        raise
    return fd
