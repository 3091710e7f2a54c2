"""HTTP plumbing shared by the gateway simulators (stdlib only).

A simulator is a ``BackgroundServer`` subclass naming its request handler (a
``JsonHandler`` subclass) and attaching its state to the server in
``configure``.  What this module settles once for every simulator:

* answers go out as one write (status line, headers and JSON body together),
  so a keep-alive client never waits on Nagle / delayed-ACK;
* ``drop_connection`` resets the socket (linger 0) as a crashed server would,
  which is how simulators fake a lost answer (``raise Drop`` in a route);
* the server threads are daemons and the port is reusable at once, so tests
  start and stop many servers quickly.
"""

import contextlib
import json
import socket
import struct
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qs

JSON_CONTENT_TYPE = "application/json; charset=utf-8"


class Drop(Exception):
    """Close the connection without writing an answer."""


class ThreadedServer(ThreadingHTTPServer):
    daemon_threads = True
    allow_reuse_address = True


class JsonHandler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    timeout = 30  # idle keep-alive connections are closed after this
    disable_nagle_algorithm = True
    content_type = JSON_CONTENT_TYPE

    def log_message(self, format, *args):  # noqa: A002 - stdlib signature
        if getattr(self.server, "verbose", False):
            return super().log_message(format, *args)
        return None

    def read_raw(self):
        length = int(self.headers.get("Content-Length") or 0)
        return self.rfile.read(length) if length else b""

    def read_fields(self):
        """The request body as a dict: JSON, or a form (one value per key);
        ``{}`` when empty or unreadable, ``{"_list": [...]}`` for a JSON list."""
        raw = self.read_raw()
        ctype = (self.headers.get("Content-Type") or "").split(";")[0].strip()
        if not raw:
            return {}
        if ctype == "application/json":
            try:
                data = json.loads(raw)
            except ValueError:
                return {}
            return data if isinstance(data, dict) else {"_list": data}
        return {
            k: v[0] for k, v in parse_qs(raw.decode(), keep_blank_values=True).items()
        }

    def send_json(self, status, body):
        """Answer ``status`` with ``body`` as JSON (``None``: an empty body)."""
        payload = b"" if body is None else json.dumps(body).encode()
        self.send_response(status)
        if body is not None:
            self.send_header("Content-Type", self.content_type)
        self.send_header("Content-Length", str(len(payload)))
        # Headers and body in one write: avoids a Nagle / delayed-ACK stall.
        self._headers_buffer.append(b"\r\n" + payload)
        self.flush_headers()

    def drop_connection(self):
        self.close_connection = True
        # Linger 0: the close resets the connection, as a crashed server would.
        with contextlib.suppress(OSError):
            self.connection.setsockopt(
                socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0)
            )
        with contextlib.suppress(OSError):
            self.connection.shutdown(socket.SHUT_RDWR)


class BackgroundServer:
    """An HTTP server of one simulator: in a thread (``start``) or in the
    foreground (``serve_forever``, for the command line).

    Subclasses set ``handler_class`` (and optionally ``server_class``) and
    attach what the handler reads in ``configure(httpd)``.
    """

    handler_class = JsonHandler
    server_class = ThreadedServer

    def __init__(self):
        self._httpd = None
        self._thread = None
        self.base_url = None

    def configure(self, httpd):
        """Attach the simulator's state to a new server (handlers read
        ``self.server``)."""

    def _bind(self, host, port):
        httpd = self.server_class((host, port), self.handler_class)
        self.configure(httpd)
        self._httpd = httpd
        return httpd

    def start(self, host="127.0.0.1", port=0):
        """Serve in a daemon thread; returns the base URL (port 0: any free one)."""
        httpd = self._bind(host, port)
        self._thread = threading.Thread(
            target=httpd.serve_forever, kwargs={"poll_interval": 0.01}, daemon=True
        )
        self._thread.start()
        real_host, real_port = httpd.server_address[:2]
        self.base_url = f"http://{real_host}:{real_port}"
        return self.base_url

    def serve_forever(self, host="127.0.0.1", port=0):
        """Serve in this thread until interrupted."""
        httpd = self._bind(host, port)
        self.base_url = f"http://{host}:{httpd.server_address[1]}"
        try:
            httpd.serve_forever()
        finally:
            httpd.server_close()

    def stop(self):
        if self._httpd is not None:
            self._httpd.shutdown()
            self._httpd.server_close()
            self._httpd = None
        if self._thread is not None:
            self._thread.join(timeout=5)
            self._thread = None

    def __enter__(self):
        if self._httpd is None:
            self.start()
        return self

    def __exit__(self, *exc):
        self.stop()
