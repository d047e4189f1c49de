"""Input hygiene at the boundary, once: what every request's text goes through before anything reads it.

- `unencodable(text)`: the offset of the first character that cannot be encoded as UTF-8 (a lone surrogate
  such as "\\ud800", which JSON allows and every encoder downstream chokes on), else None. The request schemas
  reject such text with 422 naming the field.
- `clean(text)`: removes zero-width and bidirectional control characters (U+200B, U+200D, U+2066, U+FEFF ...),
  which are invisible yet split words and ids (`企\\u200b1\\u200d5` is 企15).
- `has_content(text)`: False for text with nothing to understand (control characters, NULs, one symbol repeated);
  the assistant answers such a question with `NO_CONTENT` instead of guessing.
- `bounded(req, ...)`: the request with its question and history cut to the lengths one answer may work on, so
  the cost of a request is bounded whatever its length.
"""

from __future__ import annotations

import re
import unicodedata
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from assistant.schemas import AskRequest

__all__ = ["clean", "unencodable", "has_content", "bounded", "NO_CONTENT", "INVISIBLE"]

# zero-width characters, joiners, bidi marks/embeddings/isolates, word joiner and invisible operators, BOM
INVISIBLE = re.compile("[\u00ad\u061c\u180e\u200b-\u200f\u202a-\u202e\u2060-\u2064\u2066-\u206f\ufeff]")
NO_CONTENT = "質問の意味を読み取れません。施策番号（例: 企15）や施策名・KPIなど、知りたいことを文章で入力してください。"


def unencodable(text: str) -> int | None:
    """Offset of the first character UTF-8 cannot encode (a lone surrogate), or None when all can be."""
    try:
        text.encode("utf-8")
    except UnicodeEncodeError as exc:
        return exc.start
    return None


def clean(text: str) -> str:
    """`text` without zero-width and bidirectional control characters."""
    return INVISIBLE.sub("", text)


def has_content(text: str) -> bool:
    """True when `text` holds something to understand: letters or digits, and more than one distinct character.

    Controls, NULs, punctuation and symbols alone (even ones NFKC would expand, like ㍻) are not content.
    """
    words = [ch for ch in clean(text) if unicodedata.category(ch)[0] in "LN"]
    return len(set(words)) >= 2


def bounded(req: AskRequest, question_chars: int, history_turns: int, turn_chars: int) -> AskRequest:
    """`req` with the question cut to its first `question_chars` characters and only the last `history_turns`
    turns of history, each cut to `turn_chars`: the work one answer does no longer grows with the input."""
    history = [t.model_copy(update={"content": t.content[:turn_chars]}) for t in req.history[-history_turns:]]
    if len(req.question) <= question_chars and history == req.history:
        return req
    return req.model_copy(update={"question": req.question[:question_chars], "history": history})
