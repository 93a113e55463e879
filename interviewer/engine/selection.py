"""Which main question comes next: the track's topics at the target difficulty, never a question
or a topic this session has asked already.

The draw among the candidates is seeded by the session's seed and the number of questions asked
so far: the same state and bank give the same choice.
"""

from __future__ import annotations

import random
from collections.abc import Mapping

from interviewer.bank.retrieval import Retriever
from interviewer.domain import Question, TrackConfig
from interviewer.engine.state import SessionState, TrackState
from interviewer.errors import EngineError


def choose_question(
    retriever: Retriever,
    *,
    state: SessionState,
    track: TrackState,
    config: TrackConfig,
    questions: Mapping[str, Question],
) -> Question:
    """Next main question of `track`: its topics and its target difficulty (the nearest level if
    that one is exhausted), never a question or a topic already asked in this session; once no
    fresh topic is left, any unasked question of the track. `questions`: the bank's questions as
    this session sees them (the revisions it asked win)."""
    asked = {q.question_id for t in state.tracks for q in t.questions}
    seen = (questions.get(q) for q in asked)
    topics_seen = {q.topic for q in seen if q is not None}
    rng = random.Random(state.seed * 1009 + len(asked))
    for spread in (0, 1, 2):
        for level in sorted({track.difficulty - spread, track.difficulty + spread}):
            if not config.difficulty.min <= level <= config.difficulty.max:
                continue
            hits = retriever.find_questions(
                track=track.track,
                topics=set(config.topics) or None,
                difficulty=level,
                exclude=asked,
                limit=1000,
            )
            fresh = [h.question for h in hits if h.question.topic not in topics_seen]
            if fresh:
                return rng.choice(fresh)
    hits = retriever.find_questions(track=track.track, exclude=asked, limit=1000)
    if not hits:
        raise EngineError(f"the {track.track} bank has no unasked question left")
    return rng.choice([h.question for h in hits])
