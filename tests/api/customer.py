"""Helpers for the customer evidence and exception routes: a small policy, uploads, and a raw ASGI driver that
feeds a request body chunk by chunk (the test client reads a body whole before the app sees it)."""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from typing import Any

import anyio
from fastapi import FastAPI
from fastapi.testclient import TestClient
from httpx import Response

from evidence.customer.policy import CustomerPolicy
from tests.api.conftest import auth

CONTROL = "soc2:CC6.1"
POLICY = CustomerPolicy(known_controls=frozenset({CONTROL, "soc2:CC6.2", "hipaa:164.308(a)(1)(ii)(A)"}))
PDF = b"%PDF-1.7\n1 0 obj << /Type /Catalog >> endobj\ntrailer << /Root 1 0 R >>\n%%EOF\n"
BOUNDARY = "auditpack-test-boundary"


def upload(
    client: TestClient,
    secret: str,
    *,
    content: bytes | None = PDF,
    filename: str = "policy.pdf",
    headers: dict[str, str] | None = None,
    **fields: Any,
) -> Response:
    data: dict[str, Any] = {"kind": "document", "title": "Access control policy", "controls": [CONTROL]}
    data["owner"] = "CISO"
    data.update(fields)
    # Every field as a form part, so the body is multipart/form-data even without a file (like curl -F).
    parts: list[tuple[str, Any]] = []
    for name, value in data.items():
        parts += [(name, (None, str(one))) for one in (value if isinstance(value, list) else [value])]
    if content is not None:
        parts.append(("file", (filename, content, "application/octet-stream")))
    return client.post("/v1/evidence-items", files=parts, headers={**auth(secret), **(headers or {})})


def multipart_head(fields: dict[str, str], *, filename: str = "big.pdf") -> bytes:
    """The fields and the opening of the file part; the caller streams the file's bytes after it."""
    parts = [
        f'--{BOUNDARY}\r\nContent-Disposition: form-data; name="{name}"\r\n\r\n{value}\r\n'
        for name, value in fields.items()
    ]
    parts.append(
        f'--{BOUNDARY}\r\nContent-Disposition: form-data; name="file"; filename="{filename}"\r\n'
        "Content-Type: application/octet-stream\r\n\r\n"
    )
    return "".join(parts).encode()


def multipart_tail() -> bytes:
    return f"\r\n--{BOUNDARY}--\r\n".encode()


DOCUMENT_FIELDS = {"kind": "document", "title": "Big", "controls": CONTROL, "owner": "CISO"}


@dataclass
class RawResult:
    status: int = 0
    body: bytes = b""
    chunks_read: int = 0
    headers: dict[str, str] = field(default_factory=dict)


def post_streamed(
    app: FastAPI, path: str, secret: str, chunks: Iterable[bytes], *, disconnect_after: int | None = None
) -> RawResult:
    """POST `chunks` as a multipart body one ASGI message at a time; count how many the app read. With
    `disconnect_after`, the client goes away after that many chunks."""
    result = RawResult()
    source: Iterator[bytes] = iter(chunks)
    scope = {
        "type": "http",
        "asgi": {"version": "3.0"},
        "http_version": "1.1",
        "method": "POST",
        "scheme": "http",
        "path": path,
        "raw_path": path.encode(),
        "query_string": b"",
        "root_path": "",
        "headers": [
            (b"host", b"testserver"),
            (b"authorization", f"Bearer {secret}".encode()),
            (b"content-type", f"multipart/form-data; boundary={BOUNDARY}".encode()),
        ],
        "client": ("127.0.0.1", 5000),
        "server": ("testserver", 80),
    }
    done = False

    async def receive() -> dict[str, Any]:
        nonlocal done
        if done or (disconnect_after is not None and result.chunks_read >= disconnect_after):
            return {"type": "http.disconnect"}
        chunk = next(source, None)
        if chunk is None:
            done = True
            return {"type": "http.request", "body": b"", "more_body": False}
        result.chunks_read += 1
        return {"type": "http.request", "body": chunk, "more_body": True}

    async def send(message: dict[str, Any]) -> None:
        if message["type"] == "http.response.start":
            result.status = message["status"]
            result.headers = {k.decode(): v.decode() for k, v in message.get("headers", [])}
        elif message["type"] == "http.response.body":
            result.body += message.get("body", b"")

    anyio.run(app, scope, receive, send)  # type: ignore[arg-type]
    return result
