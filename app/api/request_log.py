"""Access log: one JSON line per request (core.logs' format) with its request id.

The access line holds the request id (also sent back as `X-Request-ID`), method, route, status and
latency. Questions and queries are logged only with `RAGQA_LOG_QUESTIONS=true`; document text never.
"""
from __future__ import annotations

import json
import logging
import re
import time
import uuid

access_log = logging.getLogger("ragqa.access")
_INCOMING_ID = re.compile(r"^[A-Za-z0-9._-]{1,64}$")
_LOGGED_FIELDS = ("question", "query")


class RequestLog:
    """ASGI middleware: a request id for every request, and one JSON access line when it completes."""

    def __init__(self, app, log_questions: bool = False, max_body_bytes: int = 64 * 1024) -> None:
        self.app = app
        self.log_questions = log_questions
        self.max_body_bytes = max_body_bytes

    async def __call__(self, scope, receive, send):
        if scope["type"] != "http":
            return await self.app(scope, receive, send)
        incoming = dict(scope.get("headers") or []).get(b"x-request-id", b"").decode("latin-1")
        request_id = incoming if _INCOMING_ID.match(incoming) else uuid.uuid4().hex
        started = time.perf_counter()
        status = 500  # if the app dies before answering, that is what the client sees
        body = bytearray()

        async def logged_receive():
            message = await receive()
            if self.log_questions and message["type"] == "http.request" and len(body) <= self.max_body_bytes:
                body.extend(message.get("body", b""))
            return message

        async def send_with_id(message):
            nonlocal status
            if message["type"] == "http.response.start":
                status = message["status"]
                message = {**message, "headers": [*message.get("headers", []), (b"x-request-id", request_id.encode())]}
            await send(message)

        try:
            await self.app(scope, logged_receive, send_with_id)
        finally:
            route = scope.get("route")
            fields = {"request_id": request_id, "method": scope["method"],
                      "route": getattr(route, "path", None) or scope["path"], "status": status,
                      "latency_ms": round((time.perf_counter() - started) * 1000, 1)}
            if self.log_questions:
                fields.update(_questions_in(bytes(body)))
            access_log.info("%s %s %d", scope["method"], fields["route"], status, extra={"fields": fields})


def _questions_in(body: bytes) -> dict[str, str]:
    try:
        payload = json.loads(body)
    except ValueError:
        return {}
    if not isinstance(payload, dict):
        return {}
    return {key: payload[key] for key in _LOGGED_FIELDS if isinstance(payload.get(key), str)}
