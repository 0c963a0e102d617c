"""What every page carries and every state-changing request must show.

- `UiHeadersMiddleware`: drops the empty fields a filter form sends (`?status=` means no filter), and sets a
  Content-Security-Policy that allows scripts and styles from this server only (no
  inline script, no inline style, no eval: htmx is configured not to need them), a referrer for this site only,
  `Vary: HX-Request` (a page and
  its fragment share a URL) and revalidation of the static files. The API's guard adds the common headers.
- `check_csrf`: every POST shows the session's CSRF token (form field `csrf_token`, or the `X-CSRF-Token`
  header htmx sends) and, when the browser says where it comes from, comes from this origin; else 403.
"""

from __future__ import annotations

import hmac
from ipaddress import ip_address
from urllib.parse import parse_qsl, urlencode

from starlette.requests import Request
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from api.errors import PermissionDeniedError

CSP = (
    "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self'; connect-src 'self'; "
    "form-action 'self'; base-uri 'none'; frame-ancestors 'none'"
)
CSRF_FIELD = "csrf_token"
CSRF_HEADER = "x-csrf-token"


class UiHeadersMiddleware:
    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        static = scope.get("path", "").startswith("/ui/static/")
        if scope["method"] == "GET" and scope.get("query_string"):
            # A filter form sends its empty fields too ("status="): an empty filter means no filter.
            pairs = parse_qsl(scope["query_string"].decode("latin-1"), keep_blank_values=True)
            scope["query_string"] = urlencode([(k, v) for k, v in pairs if v.strip()]).encode("latin-1")

        async def with_headers(message: Message) -> None:
            if message["type"] == "http.response.start":
                ours = (b"content-security-policy", b"referrer-policy")
                headers = [h for h in message.get("headers", []) if h[0].lower() not in ours]
                headers.append((b"content-security-policy", CSP.encode()))
                # `same-origin`, not the API's `no-referrer`: under no-referrer a browser sends `Origin: null` with
                # a form post, and the origin check below could not tell this site from any other.
                headers.append((b"referrer-policy", b"same-origin"))
                headers.append((b"vary", b"HX-Request"))
                if static:
                    headers.append((b"cache-control", b"no-cache"))  # revalidate (ETag) so an upgrade shows
                message = {**message, "headers": headers}
            await send(message)

        await self.app(scope, receive, with_headers)


def is_loopback_server(scope: Scope) -> bool:
    """Whether the server answered on a loopback address (what `--plain-http` is limited to)."""
    server = scope.get("server")
    host = server[0] if server else ""
    if host == "localhost":
        return True
    try:
        return ip_address(host).is_loopback
    except ValueError:
        return False


def same_origin(request: Request) -> bool:
    """True unless the browser names another origin (an `Origin: null` from a sandboxed page is another)."""
    origin = request.headers.get("origin")
    if origin is None:  # not every browser sends it on same-origin form posts; the CSRF token still decides
        return True
    host = request.headers.get("host", "")
    return origin in (f"http://{host}", f"https://{host}")


def check_csrf(request: Request, *, expected: str, presented: str | None) -> None:
    if not same_origin(request):
        raise PermissionDeniedError("this form was sent from another site and was refused")
    if presented is None:
        presented = request.headers.get(CSRF_HEADER)
    if not presented or not hmac.compare_digest(presented, expected):
        raise PermissionDeniedError(
            "the form's CSRF token is missing or does not match this session; nothing was changed",
            hint="reload the page and submit the form again",
        )
