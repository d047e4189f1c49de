"""The HTTP contract of the answering service (fixed: other tools depend on it)."""

from __future__ import annotations

from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator

__all__ = ["Turn", "AskRequest", "Citation", "AskResponse", "MAX_QUESTION_CHARS", "MAX_HISTORY_TURNS"]

MAX_QUESTION_CHARS = 2000
MAX_HISTORY_TURNS = 20


class Turn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    role: Literal["user", "assistant"]
    content: str = Field(max_length=20000)


class AskRequest(BaseModel):
    model_config = ConfigDict(extra="forbid")
    question: str = Field(description=f"the question, 1-{MAX_QUESTION_CHARS} characters")
    history: list[Turn] = Field(default_factory=list, max_length=MAX_HISTORY_TURNS)
    top_k: int | None = Field(default=None, ge=1, le=20)

    @field_validator("question")
    @classmethod
    def _question(cls, v: str) -> str:
        if not v.strip():
            raise ValueError("question is empty; send a question of 1 to 2000 characters")
        if len(v) > MAX_QUESTION_CHARS:
            raise ValueError(
                f"question has {len(v)} characters; the limit is {MAX_QUESTION_CHARS}, shorten it"
            )
        return v


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
