"""/docs and /redoc work without the internet: every script, style and image they load comes from this server."""

from __future__ import annotations

import re

import pytest
from fastapi.testclient import TestClient

from tests.api.conftest import config

_EXTERNAL = re.compile(r"(?:https?:)?//[A-Za-z0-9.-]+\.[A-Za-z]{2,}")
_ASSET = re.compile(r"""(?:src|href)\s*[=:]\s*["']([^"']+)["']""")


@pytest.mark.parametrize("page", ["/docs", "/redoc"])
def test_the_docs_pages_load_nothing_from_another_host(client: TestClient, page: str, sqlite_only: None) -> None:
    response = client.get(page)
    assert response.status_code == 200 and response.headers["content-type"].startswith("text/html")
    assert _EXTERNAL.findall(response.text) == []
    csp = response.headers["content-security-policy"]
    assert "http" not in csp and "script-src 'self'" in csp
    assets = [url for url in _ASSET.findall(response.text) if url != "/openapi.json"]
    assert any(url.endswith(".js") for url in assets), response.text
    for url in assets:
        served = client.get(url)
        assert served.status_code == 200 and len(served.content) > 1000, url


def test_docs_can_be_turned_off(make_app, sqlite_only: None) -> None:  # type: ignore[no-untyped-def]
    with TestClient(make_app(config=config(docs=False))) as client:
        for path in ("/docs", "/redoc", "/docs/assets/swagger-ui-bundle.js"):
            assert client.get(path).status_code == 404, path
        assert client.get("/openapi.json").status_code == 200
