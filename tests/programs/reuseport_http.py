"""An HTTP server that shares its port with its siblings through SO_REUSEPORT (issue 9).

  reuseport_http.py PORT [VERSION]

Binds 127.0.0.1:PORT with SO_REUSEPORT (the kernel spreads new connections over every
socket bound so), then tells pinit READY=1 on $NOTIFY_SOCKET: readiness is per process, which
a probe of the shared port could not tell (any sibling may answer it). Each answer is
"PID VERSION". On SIGTERM it stops accepting, closes the listener and exits 0; with
net.ipv4.tcp_migrate_req=1 (Linux 5.14+) the connections still queued on that listener move
to a sibling instead of being reset. Records "NAME start|ready|term PID NS" on $EVENTS like
svc.py.
"""

from __future__ import annotations

import http.server
import os
import signal
import socket
import sys
import time


def record(what: str) -> None:
    path = os.environ.get("EVENTS")
    if not path:
        return
    line = f"{os.environ.get('PINIT_PROGRAM', 'http')} {what} {os.getpid()} {time.monotonic_ns()}\n"
    fd = os.open(path, os.O_WRONLY | os.O_APPEND)
    try:
        os.write(fd, line.encode())
    finally:
        os.close(fd)


class Server(http.server.HTTPServer):
    allow_reuse_address = True

    def server_bind(self) -> None:
        self.socket.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEPORT, 1)
        super().server_bind()


class Handler(http.server.BaseHTTPRequestHandler):
    version = "v1"

    def do_GET(self) -> None:
        body = f"{os.getpid()} {self.version}\n".encode()
        self.send_response(200)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, format: str, *args: object) -> None:
        pass


def notify_ready() -> None:
    addr = os.environ.get("NOTIFY_SOCKET", "")
    if not addr:
        return
    target = "\0" + addr[1:] if addr.startswith("@") else addr
    with socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM) as s:
        s.sendto(b"READY=1", target)


def main() -> None:
    port = int(sys.argv[1])
    Handler.version = sys.argv[2] if len(sys.argv) > 2 else "v1"
    stopping = False

    def on_term(signum: int, frame: object) -> None:
        nonlocal stopping
        stopping = True

    signal.signal(signal.SIGTERM, on_term)
    record("start")
    server = Server(("127.0.0.1", port), Handler)
    server.timeout = 0.05  # how soon a TERM is noticed between requests
    notify_ready()
    record("ready")
    while not stopping:
        server.handle_request()
    server.server_close()
    record("term")


if __name__ == "__main__":
    main()
