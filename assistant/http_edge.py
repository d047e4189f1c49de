"""The HTTP edge of the API: offline docs, the handlers that turn every error into a readable 4xx (`message`
names the field, the limit and the fix), the body guard (64 KiB, UTF-8) and the JSON access log (method, path,
status, latency; never the question text). `assistant/api.py` wires them into the app.
"""

from __future__ import annotations

import json
import logging
import time
from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.openapi.docs import get_swagger_ui_html, get_swagger_ui_oauth2_redirect_html
from fastapi.responses import HTMLResponse, JSONResponse
from fastapi.staticfiles import StaticFiles
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from assistant.schemas import AskRequest, Turn
from assistant.service import InvalidQuestion

__all__ = ["add_docs", "add_error_handlers", "BodyGuard", "AccessLog", "ACCESS_LOG"]

ACCESS_LOG = logging.getLogger("policy_assistant.access")
LOG = logging.getLogger("policy_assistant.api")
SWAGGER_PREFIX = "/static/swagger"
_REQUEST_FIELDS = ", ".join(AskRequest.model_fields)
_TURN_FIELDS = ", ".join(Turn.model_fields)
_LIMIT_WORDS = {
    "min_length": "at least",
    "max_length": "at most",
    "ge": ">=",
    "gt": ">",
    "le": "<=",
    "lt": "<",
}
_UNPARSABLE = (
    "There was an error parsing the body"  # FastAPI's detail when json.loads fails other than decoding
)


def add_docs(app: FastAPI) -> None:
    try:
        from swagger_ui_bundle import swagger_ui_path
    except ImportError:
        swagger_ui_path = None
    if swagger_ui_path is not None:
        app.mount(SWAGGER_PREFIX, StaticFiles(directory=str(swagger_ui_path)), name="swagger")

    @app.get("/docs", include_in_schema=False)
    def docs() -> HTMLResponse:
        if swagger_ui_path is None:
            return HTMLResponse(
                "Swagger UI assets are missing: pip install swagger-ui-bundle-v2 "
                "(the API itself works; the schema is at /openapi.json)",
                status_code=501,
            )
        return get_swagger_ui_html(
            openapi_url=app.openapi_url or "/openapi.json",
            title=f"{app.title} - docs",
            swagger_js_url=f"{SWAGGER_PREFIX}/swagger-ui-bundle.js",
            swagger_css_url=f"{SWAGGER_PREFIX}/swagger-ui.css",
            swagger_favicon_url=f"{SWAGGER_PREFIX}/favicon-32x32.png",
            oauth2_redirect_url="/docs/oauth2-redirect",
            swagger_ui_parameters={"validatorUrl": None},
        )

    @app.get("/docs/oauth2-redirect", include_in_schema=False)
    def oauth2_redirect() -> HTMLResponse:
        return get_swagger_ui_oauth2_redirect_html()


# --- errors ------------------------------------------------------------------------------------------------


def _error(
    status: int, message: str, detail: Any = None, headers: dict[str, str] | None = None
) -> JSONResponse:
    return JSONResponse(
        {"detail": message if detail is None else detail, "message": message},
        status_code=status,
        headers=headers,
    )


def add_error_handlers(app: FastAPI) -> None:
    @app.exception_handler(RequestValidationError)
    async def invalid(request: Request, exc: RequestValidationError) -> JSONResponse:
        errors = [_clean_error(e) for e in exc.errors()]
        return _error(422, "; ".join(_describe(e) for e in errors) or "invalid request", errors)

    @app.exception_handler(StarletteHTTPException)
    async def http_error(request: Request, exc: StarletteHTTPException) -> JSONResponse:
        detail = exc.detail
        message = detail.get("message", str(detail)) if isinstance(detail, dict) else str(detail)
        if detail == _UNPARSABLE:
            cause = exc.__cause__
            if isinstance(cause, ValueError) and "digits" in str(
                cause
            ):  # int("9" * 5000): Python's digit limit
                return _error(422, f"body: a number has too many digits ({cause}); top_k is an integer 1-20")
            message = 'body: could not be parsed as JSON (too deeply nested?); send a JSON object like {"question": "..."}'
        return _error(exc.status_code, message, detail, getattr(exc, "headers", None))

    @app.exception_handler(InvalidQuestion)
    async def invalid_question(request: Request, exc: InvalidQuestion) -> JSONResponse:
        return _error(422, str(exc))

    @app.exception_handler(Exception)
    async def unexpected(request: Request, exc: Exception) -> JSONResponse:
        LOG.error("unhandled error on %s %s", request.method, request.url.path, exc_info=exc)
        return _error(500, "internal error; the server log has the details")


def _clean_error(err: Any) -> dict[str, Any]:
    """A validation error without the echoed input (may be 64 KiB or bytes), ctx made JSON-safe."""
    out = {k: v for k, v in err.items() if k not in ("input", "url")}
    if "ctx" in out:
        out["ctx"] = {
            k: v if isinstance(v, int | float | str | bool | None) else str(v) for k, v in out["ctx"].items()
        }
    out["loc"] = list(out.get("loc", ()))
    return out


