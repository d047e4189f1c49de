"""What users leave behind: answer feedback (👍/👎 with a comment) and chat conversations, in one SQLite file.

The file is `<data_dir>/feedback.sqlite`, beside (not inside) the per-build `index-*` dirs, so it survives a
re-ingest, an index switch and a restart. Each call opens its own connection (thread-safe under the API's
threadpool); writes are single statements in WAL mode. Nothing here knows the corpus.
"""

from __future__ import annotations

import json
import sqlite3
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

__all__ = ["DB_NAME", "EXPORT_FORMATS", "UserData", "db_path", "export_feedback"]

DB_NAME = "feedback.sqlite"
_SCHEMA = """
CREATE TABLE IF NOT EXISTS feedback (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    created_at TEXT NOT NULL,
    question TEXT NOT NULL,
    answer TEXT NOT NULL,
    citations TEXT NOT NULL,
    verdict TEXT NOT NULL,
    comment TEXT NOT NULL,
    index_id TEXT NOT NULL,
    conversation_id TEXT
);
CREATE TABLE IF NOT EXISTS conversation_turns (
    conversation_id TEXT NOT NULL,
    position INTEGER NOT NULL,
    turn TEXT NOT NULL,
    updated_at TEXT NOT NULL,
    PRIMARY KEY (conversation_id, position)
);
"""
_FEEDBACK_COLUMNS = (
    "id",
    "created_at",
    "question",
    "answer",
    "citations",
    "verdict",
    "comment",
    "index_id",
    "conversation_id",
)


def db_path(data_dir: Path) -> Path:
    return Path(data_dir) / DB_NAME


def _now() -> str:
    return datetime.now(UTC).isoformat(timespec="seconds")


class UserData:
    """Feedback and conversations stored in `<data_dir>/feedback.sqlite` (created on first use)."""

    def __init__(self, data_dir: Path) -> None:
        self.path = db_path(data_dir)
        self._ready = False

    @contextmanager
    def _db(self) -> Iterator[sqlite3.Connection]:
        self.path.parent.mkdir(parents=True, exist_ok=True)
        con = sqlite3.connect(self.path, timeout=10)
        try:
            if not self._ready:
                con.execute("PRAGMA journal_mode=WAL")
                con.executescript(_SCHEMA)
                self._ready = True
            with con:
                yield con
        finally:
            con.close()

    # --- feedback ----------------------------------------------------------------------------------------

    def add_feedback(
        self,
        *,
        question: str,
        answer: str,
        citations: list[dict[str, Any]],
        verdict: str,
        comment: str,
        index_id: str,
        conversation_id: str | None = None,
    ) -> dict[str, Any]:
        """Store one feedback entry; returns it as stored (with `id` and `created_at`)."""
        row = (
            _now(),
            question,
            answer,
            json.dumps(citations, ensure_ascii=False),
            verdict,
            comment,
            index_id,
        )
        with self._db() as con:
            cur = con.execute(
                "INSERT INTO feedback (created_at, question, answer, citations, verdict, comment, index_id,"
                " conversation_id) VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
                (*row, conversation_id),
            )
            new_id = cur.lastrowid
        return self.feedback(verdict=None, limit=1, after_id=(new_id or 1) - 1)[0]

    def feedback(
        self,
        *,
        verdict: str | None = None,
        text: str | None = None,
        with_comment: bool = False,
        limit: int = 50,
        after_id: int | None = None,
    ) -> list[dict[str, Any]]:
        """Entries newest first, filtered by verdict, a substring of question/answer/comment, a comment."""
        where: list[str] = []
        args: list[str | int] = []
        if verdict:
            where.append("verdict = ?")
            args.append(verdict)
        if text:
            where.append("(instr(question, ?) OR instr(answer, ?) OR instr(comment, ?))")
            args += [text, text, text]
        if with_comment:
            where.append("comment != ''")
        order = "id DESC"
        if after_id is not None:
            where.append("id > ?")
            args.append(after_id)
            order = "id ASC"
        sql = f"SELECT {', '.join(_FEEDBACK_COLUMNS)} FROM feedback"
        sql += (" WHERE " + " AND ".join(where) if where else "") + f" ORDER BY {order} LIMIT ?"
        with self._db() as con:
            rows = con.execute(sql, (*args, limit)).fetchall()
        return [_feedback_row(r) for r in rows]

    def count_feedback(self) -> dict[str, int]:
        with self._db() as con:
            rows = con.execute("SELECT verdict, COUNT(*) FROM feedback GROUP BY verdict").fetchall()
        return {str(v): int(n) for v, n in rows}

    # --- conversations -----------------------------------------------------------------------------------

    def put_turn(self, conversation_id: str, position: int, turn: dict[str, Any]) -> int:
        """Store turn `position` (0-based) of a conversation, replacing what was there; drops later turns
        when `position` rewrites history. Returns the number of turns stored."""
        with self._db() as con:
            con.execute(
                "DELETE FROM conversation_turns WHERE conversation_id = ? AND position > ?",
                (conversation_id, position),
            )
            con.execute(
                "INSERT OR REPLACE INTO conversation_turns (conversation_id, position, turn, updated_at)"
                " VALUES (?, ?, ?, ?)",
                (conversation_id, position, json.dumps(turn, ensure_ascii=False), _now()),
            )
            (n,) = con.execute(
                "SELECT COUNT(*) FROM conversation_turns WHERE conversation_id = ?", (conversation_id,)
            ).fetchone()
        return int(n)

    def turns(self, conversation_id: str) -> list[dict[str, Any]]:
        """The stored turns in order (an unknown id has none)."""
        with self._db() as con:
            rows = con.execute(
                "SELECT turn FROM conversation_turns WHERE conversation_id = ? ORDER BY position",
                (conversation_id,),
            ).fetchall()
        return [json.loads(r[0]) for r in rows]


def _feedback_row(r: tuple[Any, ...]) -> dict[str, Any]:
    out = dict(zip(_FEEDBACK_COLUMNS, r, strict=True))
    out["citations"] = json.loads(out["citations"])
    return out


EXPORT_FORMATS = ("csv", "jsonl")


def export_feedback(data_dir: Path, fmt: str) -> str:
    """Every feedback entry, oldest first, as CSV (citations as JSON in one column) or JSON Lines."""
    import csv
    import io

    if fmt not in EXPORT_FORMATS:
        raise ValueError(f"format: {fmt!r} is not one of {', '.join(EXPORT_FORMATS)}")
    rows = UserData(data_dir).feedback(limit=-1, after_id=0)
    if fmt == "jsonl":
        return "".join(json.dumps(r, ensure_ascii=False) + "\n" for r in rows)
    buf = io.StringIO()
    writer = csv.DictWriter(buf, fieldnames=list(_FEEDBACK_COLUMNS), lineterminator="\n")
    writer.writeheader()
    for r in rows:
        writer.writerow(r | {"citations": json.dumps(r["citations"], ensure_ascii=False)})
    return buf.getvalue()
