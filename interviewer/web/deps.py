"""What every handler needs, built once by `create_app` and kept on `app.state`."""

from __future__ import annotations

import asyncio
from dataclasses import dataclass, field
from typing import Any

from fastapi import Request

from interviewer.bank.index import VectorIndex
from interviewer.bank.loader import Bank
from interviewer.config import Settings
from interviewer.service import InterviewService
from interviewer.store.db import Database
from interviewer.web.security import RateLimiter


@dataclass
class Context:
    settings: Settings
    db: Database
    bank: Bank
    index: VectorIndex
    service: InterviewService
    per_token: RateLimiter
    per_address: RateLimiter
    new_sessions: RateLimiter
    background: set[asyncio.Task[Any]] = field(default_factory=set)
    """Turns still being processed after their client disconnected (kept referenced)."""


def get_context(request: Request) -> Context:
    ctx: Context = request.app.state.ctx
    return ctx


def client_address(request: Request, trust_proxy: bool) -> str:
    if trust_proxy:
        forwarded = request.headers.get("x-forwarded-for", "")
        if forwarded:
            return forwarded.split(",")[0].strip()[:64]
    return (request.client.host if request.client else "unknown")[:64]
