"""A throttling HTTP proxy in front of moto_server: a share of the calls get AWS's throttling error in the wire
format of the call's protocol, the others are forwarded unchanged.

Which attempt is throttled is decided by a seeded random over (request, attempt number of that same request), not
by arrival order, so a collection's threads cannot change the outcome: the same estate, seed and retry budget
throttle the same calls every time.
"""

from __future__ import annotations

import hashlib
import http.client
import json
import random
import re
import threading
import time
from collections import Counter
from collections.abc import Iterator
from contextlib import contextmanager
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import urlsplit

_SERVICE = re.compile(r"Credential=[^/]+/[^/]+/[^/]+/([^/]+)/")
_HOP_BY_HOP = {"connection", "keep-alive", "transfer-encoding", "content-length"}


def throttle_error(headers: dict[str, str], body: bytes) -> tuple[int, dict[str, str], bytes]:
    """AWS's throttling answer for the protocol of this request: status, headers, body (all parsed by botocore
    as a retryable throttling error)."""
    found = _SERVICE.search(headers.get("authorization", ""))
    service = found.group(1) if found else ""
    if "x-amz-target" in headers or (service not in ("ec2", "s3") and not body.startswith(b"Action=")):
        # json and rest-json: the code is the __type / x-amzn-ErrorType
        payload = json.dumps({"__type": "ThrottlingException", "message": "Rate exceeded"}).encode()
        return 400, {"Content-Type": "application/x-amz-json-1.1", "x-amzn-ErrorType": "ThrottlingException"}, payload
    if service == "ec2":
        xml = "<Response><Errors><Error><Code>RequestLimitExceeded</Code><Message>Request limit exceeded.</Message>"
        xml += "</Error></Errors><RequestID>throttled</RequestID></Response>"
        return 503, {"Content-Type": "text/xml"}, xml.encode()
    if service == "s3":
        xml = "<Error><Code>SlowDown</Code><Message>Please reduce your request rate.</Message></Error>"
        return 503, {"Content-Type": "application/xml"}, xml.encode()
    xml = "<ErrorResponse><Error><Type>Sender</Type><Code>Throttling</Code><Message>Rate exceeded</Message></Error>"
    xml += "<RequestId>throttled</RequestId></ErrorResponse>"  # query protocol (IAM, STS, ...)
    return 400, {"Content-Type": "text/xml"}, xml.encode()


class ThrottlingProxy(ThreadingHTTPServer):
    daemon_threads = True

    def __init__(self, upstream: str, *, share: float, seed: int, delay: float = 0.0) -> None:
        super().__init__(("127.0.0.1", 0), _Handler)
        parts = urlsplit(upstream)
        self.upstream = (parts.hostname or "127.0.0.1", parts.port or 80)
        self.share = share
        self.seed = seed
        self.delay = delay  # seconds added to each forwarded call (AWS's latency; a window for other faults)
        self.attempts: Counter[str] = Counter()
        self.forwarded = 0
        self.throttled = 0
        self.lock = threading.Lock()

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.server_address[1]}"

    def throttles(self, method: str, path: str, headers: dict[str, str], body: bytes) -> bool:
        target = headers.get("x-amz-target", "")
        key = hashlib.sha256(b"\0".join([method.encode(), path.encode(), target.encode(), body])).hexdigest()
        with self.lock:
            self.attempts[key] += 1
            attempt = self.attempts[key]
        throttled = random.Random(f"{self.seed}:{key}:{attempt}").random() < self.share
        with self.lock:
            if throttled:
                self.throttled += 1
            else:
                self.forwarded += 1
        return throttled


class _Handler(BaseHTTPRequestHandler):
    server: ThrottlingProxy
    protocol_version = "HTTP/1.1"

    def log_message(self, format: str, *args: object) -> None:  # quiet: the test reads the counters
        pass

    def _any(self) -> None:
        body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
        headers = {name.lower(): value for name, value in self.headers.items()}
        if self.server.throttles(self.command, self.path, headers, body):
            status, answer_headers, answer = throttle_error(headers, body)
        else:
            status, answer_headers, answer = self._forward(body)
        self.send_response(status)
        for name, value in answer_headers.items():
            self.send_header(name, value)
        if "content-length" not in {name.lower() for name in answer_headers}:  # a HEAD answer keeps its own
            self.send_header("Content-Length", str(len(answer)))
        self.end_headers()
        if self.command != "HEAD":
            self.wfile.write(answer)

    def _forward(self, body: bytes) -> tuple[int, dict[str, str], bytes]:
        time.sleep(self.server.delay)
        headers = {k: v for k, v in self.headers.items() if k.lower() not in _HOP_BY_HOP}
        # One upstream connection per client connection, kept alive as the client's is: a new TCP connection per
        # call cost moto_server a thread and both sides a handshake, CPU that AWS's latency does not cost anyone.
        reused = self._upstream is not None
        try:
            return self._exchange(body, headers)
        except (http.client.RemoteDisconnected, ConnectionResetError, BrokenPipeError):
            self._close_upstream()
            if not reused:
                raise
            return self._exchange(body, headers)  # moto_server had closed the idle connection: once on a new one

    def _exchange(self, body: bytes, headers: dict[str, str]) -> tuple[int, dict[str, str], bytes]:
        if self._upstream is None:
            self._upstream = http.client.HTTPConnection(*self.server.upstream, timeout=60)
        connection = self._upstream
        connection.request(self.command, self.path, body=body or None, headers=headers)
        response = connection.getresponse()
        data = response.read()
        if response.will_close:
            self._close_upstream()
        dropped = _HOP_BY_HOP - ({"content-length"} if self.command == "HEAD" else set())
        kept = {k: v for k, v in response.getheaders() if k.lower() not in dropped}
        return response.status, kept, data

    _upstream: http.client.HTTPConnection | None = None

    def _close_upstream(self) -> None:
        if self._upstream is not None:
            self._upstream.close()
            self._upstream = None

    def finish(self) -> None:
        self._close_upstream()
        super().finish()

    do_GET = do_POST = do_PUT = do_DELETE = do_HEAD = do_PATCH = _any


@contextmanager
def throttling_proxy(upstream: str, *, share: float, seed: int = 0, delay: float = 0.0) -> Iterator[ThrottlingProxy]:
    proxy = ThrottlingProxy(upstream, share=share, seed=seed, delay=delay)
    thread = threading.Thread(target=proxy.serve_forever, name="throttling-proxy", daemon=True)
    thread.start()
    try:
        yield proxy
    finally:
        proxy.shutdown()
        proxy.server_close()
        thread.join(timeout=5)
