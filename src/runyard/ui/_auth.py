"""Who may call `runyard ui`: the token, the loopback check and the CSRF token.

Rules (one ASGI middleware, in front of the API, the pages and the static files):
- With a token (any bind that is not loopback has one; `--token` gives one on loopback
  too), every request carries it: `Authorization: Bearer TOKEN`, or the cookie
  `runyard_token` that a request with `?token=TOKEN` sets (HttpOnly, SameSite=Strict), so
  a link with the token opens the pages once and they keep it (a page asked for with
  `?token=` is a redirect to its address without it, the cookie set: the token stays out
  of the address bar and the history). A missing or wrong token is 401.
- Without a token the server listens on loopback only and answers only requests whose
  Host is a loopback name (localhost, 127.0.0.1, [::1]): a page on another site that
  points its own DNS name at 127.0.0.1 (DNS rebinding) gets 403, not the run history.
- A mutating request (POST; the API has no other mutating verb, and no GET changes
  anything) also needs proof that it is not a cross-site form: the token in the
  Authorization header (which a browser never adds on its own), or the header
  `X-Runyard-CSRF` holding this server's CSRF token (random per server start; the pages
  read it from `app.state.auth.csrf_token` or `GET /api/v1/session`, which a page of
  another origin cannot read). Without either it is 403.
- Tokens are compared in constant time.
"""

from __future__ import annotations

import hmac
import json
import secrets
from collections.abc import Awaitable, Callable, MutableMapping
from dataclasses import dataclass, field
from http.cookies import SimpleCookie
from typing import Any
from urllib.parse import parse_qs, parse_qsl, quote, urlencode

from fastapi import FastAPI

COOKIE = "runyard_token"
CSRF_HEADER = "x-runyard-csrf"
LOOPBACK_NAMES = frozenset({"localhost", "127.0.0.1", "::1"})
SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})

Scope = MutableMapping[str, Any]
Message = MutableMapping[str, Any]
Receive = Callable[[], Awaitable[Message]]
Send = Callable[[Message], Awaitable[None]]
ASGIApp = Callable[[Scope, Receive, Send], Awaitable[None]]


def new_token() -> str:
    """A fresh token: 32 random bytes, URL-safe base64 (43 characters)."""
    return secrets.token_urlsafe(32)


@dataclass(frozen=True)
class Auth:
    """The access settings of one server: its token (None: loopback, no token) and the
    CSRF token its pages send with each POST."""

    token: str | None
    loopback_only: bool = True
    csrf_token: str = field(default_factory=new_token, repr=False)

    def token_ok(self, given: str | None) -> bool:
        return self.token is not None and given is not None and \
            hmac.compare_digest(given.encode(), self.token.encode())

    def csrf_ok(self, given: str | None) -> bool:
        return given is not None and hmac.compare_digest(given.encode(),
                                                         self.csrf_token.encode())


def is_loopback_host(host_header: str) -> bool:
    """Whether a Host header (`name[:port]`, `[v6]:port`) names this machine's loopback."""
    host = host_header.strip().lower()
    if host.startswith("["):
        name = host[1:host.find("]")] if "]" in host else host[1:]
    else:
        name = host.rsplit(":", 1)[0] if host.count(":") == 1 else host
    return name in LOOPBACK_NAMES or name.endswith(".localhost") or \
        (name.startswith("127.") and name.replace(".", "").isdigit())


def _headers(scope: Scope) -> dict[str, str]:
    return {key.decode("latin-1").lower(): value.decode("latin-1")
            for key, value in scope.get("headers", [])}


def _bearer(headers: dict[str, str]) -> str | None:
    kind, _, value = headers.get("authorization", "").partition(" ")
    return value.strip() if kind.lower() == "bearer" and value.strip() else None


async def _refuse(send: Send, status: int, error: str, message: str,
                  extra: list[tuple[bytes, bytes]] | None = None) -> None:
    body = json.dumps({"error": error, "message": message}).encode()
    await send({"type": "http.response.start", "status": status,
                "headers": [(b"content-type", b"application/json"),
                            (b"content-length", str(len(body)).encode()), *(extra or [])]})
    await send({"type": "http.response.body", "body": body})


class AccessMiddleware:
    """The rules of this module's docstring, for every HTTP request of the app."""

    def __init__(self, app: ASGIApp, auth: Auth) -> None:
        self.app = app
        self.auth = auth

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        auth = self.auth
        headers = _headers(scope)
        bearer = _bearer(headers)
        set_cookie = False
        if auth.token is None:
            if auth.loopback_only and not is_loopback_host(headers.get("host", "")):
                await _refuse(send, 403, "Forbidden",
                              f"this server answers only at a loopback address "
                              f"(http://127.0.0.1:PORT), not at "
                              f"{headers.get('host', '(no Host header)')!r}; to serve "
                              f"other addresses, start it with --host and a token")
                return
        else:
            cookie = SimpleCookie()
            try:
                cookie.load(headers.get("cookie", ""))
            except Exception:  # noqa: BLE001 - a malformed cookie header counts as none
                cookie = SimpleCookie()
            query = parse_qs(scope.get("query_string", b"").decode("latin-1"))
            from_query = (query.get("token") or [None])[-1]
            from_cookie = cookie[COOKIE].value if COOKIE in cookie else None
            if auth.token_ok(bearer) or auth.token_ok(from_cookie):
                pass
            elif auth.token_ok(from_query):
                set_cookie = True
            else:
                given = bearer is not None or from_cookie is not None or from_query is not None
                await _refuse(send, 401, "Unauthorized",
                              ("the token given is not this server's token" if given else
                               "this server needs its token: send 'Authorization: Bearer "
                               "TOKEN', or open a page once with ?token=TOKEN"),
                              [(b"www-authenticate", b'Bearer realm="runyard"')])
                return
        if scope["method"] not in SAFE_METHODS and not auth.token_ok(bearer) and \
                not auth.csrf_ok(headers.get(CSRF_HEADER)):
            await _refuse(send, 403, "Forbidden",
                          f"{scope['method']} {scope['path']} changes the run history: send "
                          f"the token as 'Authorization: Bearer TOKEN' or the page's CSRF "
                          f"token as '{CSRF_HEADER}'")
            return
        if not set_cookie:
            await self.app(scope, receive, send)
            return
        value = f"{COOKIE}={auth.token}; Path=/; HttpOnly; SameSite=Strict".encode()
        if scope["method"] == "GET" and not scope["path"].startswith("/api/"):
            # a page: answer with the same address without the token (kept out of the
            # address bar and the history), setting the cookie on the way
            rest = [(k, v) for k, v in parse_qsl(scope.get("query_string", b"").decode(
                "latin-1"), keep_blank_values=True) if k != "token"]
            location = quote(scope.get("root_path", "") + scope["path"]) + \
                (f"?{urlencode(rest)}" if rest else "")
            await send({"type": "http.response.start", "status": 303,
                        "headers": [(b"location", location.encode("latin-1")),
                                    (b"set-cookie", value), (b"content-length", b"0")]})
            await send({"type": "http.response.body", "body": b""})
            return

        async def send_with_cookie(message: Message) -> None:
            if message["type"] == "http.response.start":
                message["headers"] = [*message.get("headers", []), (b"set-cookie", value)]
            await send(message)

        await self.app(scope, receive, send_with_cookie)


def install(app: FastAPI) -> None:
    """Put the access check in front of everything `app` serves."""
    app.add_middleware(AccessMiddleware, auth=app.state.auth)
