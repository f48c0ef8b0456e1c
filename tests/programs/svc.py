"""Small supervised programs for the supervisor tests; each reports on a shared events file.

Every line written to $EVENTS (one os.write with O_APPEND, so lines never tear) is
"<name> <what> <pid> <monotonic ns>", which lets a test check order across programs.

  svc.py run NAME                   record start, wait; record "term" on SIGTERM and exit 0
  svc.py exit NAME CODE [DELAY]     record start, exit CODE after DELAY seconds
  svc.py stubborn NAME              ignore SIGTERM (and so does a grandchild in the group)
  svc.py listen NAME PORT [DELAY]   after DELAY, listen on 127.0.0.1:PORT and record "listening"
  svc.py master NAME PORT N         bind PORT, fork N workers that keep serving it; the master
                                    records "bind-failed" and exits 1 if the port is taken
  svc.py daemon NAME MARK           fork a setsid'd grandchild (argv MARK), then wait
  svc.py notify NAME                send READY=1 on $NOTIFY_SOCKET after recording start
  svc.py http NAME PORT DELAY       listen at once (as gunicorn binds first), answer 503 until
                                    DELAY has passed, then 200; records "healthy" on the first 200
  svc.py signals NAME               record every USR1/USR2 it gets as "got-N"
  svc.py hang NAME PORT             answer every GET with 200 (records "listening" first); on
                                    SIGUSR1 record "hang" and stop accepting, alive, port open
                                    (the kernel still completes connects: a GET times out)
"""

from __future__ import annotations

import os
import signal
import socket
import sys
import time


def record(name: str, what: str) -> None:
    line = f"{name} {what} {os.getpid()} {time.monotonic_ns()}\n".encode()
    fd = os.open(os.environ["EVENTS"], os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o666)
    try:
        os.write(fd, line)
    finally:
        os.close(fd)


def wait_forever() -> None:
    """Until killed, running handlers as signals come. A wakeup fd, not `signal.pause()`,
    which misses a signal landing between CPython's handler check and pause(2) (storm.py)."""
    wake_r, wake_w = os.pipe()
    os.set_blocking(wake_w, False)
    signal.set_wakeup_fd(wake_w)
    while True:
        os.read(wake_r, 512)


def on_term(name: str) -> None:
    def handler(signum: int, frame: object) -> None:
        record(name, "term")
        os._exit(0)

    signal.signal(signal.SIGTERM, handler)


def serve(sock: socket.socket) -> None:
    while True:
        conn, _ = sock.accept()
        conn.close()


class HangError(Exception):
    pass


def hang(name: str, port: int) -> None:
    """Issue 8: a server whose port stops answering while its process lives on."""
    on_term(name)

    def stop_accepting(signum: int, frame: object) -> None:
        record(name, "hang")
        raise HangError

    sock = socket.socket()
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.bind(("127.0.0.1", port))
    sock.listen(64)
    try:  # before "listening": a SIGUSR1 right after it must land in here
        signal.signal(signal.SIGUSR1, stop_accepting)
        record(name, "listening")
        while True:
            conn, _ = sock.accept()
            try:
                conn.recv(4096)
                conn.sendall(b"HTTP/1.0 200 OK\r\n\r\n")
            except ConnectionError:
                pass  # a tcp ready probe connects and goes
            finally:
                conn.close()
    except HangError:
        wait_forever()


def main() -> None:
    mode, name, *rest = sys.argv[1:]
    if mode == "run":
        on_term(name)
        record(name, "start")
        wait_forever()
    elif mode == "exit":
        record(name, "start")
        if len(rest) > 1:
            time.sleep(float(rest[1]))
        os._exit(int(rest[0]))
    elif mode == "stubborn":
        signal.signal(signal.SIGTERM, signal.SIG_IGN)
        if os.fork() == 0:
            record(name, "grandchild")
            wait_forever()
        record(name, "start")
        wait_forever()
    elif mode == "listen":
        on_term(name)
        record(name, "start")
        if len(rest) > 1:
            time.sleep(float(rest[1]))
        sock = socket.socket()
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        sock.bind(("127.0.0.1", int(rest[0])))
        sock.listen()
        record(name, "listening")
        serve(sock)
    elif mode == "master":
        sock = socket.socket()
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            sock.bind(("127.0.0.1", int(rest[0])))
        except OSError:
            record(name, "bind-failed")
            os._exit(1)
        sock.listen()
        for _ in range(int(rest[1])):
            if os.fork() == 0:
                record(name, "worker")
                serve(sock)
        record(name, "start")
        wait_forever()
    elif mode == "daemon":
        if os.fork() == 0:
            os.setsid()
            os.execvp("sleep", ["sleep", rest[0]])
        record(name, "start")
        wait_forever()
    elif mode == "notify":
        record(name, "start")
        addr = os.environ["NOTIFY_SOCKET"]
        target = "\0" + addr[1:] if addr.startswith("@") else addr
        with socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM) as s:
            s.sendto(b"STATUS=warming up\nREADY=1", target)
        record(name, "notified")
        on_term(name)
        wait_forever()
    elif mode == "http":
        on_term(name)
        sock = socket.socket()
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        sock.bind(("127.0.0.1", int(rest[0])))
        sock.listen()
        record(name, "start")
        healthy_at = time.monotonic() + float(rest[1])
        told = False
        while True:
            conn, _ = sock.accept()
            conn.recv(4096)
            ok = time.monotonic() >= healthy_at
            if ok and not told:
                record(name, "healthy")
                told = True
            conn.sendall(b"HTTP/1.0 200 OK\r\n\r\n" if ok else b"HTTP/1.0 503 Busy\r\n\r\n")
            conn.close()
    elif mode == "hang":
        hang(name, int(rest[0]))
    elif mode == "signals":
        on_term(name)
        for sig in (signal.SIGUSR1, signal.SIGUSR2):
            signal.signal(sig, lambda n, f: record(name, f"got-{n}"))
        record(name, "start")
        wait_forever()
    else:
        sys.exit(f"unknown mode {mode}")


if __name__ == "__main__":
    main()