def _describe(err: dict[str, Any]) -> str:
    loc = [str(p) for p in err.get("loc", [])]
    where = loc[0] if loc else "request"
    field = ".".join(loc[1:]) if where == "body" and len(loc) > 1 else ".".join(loc) or "request"
    kind, ctx = err.get("type", ""), err.get("ctx", {})
    msg = str(err.get("msg", "")).removeprefix("Value error, ")
    if kind == "json_invalid":
        return f"body: malformed JSON at character {loc[-1]} ({ctx.get('error', 'decode error')}); send a JSON object"
    if kind == "string_unicode":
        return f"{field}: holds a lone surrogate (e.g. \\ud800) that UTF-8 cannot encode; send valid Unicode text"
    if kind == "extra_forbidden":
        allowed = _REQUEST_FIELDS if len(loc) <= 2 else _TURN_FIELDS
        return f"{field}: unknown field; allowed fields: {allowed}"
    if kind == "missing" and field == "body":
        return 'body: required; send JSON like {"question": "..."}'
    if kind in ("model_attributes_type", "dict_type") and field == "body":
        return f'body: must be a JSON object like {{"question": "..."}} with Content-Type: application/json ({msg})'
    limits = [f"{op} {ctx[name]}" for name, op in _LIMIT_WORDS.items() if name in ctx]
    spec = AskRequest.model_fields.get(field) if where == "body" else None
    constrained = limits or kind == "string_pattern_mismatch"
    about = f"; {spec.description}" if constrained and spec is not None and spec.description else ""
    return f"{field}: {msg}" + (f" (limit: {', '.join(limits)})" if limits else "") + about


# --- middleware (pure ASGI) --------------------------------------------------------------------------------


async def _send_json(scope: Scope, send: Send, status: int, message: str) -> None:
    """An error sent before any route runs, in the shape its path documents (OpenAI's on /v1)."""
    if str(scope.get("path", "")).startswith("/v1/"):
        error = {"message": message, "type": "invalid_request_error", "param": None, "code": None}
        body = json.dumps({"error": error}, ensure_ascii=False).encode()
    else:
        body = json.dumps({"detail": message, "message": message}, ensure_ascii=False).encode()
    await send(
        {
            "type": "http.response.start",
            "status": status,
            "headers": [(b"content-type", b"application/json"), (b"content-length", str(len(body)).encode())],
        }
    )
    await send({"type": "http.response.body", "body": body})


class BodyGuard:
    """Reject bodies over `max_bytes` (413; by Content-Length or by the streamed size) and JSON bodies that are
    not UTF-8 (400), then replay the buffered body to the app."""

    def __init__(self, app: ASGIApp, max_bytes: int) -> None:
        self.app, self.max_bytes = app, max_bytes

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            return await self.app(scope, receive, send)
        headers = {k.lower(): v for k, v in scope.get("headers", [])}
        too_big = f"request body is over the limit of {self.max_bytes} bytes ({self.max_bytes // 1024} KiB); send less"
        length = headers.get(b"content-length")
        if length is not None:
            if not length.strip().isdigit():
                return await _send_json(
                    scope, send, 400, f"Content-Length header {length.decode('latin-1')!r} is not a number"
                )
            if int(length) > self.max_bytes:
                return await _send_json(scope, send, 413, too_big)
        chunks, size, more = [], 0, True
        while more:
            message = await receive()
            if message["type"] != "http.request":
                return  # client went away
            chunks.append(message.get("body", b""))
            size += len(chunks[-1])
            more = message.get("more_body", False)
            if size > self.max_bytes:
                return await _send_json(scope, send, 413, too_big)
        body = b"".join(chunks)
        if b"json" in headers.get(b"content-type", b"").lower():
            try:
                body.decode("utf-8")
            except UnicodeDecodeError as exc:
                return await _send_json(
                    scope,
                    send,
                    400,
                    f"body: not valid UTF-8 (byte 0x{body[exc.start]:02x} at offset "
                    f"{exc.start}); send the JSON encoded as UTF-8",
                )
        replayed = False

        async def replay() -> Message:
            nonlocal replayed
            if not replayed:
                replayed = True
                return {"type": "http.request", "body": body, "more_body": False}
            return await receive()

        await self.app(scope, replay, send)


class AccessLog:
    """One JSON line per request on `policy_assistant.access`; never logs the question or query text."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            return await self.app(scope, receive, send)
        t0, status = time.perf_counter(), 500

        async def send_status(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = message["status"]
            await send(message)

        try:
            await self.app(scope, receive, send_status)
        finally:
            state = scope.get("state", {})
            line: dict[str, Any] = {
                "method": scope["method"],
                "path": scope["path"],
                "status": status,
                "latency_ms": round((time.perf_counter() - t0) * 1000, 1),
            }
            for key in ("question_chars", "answerable"):
                if key in state:
                    line[key] = state[key]
            ACCESS_LOG.info(json.dumps(line, ensure_ascii=False))
