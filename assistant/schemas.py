"""The HTTP contract of the answering service (fixed: other tools depend on it).

Every string field passes `assistant.hygiene` here, once: text UTF-8 cannot encode (a lone surrogate) is a 422
naming the field; zero-width and bidi control characters are removed. Every limit is a schema constraint, so the
OpenAPI document states it.
"""

from __future__ import annotations

from typing import Annotated, Any, Literal

from pydantic import AfterValidator, BaseModel, BeforeValidator, ConfigDict, Field

from assistant.hygiene import clean, unencodable

__all__ = [
    "Turn",
    "AskRequest",
    "Citation",
    "AskResponse",
    "CleanText",
    "ApiError",
    "ERROR_RESPONSES",
    "MAX_QUESTION_CHARS",
    "MAX_HISTORY_TURNS",
    "MAX_TURN_CHARS",
]

MAX_QUESTION_CHARS = 2000
MAX_HISTORY_TURNS = 20
MAX_TURN_CHARS = 20000
MAX_TOP_K = 20


def _clean_text(v: str) -> str:
    at = unencodable(v)
    if at is not None:
        raise ValueError(
            f"character {at} (U+{ord(v[at]):04X}) is a lone surrogate that UTF-8 cannot encode; "
            "send valid Unicode text"
        )
    return clean(v)


CleanText = Annotated[str, AfterValidator(_clean_text)]


class Turn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    role: Literal["user", "assistant"]
    content: CleanText = Field(max_length=MAX_TURN_CHARS)


def _json_integer(v: Any) -> Any:
    """A JSON integer, 3 or 3.0 as JSON Schema has it: lax mode would read true as 1 and "3" as 3."""
    if isinstance(v, bool | str):
        raise ValueError(f"must be an integer, not {v!r}; send a number such as 5")
    return v


class AskRequest(BaseModel):
    model_config = ConfigDict(extra="forbid")
    question: CleanText = Field(
        min_length=1,
        max_length=MAX_QUESTION_CHARS,
        pattern=r"\S",
        description=f"the question, 1-{MAX_QUESTION_CHARS} characters, not only whitespace",
    )
    history: list[Turn] = Field(default_factory=list, max_length=MAX_HISTORY_TURNS)
    top_k: Annotated[int, Field(ge=1, le=MAX_TOP_K), BeforeValidator(_json_integer)] | None = None


class Citation(BaseModel):
    doc_id: str
    doc_title: str
    measure_id: str | None = None
    section: str | None = None
    location: str  # e.g. "L885-944"
    quote: str
    line_start: int | None = Field(None, ge=1, description="first cited line (1-based), as in `location`")
    line_end: int | None = Field(None, ge=1, description="last cited line; GET /documents/{doc_id}/passage")


class AskResponse(BaseModel):
    answer: str
    answerable: bool
    citations: list[Citation] = Field(default_factory=list)
    measures: list[dict[str, Any]] = Field(default_factory=list)
    kpis: list[dict[str, Any]] = Field(default_factory=list)
    related: list[str] = Field(default_factory=list)
    timings_ms: dict[str, float] = Field(default_factory=dict)


class ApiError(BaseModel):
    """Every 4xx body: `message` names the field, the limit and the fix; `detail` holds the specifics."""

    message: str
    detail: Any = None


_RETRY = {"Retry-After": {"description": "seconds to wait before retrying", "schema": {"type": "integer"}}}
ERROR_RESPONSES: dict[int | str, dict[str, Any]] = {
    400: {"model": ApiError, "description": "body is not UTF-8, not parsable JSON, or a bad Content-Length"},
    404: {"model": ApiError, "description": "unknown id or path, or a disabled endpoint"},
    413: {"model": ApiError, "description": "body over 64 KiB"},
    422: {"model": ApiError, "description": "a field breaks its schema; `message` names it and the limit"},
    429: {"model": ApiError, "description": "over the per-client rate limit", "headers": _RETRY},
    503: {"model": ApiError, "description": "all workers busy and the queue is full", "headers": _RETRY},
}
