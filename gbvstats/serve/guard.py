"""The outermost layer of the server (plain ASGI): who the client is, TLS, body size,
security headers, and the language of the answer.

- The client address and whether the request came over TLS are settled once (a trusted
  reverse proxy's X-Forwarded-* headers believed, nobody else's) and put in the scope.
- Plain HTTP from another machine is refused outright (GBV-A007) unless the server was
  started with --insecure-http: no token is accepted from, nor a session cookie sent to,
  a client whose traffic can be read on the way. Only /static/ is served regardless.
- A request body larger than the limit is refused with 413 (GBV-A005): at once when
  Content-Length says so, else as soon as the bytes received pass the limit.
- Every answer carries a strict Content-Security-Policy (nothing from another host, no
  inline script or style) and the usual hardening headers.
"""

from __future__ import annotations

from fastapi import HTTPException
from starlette.datastructures import MutableHeaders

from gbvstats.i18n import LANGS
from gbvstats.serve import size_text
from gbvstats.serve.auth import client_of, is_loopback

CSP = ("default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self'; "
       "font-src 'self'; connect-src 'self'; form-action 'self'; frame-ancestors 'none'; "
       "base-uri 'none'; object-src 'none'")
HEADERS = {
    "content-security-policy": CSP,
    "x-content-type-options": "nosniff",
    "x-frame-options": "DENY",
    "referrer-policy": "no-referrer",
    "cross-origin-opener-policy": "same-origin",
    "cross-origin-resource-policy": "same-origin",
    "permissions-policy": "camera=(), microphone=(), geolocation=(), interest-cohort=()",
}


class BodyTooLarge(HTTPException):
    def __init__(self, limit: int):
        super().__init__(status_code=413)
        self.limit = limit


def accept_language(header: str | None) -> str | None:
    """The preferred one of en/ru/ky in an Accept-Language header, if any."""
    best, best_q = None, 0.0
    for part in (header or "").split(","):
        tag, _, params = part.strip().partition(";")
        code = tag.strip().lower()[:2]
        code = "ky" if code == "kg" else code
        q = 1.0
        for p in params.split(";"):
            name, _, value = p.strip().partition("=")
            if name == "q":
                try:
                    q = float(value)
                except ValueError:
                    q = 0.0
        if code in LANGS and q > best_q:
            best, best_q = code, q
    return best


def lang_of_scope(scope: dict, cookie: str | None = None) -> str:
    """?lang=, else the language cookie of the web page, else Accept-Language, else en."""
    from urllib.parse import parse_qs

    query = parse_qs((scope.get("query_string") or b"").decode("latin-1"))
    asked = (query.get("lang") or [""])[0].lower()
    if asked in LANGS:
        return asked
    if cookie in LANGS:
        return cookie
    headers = {k.decode("latin-1").lower(): v.decode("latin-1") for k, v in scope.get("headers", [])}
    return accept_language(headers.get("accept-language")) or "en"


class Guard:
    """ASGI middleware wrapping the FastAPI application."""

    def __init__(self, app, *, insecure_http: bool, trusted_proxies: frozenset[str],
                 max_body: int, refuse):
        self.app, self.insecure_http = app, insecure_http
        self.trusted, self.max_body, self.refuse = trusted_proxies, max_body, refuse

    async def __call__(self, scope, receive, send):
        if scope["type"] != "http":
            return await self.app(scope, receive, send)
        address, secure = client_of(scope, self.trusted)
        scope["gbvstats.client"], scope["gbvstats.secure"] = address, secure
        path = scope.get("path", "")

        async def send_hardened(message):
            if message["type"] == "http.response.start":
                headers = MutableHeaders(scope=message)
                for name, value in HEADERS.items():
                    headers.setdefault(name, value)
                if not path.startswith("/static/"):
                    headers.setdefault("cache-control", "no-store")
                if secure:
                    headers.setdefault("strict-transport-security", "max-age=31536000")
            await send(message)

        # a request relayed by a proxy that is not --trusted-proxy is not local, whatever
        # its peer address: the proxy may be carrying it from anywhere
        relayed = address not in self.trusted and any(
            k.lower() in (b"x-forwarded-for", b"x-forwarded-proto", b"forwarded") for k, _ in scope.get("headers", []))
        local = is_loopback(address) and not relayed
        if not secure and not self.insecure_http and not local and not path.startswith("/static/"):
            return await self.refuse(scope, receive, send_hardened, 403, "GBV-A007", {})
        length = _content_length(scope)
        if length is not None and length > self.max_body:
            return await self.refuse(scope, receive, send_hardened, 413, "GBV-A005",
                                     {"limit": size_text(self.max_body)}, close=True)
        received = 0

        async def receive_limited():
            nonlocal received
            message = await receive()
            if message["type"] == "http.request":
                received += len(message.get("body", b""))
                if received > self.max_body:
                    raise BodyTooLarge(self.max_body)
            return message

        await self.app(scope, receive_limited, send_hardened)


def _content_length(scope) -> int | None:
    for key, value in scope.get("headers", []):
        if key.lower() == b"content-length":
            try:
                return int(value)
            except ValueError:
                return None
    return None


