"""Access control, enforced in one ASGI middleware in front of every route (including routers added later).

With API keys (`RAGQA_API_KEYS`), every request but the public paths needs `Authorization: Bearer <key>`,
compared in constant time; otherwise 401. Without keys the service is open, so it answers only clients
on this machine (loopback) unless `RAGQA_ALLOW_OPEN=true` says otherwise; others get 403 saying why.
"""
from __future__ import annotations

import hmac
import ipaddress
import json
from pathlib import Path

# Hold no data: liveness and readiness probes, and the web page's own files (it asks for a key on 401).
PUBLIC_PATHS = frozenset({"/healthz", "/readyz", "/", "/index.html", "/favicon.ico"})
PUBLIC_PREFIXES = ("/static/",)


class ApiKeyError(ValueError):
    """RAGQA_API_KEYS names a key file that cannot be read, or holds no key."""


def parse_api_keys(value: str) -> list[str]:
    """`RAGQA_API_KEYS`: a comma-separated list of keys, or `@/path/to/file` with one key per line (# comments)."""
    value = value.strip()
    if value.startswith("@"):
        path = Path(value[1:]).expanduser()
        try:
            lines = path.read_text(encoding="utf-8").splitlines()
        except OSError as exc:
            raise ApiKeyError(f"RAGQA_API_KEYS: cannot read the key file {path} ({exc.strerror or exc})") from None
        keys = [line.strip() for line in lines if line.strip() and not line.lstrip().startswith("#")]
        if not keys:
            raise ApiKeyError(f"RAGQA_API_KEYS: the key file {path} holds no key")
        return keys
    return [key.strip() for key in value.split(",") if key.strip()]


def is_public(path: str) -> bool:
    return path in PUBLIC_PATHS or path.startswith(PUBLIC_PREFIXES)


def is_loopback(host: str | None) -> bool:
    try:
        return host is not None and ipaddress.ip_address(host).is_loopback
    except ValueError:
        return host == "localhost" or host == "testclient"  # starlette's TestClient


class AccessControl:
    """ASGI middleware: bearer keys when configured, else loopback clients only (unless allowed open)."""

    def __init__(self, app, keys: list[str], allow_open: bool = False) -> None:
        self.app = app
        self.keys = [key.encode() for key in keys]
        self.allow_open = allow_open

    async def __call__(self, scope, receive, send):
        if scope["type"] != "http" or is_public(scope["path"]) or scope["method"] == "OPTIONS":
            return await self.app(scope, receive, send)  # OPTIONS: CORS preflights carry no credentials
        if self.keys:
            if not self._authorized(scope):
                return await _reject(send, 401, "missing or invalid API key: send the header 'Authorization: Bearer <key>'",
                                     [(b"www-authenticate", b'Bearer realm="ragqa"')])
        elif not self.allow_open and not is_loopback((scope.get("client") or (None,))[0]):
            return await _reject(send, 403, "this service has no API keys (RAGQA_API_KEYS), so it answers only clients "
                                            "on its own machine; set API keys, or RAGQA_ALLOW_OPEN=true to serve everyone")
        return await self.app(scope, receive, send)

    def _authorized(self, scope) -> bool:
        header = dict(scope.get("headers") or []).get(b"authorization", b"")
        scheme, _, token = header.partition(b" ")
        if scheme.lower() != b"bearer":
            return False
        token = token.strip()
        matched = False
        for key in self.keys:  # every key compared, each in constant time: timing says nothing about which
            matched |= hmac.compare_digest(token, key)
        return matched


async def _reject(send, status: int, detail: str, headers: list[tuple[bytes, bytes]] | None = None) -> None:
    body = json.dumps({"detail": detail}).encode()
    await send({"type": "http.response.start", "status": status,
                "headers": [(b"content-type", b"application/json"), (b"content-length", str(len(body)).encode()),
                            *(headers or [])]})
    await send({"type": "http.response.body", "body": body})
