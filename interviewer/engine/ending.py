"""How an interview ends, once its last track is closed: the report is built and kept on the
state, and the interviewer says goodbye.

The results are said in the interview only in practice mode with the report shown to the
candidate: then the closing message leads with the overall score and goes on with the report's
narrative (model-phrased when a model and the turn's budget allow, the offline narrative
otherwise). An assessment, or any interview whose report HR hides, closes without results.
"""

from __future__ import annotations

from interviewer.bank.loader import Bank
from interviewer.engine import messages as msg
from interviewer.engine.phrasing import Phraser
from interviewer.engine.report import build_report, results_text
from interviewer.engine.turn_work import TurnWork


async def end_interview(turn: TurnWork, *, bank: Bank, phraser: Phraser) -> None:
    """Complete the session of `turn`: its report (`SessionState.report`) and the closing message."""
    st = turn.state
    st.status = "completed"
    report = build_report(st, bank, questions=turn.questions)
    if st.mode != "practice" or not st.show_report:  # the results are not said in the interview
        st.report = report
        turn.speak("report", msg.closing_without_results(show_report=st.show_report))
        return
    narrative = report.narrative
    lead = msg.results_lead(report.score)
    if phraser.may_phrase(turn):
        plan = bank.plans[st.plan_id]
        narrative = await phraser.phrase(
            turn,
            "final_report",
            None,
            fallback=narrative,
            values={"plan_title": plan.title, "results": results_text(report.tracks)},
            lead=lead,
        )
    st.report = report.model_copy(update={"narrative": narrative})
    turn.speak("report", lead + narrative)
