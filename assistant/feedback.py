"""`POST /feedback` (👍/👎 and a comment on one answer) and `GET /feedback` (the latest, filtered).

Stored by `assistant.userdata.UserData` in `<data_dir>/feedback.sqlite` with the time and the id of the
index that produced the answer, so the corpus team can tell which build an answer came from.
"""

from __future__ import annotations

from typing import Annotated, Literal

from fastapi import APIRouter, Query, Request
from pydantic import BaseModel, ConfigDict, Field

from assistant.schemas import MAX_QUESTION_CHARS, Citation
from assistant.userdata import UserData

__all__ = ["router", "FeedbackIn", "FeedbackOut", "FeedbackList", "user_data", "MAX_COMMENT_CHARS"]

MAX_COMMENT_CHARS = 2000
MAX_ANSWER_CHARS = 20000
MAX_CITATIONS = 50
CONVERSATION_ID = r"^[A-Za-z0-9_-]{8,64}$"

router = APIRouter(tags=["feedback"])


class FeedbackIn(BaseModel):
    """One verdict on one answer, as the chat sends it."""

    model_config = ConfigDict(extra="forbid")
    question: str = Field(min_length=1, max_length=MAX_QUESTION_CHARS, description="the question asked")
    answer: str = Field(max_length=MAX_ANSWER_CHARS, description="the answer text shown")
    citations: list[Citation] = Field(default_factory=list, max_length=MAX_CITATIONS)
    verdict: Literal["up", "down"] = Field(description='"up" (helpful) or "down" (wrong or unhelpful)')
    comment: str = Field("", max_length=MAX_COMMENT_CHARS, description="optional: what was wrong")
    conversation_id: str | None = Field(None, pattern=CONVERSATION_ID)


class FeedbackOut(BaseModel):
    """A stored feedback entry."""

    id: int
    created_at: str = Field(description="UTC, ISO 8601")
    question: str
    answer: str
    citations: list[Citation]
    verdict: Literal["up", "down"]
    comment: str
    index_id: str = Field(description="the index that served the answer")
    conversation_id: str | None = None


class FeedbackList(BaseModel):
    counts: dict[str, int] = Field(description="all stored entries by verdict")
    items: list[FeedbackOut]


def user_data(request: Request) -> UserData:
    """The app's one store (created on first use next to the index dirs)."""
    state = request.app.state
    if getattr(state, "user_data", None) is None:
        state.user_data = UserData(state.data_dir)
    return state.user_data


def _index_id(request: Request) -> str:
    meta = request.app.state.assistant.index.meta
    return str(meta.get("index_id") or "")


@router.post(
    "/feedback",
    response_model=FeedbackOut,
    status_code=201,
    responses={422: {"description": "invalid field (the message names it and the limit)"}},
)
def post_feedback(body: FeedbackIn, request: Request) -> FeedbackOut:
    """Store a 👍/👎 (and optional comment) on one answer, with the time and the serving index id."""
    stored = user_data(request).add_feedback(
        question=body.question,
        answer=body.answer,
        citations=[c.model_dump(mode="json") for c in body.citations],
        verdict=body.verdict,
        comment=body.comment.strip(),
        index_id=_index_id(request),
        conversation_id=body.conversation_id,
    )
    return FeedbackOut.model_validate(stored)


@router.get("/feedback", response_model=FeedbackList)
def list_feedback(
    request: Request,
    verdict: Annotated[Literal["up", "down"] | None, Query(description="only this verdict")] = None,
    text: Annotated[
        str | None, Query(max_length=200, description="substring of question/answer/comment")
    ] = None,
    with_comment: Annotated[bool, Query(description="only entries with a comment")] = False,
    limit: Annotated[int, Query(ge=1, le=500)] = 50,
) -> FeedbackList:
    """The latest feedback first."""
    store = user_data(request)
    items = store.feedback(verdict=verdict, text=text or None, with_comment=with_comment, limit=limit)
    return FeedbackList(counts=store.count_feedback(), items=[FeedbackOut.model_validate(i) for i in items])
