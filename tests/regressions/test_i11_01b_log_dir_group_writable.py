"""Review of issue 11.1 (high): a parent writable by group 0 counted as trusted.

A program running with gid 0 (OpenShift's `useradd -g 0`, here `group = "0"`) under a
root:root 0775 parent could remove its log file, rmdir its log directory and put a symbolic
link of the same name in its place. The held directory fd then had no links, so the next
reopen (a rotation) walked the path again, followed the link and root created the log file
wherever it pointed. Now a group-writable, non-sticky directory above the log directory is
refused whatever its group: pinit says which and why, and nothing is written through the link.
"""

from __future__ import annotations

import os
import pwd
import signal
import subprocess
from pathlib import Path

from tests.conftest import Launch, pid_alive
from tests.integration.supervise import start
from tests.integration.test_identity import USER, shared_dir, test_user  # noqa: F401
from tests.regressions.swap import release, swap_stage

SWAPPER = """\
D=$(dirname "$0")
echo first
echo "app start $$ 0" >> "$EVENTS"
read go < "$D/go.fifo"
rm -f "$LOGDIR/app.log"
rmdir "$LOGDIR" && ln -s "$TARGET" "$LOGDIR" && echo "app swapped $$ 0" >> "$EVENTS"
cat "$D/payload"
echo "app wrote $$ 0" >> "$EVENTS"
exec sleep 1000
"""


def test_a_log_dir_swapped_under_a_group_0_writable_parent_is_not_followed(
    launch: type[Launch],
    tmp_path: Path,
    shared_dir: Path,  # noqa: F811
    test_user: pwd.struct_passwd,  # noqa: F811
) -> None:
    parent = shared_dir / "var"
    logs = parent / "logs"
    logs.mkdir(parents=True)
    os.chown(parent, 0, 0)
    parent.chmod(0o775)  # root:root 0775: writable by whoever runs with gid 0
    os.chown(logs, test_user.pw_uid, 0)  # the program's user owns its log dir
    target = tmp_path / "cron.d"  # under pytest's 0700 tmp: root only, like /etc/cron.d
    target.mkdir()
    _, _, script = swap_stage(shared_dir, SWAPPER)
    log = logs / "app.log"
    pinit, events = start(
        launch,
        shared_dir,
        f"""
        [programs.app]
        command = ["sh", "{script}"]
        user = "{USER}"
        group = "0"
        environment = {{ LOGDIR = "{logs}", TARGET = "{target}" }}
        stdout = {{ file = "{log}", max_bytes = 200, backups = 2 }}
        """,
        mode="plain",
        stdout=subprocess.DEVNULL,
    )
    app = events.wait("app", "start")
    release(shared_dir / "go.fifo")
    events.wait("app", "swapped")  # gid 0 could replace the log directory: the attack ran
    events.wait("app", "wrote")  # and wrote past max_bytes: a rotation, so a reopen
    assert pid_alive(app.pid)
    pinit.signal(signal.SIGTERM)  # pinit drains the pipe and its writers before it exits
    code, _, err = pinit.finish()
    assert code == 0
    assert "Traceback" not in err
    assert sorted(os.listdir(target)) == []  # root created nothing through the link
    assert f"refusing to write {log}: {parent} is writable by group 0" in err
