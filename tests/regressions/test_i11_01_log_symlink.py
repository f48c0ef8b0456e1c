"""Issue 11.1 (severe): root followed a symlink planted in a log path.

A program running as an unprivileged user, in a log directory it owns, replaced its log file
with a symbolic link to a root-only file; pinit (root) appended the program's next lines to
that file on the next reopen. Now the file is opened with O_NOFOLLOW relative to a held
directory fd, the link is refused with one message naming the path and the cause, the lines
are dropped and counted, and the program keeps running; once the link is gone, writing resumes
and the loss is reported.
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
from tests.integration.test_logs import wait_for
from tests.regressions.swap import release, swap_stage

SWAPPER = """\
D=$(dirname "$0")
echo first
echo "app start $$ 0" >> "$EVENTS"
read go < "$D/go.fifo"
rm -f "$LOG" && ln -s "$SECRET" "$LOG"
cat "$D/payload"
echo "app swapped $$ 0" >> "$EVENTS"
read go < "$D/go2.fifo"
echo back
exec sleep 1000
"""


def test_a_log_file_swapped_for_a_symlink_is_refused_and_the_target_untouched(
    launch: type[Launch],
    tmp_path: Path,
    shared_dir: Path,  # noqa: F811
    test_user: pwd.struct_passwd,  # noqa: F811
) -> None:
    logs = shared_dir / "logs"
    logs.mkdir()
    os.chown(logs, test_user.pw_uid, test_user.pw_gid)  # the program's user owns its log dir
    log = logs / "app.log"
    secret = tmp_path / "secret"  # under pytest's 0700 tmp: root only
    secret.write_bytes(b"root only\n")
    secret.chmod(0o600)
    go, go2, script = swap_stage(shared_dir, SWAPPER)
    pinit, events = start(
        launch,
        shared_dir,
        f"""
        [programs.app]
        command = ["sh", "{script}"]
        user = "{USER}"
        environment = {{ LOG = "{log}", SECRET = "{secret}" }}
        stdout = {{ file = "{log}", max_bytes = 200, backups = 2 }}
        """,
        mode="plain",
        stdout=subprocess.DEVNULL,
    )
    app = events.wait("app", "start")
    wait_for(lambda: log.exists() and log.read_bytes() == b"first\n", 10, "first line on disk")
    release(go)  # now the program swaps the file and writes past max_bytes
    events.wait("app", "swapped")
    said = pinit.wait_stderr("refusing to write")
    assert f"app: log write failed: refusing to write {log}: it is a symbolic link" in said
    assert secret.read_bytes() == b"root only\n"
    assert pid_alive(app.pid)  # the program runs on; its lines are dropped, not followed
    log.unlink()  # the operator removes the link: writing resumes, with the loss counted
    release(go2)
    pinit.wait_stderr("app: log writes resumed (40 lines dropped)")
    assert log.read_bytes() == b"back\n"
    pinit.signal(signal.SIGTERM)
    code, _, err = pinit.finish()
    assert code == 0
    assert "Traceback" not in err
    assert err.count("refusing to write") == 1  # one message, not one per block
    assert secret.read_bytes() == b"root only\n"
