"""Chat conversations kept server-side, so a reload (or another device) shows the same conversation.

`PUT /conversations/{conversation_id}/turns/{position}` stores one turn (the question, or the answer with
the full `/ask` response the chat renders); `GET /conversations/{conversation_id}` returns the turns in
order. One turn per request keeps every body under the API's 64 KiB limit. Stored in the same SQLite file
as the feedback (`assistant.userdata`), outside the index dirs.
"""

from __future__ import annotations

from typing import Annotated, Any, Literal

from fastapi import APIRouter, HTTPException, Request
from fastapi import Path as PathParam
from pydantic import BaseModel, ConfigDict, Field

from assistant.feedback import CONVERSATION_ID, user_data
from assistant.schemas import ApiError

__all__ = ["router", "StoredTurn", "Conversation", "TurnStored", "MAX_TURNS"]

MAX_TURNS = 200
MAX_TURN_CHARS = 20000

router = APIRouter(tags=["conversations"])
ConversationId = Annotated[
    str, PathParam(pattern=CONVERSATION_ID, description="8-64 characters: letters, digits, _ or -")
]


class StoredTurn(BaseModel):
    """One chat turn as the UI shows it again: a question, an answer (with its `/ask` response) or an error."""

    model_config = ConfigDict(extra="forbid")
    role: Literal["user", "assistant"]
    content: str = Field(max_length=MAX_TURN_CHARS)
    response: dict[str, Any] | None = Field(None, description="the /ask response of an answer turn")
    error: str | None = Field(None, max_length=2000, description="the message shown when asking failed")


class Conversation(BaseModel):
    conversation_id: str
    turns: list[StoredTurn]


class TurnStored(BaseModel):
    conversation_id: str
    position: int
    turns: int = Field(description="turns stored in the conversation now")


@router.get("/conversations/{conversation_id}", response_model=Conversation)
def get_conversation(conversation_id: ConversationId, request: Request) -> Conversation:
    """The stored turns (none for an id never written: a new conversation)."""
    turns = [StoredTurn.model_validate(t) for t in user_data(request).turns(conversation_id)]
    return Conversation(conversation_id=conversation_id, turns=turns)


@router.put(
    "/conversations/{conversation_id}/turns/{position}",
    response_model=TurnStored,
    responses={
        409: {"model": ApiError, "description": "position beyond the end of the stored turns (a gap)"},
        422: {"description": "an invalid turn"},
    },
)
def put_turn(
    conversation_id: ConversationId,
    position: Annotated[int, PathParam(ge=0, lt=MAX_TURNS, description=f"0-based, below {MAX_TURNS}")],
    turn: StoredTurn,
    request: Request,
) -> TurnStored:
    """Store turn `position` (replacing it and dropping any later turns); it must not leave a gap."""
    store = user_data(request)
    have = len(store.turns(conversation_id))
    if position > have:
        raise HTTPException(
            409,
            detail=f"position: {position} is beyond the end of conversation {conversation_id} "
            f"({have} turns stored); send turn {have} next",
        )
    n = store.put_turn(conversation_id, position, turn.model_dump(mode="json"))
    return TurnStored(conversation_id=conversation_id, position=position, turns=n)
