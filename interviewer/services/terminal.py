"""A mock interview in one process, without the web app: `interviewer interview`.

The same bank as the web app: the shipped files with HR's saved versions from the database on
top, so HR's track settings (questions per track, follow-up budget, ...) apply here too (HR's new
or edited questions are embedded into the index; only what changed). The session state lives
with the caller (a saved transcript file), not in the database: the database is only read.

The doors name the records these use cases hand out through this module (`SessionState`,
`Report`, `Database`): they never import `engine/` or `store/` themselves.
"""

from __future__ import annotations

from collections.abc import Callable

from interviewer.bank import Bank, load_bank, open_index
from interviewer.config import Settings
from interviewer.domain import Plan, Report
from interviewer.engine import Orchestrator, TurnResult, build_engine
from interviewer.engine.report import build_report
from interviewer.engine.state import SessionState
from interviewer.services.bank_edits import BankEdits
from interviewer.store.db import Database

__all__ = ["Database", "Report", "SessionState", "TerminalInterview", "TurnResult"]


class TerminalInterview:
    """The effective bank and an engine over it; the caller keeps the `SessionState`."""

    def __init__(self, *, bank: Bank, engine: Orchestrator) -> None:
        self._bank = bank
        self._engine = engine

    @classmethod
    def open(
        cls, settings: Settings, *, offline: bool, database: Callable[[], Database | None]
    ) -> TerminalInterview:
        """`database`: the database with HR's edits when there is one (it is disposed of once
        they are read); `offline`: the offline engine even when a model is configured."""
        index = open_index(settings)
        bank = load_bank(settings.knowledge_dir)
        db = database()
        if db is not None:
            try:
                BankEdits(bank=bank, db=db, index=index).refresh()
            finally:
                db.dispose()
        engine = build_engine(settings, bank=bank, index=index, offline_only=offline)
        return cls(bank=bank, engine=engine)

    def plans(self) -> list[Plan]:
        """The interview plans, the full interview first."""
        return sorted(self._bank.plans.values(), key=lambda p: (p.id != "full", p.id))

    def check_plan(self, plan_id: str | None) -> None:
        """Raises `Invalid` (the known plans in its message) for a plan that is not in the bank."""
        self._engine.plan(plan_id)

    def missing_question(self, state: SessionState) -> str | None:
        """The id of the question a saved, unfinished interview was at when the bank no longer
        has it (it cannot go on); None when it can."""
        current = state.question
        if (
            state.status == "active"
            and current is not None
            and current.question_id not in self._bank.questions
        ):
            return current.question_id
        return None

    def questions_planned(self, state: SessionState, track: str) -> int:
        """How many questions `track` has in this interview (the settings it started with)."""
        return state.config(track, self._bank).questions

    async def start(self, plan_id: str | None, *, seed: int | None) -> TurnResult:
        return await self._engine.start(plan_id, seed=seed)

    async def answer(self, state: SessionState, text: str) -> TurnResult:
        return await self._engine.answer(state, text)

    def report_so_far(self, state: SessionState) -> Report:
        """The report of the questions answered (an interview that ended early)."""
        return build_report(state, self._bank)
