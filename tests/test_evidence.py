import pytest

from interviewer.domain import CriterionScore
from interviewer.engine.evidence import UNSUPPORTED_CAP, quote_is_verbatim, verify

ANSWER = (
    "The GIL lets only one thread run Python bytecode at a time.\n\nFor I/O–bound work "
    "threads still help, because the lock is released while a thread “waits” on a socket."
)


@pytest.mark.parametrize(
    ("quote", "ok"),
    [
        ("lets only one thread run Python bytecode at a time", True),
        ("lets  only one\nthread run Python bytecode", True),  # whitespace folded
        ("For I/O-bound work threads still help", True),  # dashes folded
        ('the lock is released while a thread "waits" on a socket', True),  # curly quotes folded
        ("THE GIL LETS ONLY ONE THREAD", True),  # case folded
        ("The GIL lets only one thread ... released while a thread", True),  # elision, in order
        ("released while a thread ... The GIL lets only one", False),  # elision, wrong order
        ("The GIL makes Python code thread-safe", False),  # invented
        ("one thread", False),  # too short to be evidence
        ("", False),
    ],
)
def test_quotes_are_checked_against_the_answer(quote: str, ok: bool) -> None:
    assert quote_is_verbatim(quote, ANSWER) is ok


def test_invented_quotes_dropped_and_unsupported_capped() -> None:
    criteria = [
        CriterionScore(
            id="accuracy",
            score=5,
            evidence=["lets only one thread run Python bytecode", "the GIL makes everything thread-safe"],
        ),
        CriterionScore(id="depth", score=5, evidence=["a sentence the candidate never said"]),
        CriterionScore(id="communication", score=4, evidence=[]),
    ]
    checked, dropped = verify(criteria, ANSWER)
    assert dropped == 2
    assert checked[0].evidence == ["lets only one thread run Python bytecode"] and checked[0].score == 5
    assert checked[1].unsupported and checked[1].score == UNSUPPORTED_CAP and checked[1].evidence == []
    assert checked[2].unsupported and checked[2].score == UNSUPPORTED_CAP
