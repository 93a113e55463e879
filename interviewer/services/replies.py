"""What a candidate reads back: a stored message as the API shows it, and the reply to an answer
(its messages, the session's public state, and the answer's turn number for SSE event ids)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from interviewer.store.tables import TurnRow


@dataclass(frozen=True)
class Reply:
    messages: list[dict[str, Any]]
    state: dict[str, Any]
    turn_seq: int


def message_json(row: TurnRow) -> dict[str, Any]:
    return {
        "id": row.seq,
        "role": row.role,
        "content": row.content,
        "kind": row.kind,
        "track": row.track,
        "created_at": row.created_at.isoformat(),
    }
