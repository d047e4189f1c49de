"""HTTP client for the policy-assistant API, as used by the UI (the UI holds no index).

Every call goes through `ApiClient`; a server that does not answer raises `ApiUnavailable` (with the URL
and the command that starts it), an HTTP error raises `ApiError` (with the status and the server's detail).
"""

from __future__ import annotations

import json
from typing import Any
from urllib.parse import quote

import httpx

from assistant.config import Settings

__all__ = [
    "ApiClient",
    "ApiError",
    "ApiUnavailable",
    "DEFAULT_API_URL",
    "MAX_HISTORY_TURNS",
    "api_url_from_env",
    "history_for_request",
]

DEFAULT_API_URL = "http://127.0.0.1:8000"
MAX_HISTORY_TURNS = 20  # the API's limit (assistant/schemas.py)
_MAX_TURN_CHARS = 4000
_MAX_HISTORY_BYTES = 40 * 1024  # the API rejects bodies over 64 KiB; leave room for the question
_ASK_TIMEOUT = 120.0
_BROWSE_TIMEOUT = 30.0
_HEALTH_TIMEOUT = 3.0


def api_url_from_env() -> str:
    """The API base URL (Settings.api_url, i.e. `POLICY_ASSISTANT_API_URL`), without a trailing slash.

    Read afresh on each call (not the cached `get_settings()`): the UI is its own process and its script reruns."""
    return (Settings().api_url or DEFAULT_API_URL).rstrip("/")


class ApiUnavailable(RuntimeError):
    """The API did not answer at `url`."""

    def __init__(self, url: str, reason: str) -> None:
        super().__init__(
            f"API at {url} is unreachable ({reason}); start it with `make demo` or `policy-assistant serve`"
        )
        self.url = url
        self.reason = reason


class ApiError(RuntimeError):
    """The API answered with an HTTP error."""

    def __init__(self, status: int, detail: str) -> None:
        super().__init__(f"API error {status}: {detail}")
        self.status = status
        self.detail = detail


def history_for_request(messages: list[dict[str, Any]]) -> list[dict[str, str]]:
    """The chat turns to send as `history`: answered turns only, the newest `MAX_HISTORY_TURNS` that fit
    in the request size limit (each turn cut to `_MAX_TURN_CHARS` characters)."""
    turns: list[dict[str, str]] = []
    for m in messages:
        if m.get("error"):  # a failed turn: drop the question it answered too
            if turns and turns[-1]["role"] == "user":
                turns.pop()
        elif m.get("role") in ("user", "assistant"):
            turns.append({"role": m["role"], "content": str(m.get("content", ""))[:_MAX_TURN_CHARS]})
    kept: list[dict[str, str]] = []
    size = 0
    for turn in reversed(turns[-MAX_HISTORY_TURNS:]):
        size += len(json.dumps(turn).encode())
        if size > _MAX_HISTORY_BYTES:
            break
        kept.append(turn)
    return kept[::-1]


def _detail(resp: httpx.Response) -> str:
    try:
        body = resp.json()
    except ValueError:
        return resp.text[:500]
    detail = (body.get("message") or body.get("detail", body)) if isinstance(body, dict) else body
    if isinstance(detail, list):  # FastAPI validation errors
        return "; ".join(str(d.get("msg", d)) if isinstance(d, dict) else str(d) for d in detail)
    return str(detail)


class ApiClient:
    """Calls the API at `base_url` (e.g. `http://127.0.0.1:8000`)."""

    def __init__(self, base_url: str) -> None:
        self.base_url = base_url.rstrip("/")

    def _request(self, method: str, path: str, timeout: float, **kwargs: Any) -> Any:
        url = f"{self.base_url}{path}"
        try:
            resp = httpx.request(method, url, timeout=timeout, **kwargs)
        except httpx.TransportError as exc:  # connection refused, DNS, timeout ...
            raise ApiUnavailable(self.base_url, type(exc).__name__) from exc
        if resp.status_code >= 400:
            raise ApiError(resp.status_code, _detail(resp))
        return resp.json()

    def health(self) -> dict[str, Any]:
        body = self._request("GET", "/health", _HEALTH_TIMEOUT)
        return body if isinstance(body, dict) else {"status": body}

    def ask(self, question: str, history: list[dict[str, str]], top_k: int | None = None) -> dict[str, Any]:
        payload: dict[str, Any] = {"question": question, "history": history}
        if top_k is not None:
            payload["top_k"] = top_k
        return self._request("POST", "/ask", _ASK_TIMEOUT, json=payload)

    def measures(
        self, goal: str | None = None, department: str | None = None, text: str | None = None
    ) -> list[dict[str, Any]]:
        params = {k: v for k, v in (("goal", goal), ("department", department), ("text", text)) if v}
        return self._request("GET", "/measures", _BROWSE_TIMEOUT, params=params)

    def measure(self, measure_id: str) -> Any:
        return self._request("GET", f"/measures/{quote(measure_id, safe='')}", _BROWSE_TIMEOUT)

    def kpis(self) -> list[dict[str, Any]]:
        return self._request("GET", "/kpis", _BROWSE_TIMEOUT)

    def documents(self) -> list[dict[str, Any]]:
        return self._request("GET", "/documents", _BROWSE_TIMEOUT)

    def passage(self, doc_id: str, start: int, end: int) -> dict[str, Any]:
        """The cited lines inside their section (`GET /documents/{doc_id}/passage`)."""
        path = f"/documents/{quote(doc_id, safe='')}/passage"
        return self._request("GET", path, _BROWSE_TIMEOUT, params={"start": start, "end": end})

    def send_feedback(self, payload: dict[str, Any]) -> dict[str, Any]:
        return self._request("POST", "/feedback", _BROWSE_TIMEOUT, json=payload)

    def feedback(
        self, verdict: str | None = None, text: str | None = None, limit: int = 50
    ) -> dict[str, Any]:
        params: dict[str, Any] = {"limit": limit}
        if verdict:
            params["verdict"] = verdict
        if text:
            params["text"] = text
        return self._request("GET", "/feedback", _BROWSE_TIMEOUT, params=params)

    def conversation(self, conversation_id: str) -> list[dict[str, Any]]:
        body = self._request("GET", f"/conversations/{quote(conversation_id, safe='')}", _BROWSE_TIMEOUT)
        return list(body.get("turns") or [])

    def put_turn(self, conversation_id: str, position: int, turn: dict[str, Any]) -> None:
        path = f"/conversations/{quote(conversation_id, safe='')}/turns/{position}"
        self._request("PUT", path, _BROWSE_TIMEOUT, json=turn)
