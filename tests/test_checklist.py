"""The checklist model scorer at the OpenAI HTTP boundary (respx): the model answers yes/no checks
with quotes, the code verifies the quotes and computes the score; an invalid reply falls back to
the offline scorer."""

from __future__ import annotations

import asyncio
import json
import re
from typing import Any

import httpx
import pytest
import respx

from interviewer.bank import Bank, Retriever
from interviewer.config import Settings
from interviewer.domain import Assessment, Question
from interviewer.engine import make_model_scorer
from interviewer.engine.checklist import ChecklistReply, ChecklistScorer, checklist_assessment, render_checks
from interviewer.engine.offline_scorer import Coverage, OfflineScorer, rubric_assessment
from interviewer.engine.scoring import Assessor, Exchange, ModelScorer
from interviewer.llm.openai_model import OpenAIChatModel
from interviewer.llm.tokens import TokenCounter

BASE = "http://llm.test/v1"
URL = f"{BASE}/chat/completions"
QUESTION = "py-gil-cpu-io-bound"

GOOD = (
    "Only one thread runs Python bytecode at a time because of the GIL. "
    "Threads still help with network calls, since the lock is released while waiting on I/O. "
    "For heavy computation I would use a ProcessPoolExecutor instead."
)
WRONG = "Thanks to the GIL you never need a lock around a shared counter in Python."


def completion(content: str) -> dict[str, Any]:
    return {
        "id": "chatcmpl-1",
        "object": "chat.completion",
        "created": 1,
        "model": "test-model",
        "choices": [
            {"index": 0, "finish_reason": "stop", "message": {"role": "assistant", "content": content}}
        ],
        "usage": {"prompt_tokens": 100, "completion_tokens": 40, "total_tokens": 140},
    }


def checks(question: Question, yes: dict[str, str]) -> str:
    """A reply answering every check: "yes" with the given quote for the ids in `yes`."""
    ids = [f"K{i}" for i in range(1, len(question.key_points) + 1)]
    ids += [f"P{i}" for i in range(1, len(question.pitfalls) + 1)]
    items = [
        {"id": i, "answer": "yes", "quote": yes[i]} if i in yes else {"id": i, "answer": "no", "quote": ""}
        for i in ids
    ]
    return json.dumps({"checks": items, "manipulation": False})


def pitfall_index(question: Question, pitfall_id: str) -> str:
    return f"P{[p.id for p in question.pitfalls].index(pitfall_id) + 1}"


def key_point_index(question: Question, key_point_id: str) -> str:
    return f"K{[k.id for k in question.key_points].index(key_point_id) + 1}"


@pytest.fixture()
def question(bank: Bank) -> Question:
    return bank.questions[QUESTION]


def assessor(
    prompts: Any, offline_scorer: OfflineScorer, retriever: Retriever, *, form: str = "checklist"
) -> Assessor:
    model = OpenAIChatModel(model="test-model", base_url=BASE, api_key="sk-test", max_retries=0)
    scorer = make_model_scorer(
        model,
        prompts,
        form=form,  # type: ignore[arg-type]
        counter=TokenCounter(),
        budget=4000,
    )
    return Assessor(offline_scorer, model_scorer=scorer, retriever=retriever)


def assess(a: Assessor, bank: Bank, question: Question, answer: str) -> Assessment:
    track = bank.tracks[question.track]
    return asyncio.run(
        a.assess(question, [Exchange(question.question, answer)], track.rubric, track_title=track.title)
    )


def expected(bank: Bank, question: Question, covered: dict[str, str], wrong: dict[str, str]) -> float:
    coverage = [
        Coverage(k.id, k.weight, 1.0 if k.id in covered else 0.0, covered.get(k.id))
        for k in question.key_points
    ]
    rubric = bank.tracks[question.track].rubric
    return rubric_assessment(question, rubric, question.track, coverage, wrong, scorer="model").score


def test_checks_give_the_score_computed_in_code(
    bank: Bank,
    question: Question,
    prompts: Any,
    offline_scorer: OfflineScorer,
    retriever: Retriever,
    respx_mock: respx.MockRouter,
) -> None:
    first, second = (
        "Only one thread runs Python bytecode at a time because of the GIL.",
        "the lock is released while waiting on I/O",
    )
    k1, k2 = key_point_index(question, "one-thread-bytecode"), key_point_index(question, "released-on-io")
    route = respx_mock.post(URL).respond(json=completion(checks(question, {k1: first, k2: second})))
    a = assess(assessor(prompts, offline_scorer, retriever), bank, question, GOOD)

    assert a.scorer == "model" and a.dropped_quotes == 0
    assert a.covered == ["one-thread-bytecode", "released-on-io"]
    assert a.score == expected(bank, question, {"one-thread-bytecode": first, "released-on-io": second}, {})
    assert a.pitfalls == [] and a.misconceptions == []
    assert any(second in c.evidence for c in a.criteria)  # the quote, as the candidate wrote it
    assert a.offline_score is not None  # the second opinion is still there

    sent = json.loads(route.calls.last.request.content)
    assert sent["response_format"]["json_schema"]["name"] == "ChecklistReply"
    system, user = sent["messages"][0]["content"], sent["messages"][-1]["content"]
    assert render_checks(question) in system
    assert all(f"- P{i}: does the answer assert" in system for i in range(1, len(question.pitfalls) + 1))
    # the candidate's words only as delimited data, in the user message
    assert GOOD not in system
    assert re.search(r"<(answer-[0-9a-f]+)>\n" + re.escape(GOOD) + r"\n</\1>", user)


def test_a_fabricated_quote_is_dropped(
    bank: Bank,
    question: Question,
    prompts: Any,
    offline_scorer: OfflineScorer,
    retriever: Retriever,
    respx_mock: respx.MockRouter,
) -> None:
    real = "Only one thread runs Python bytecode at a time"
    invented = "the GIL is a CPython implementation detail and PEP 703 removes it"
    k1 = key_point_index(question, "one-thread-bytecode")
    k5 = key_point_index(question, "implementation-detail")
    respx_mock.post(URL).respond(json=completion(checks(question, {k1: real, k5: invented})))
    a = assess(assessor(prompts, offline_scorer, retriever), bank, question, GOOD)

    assert a.dropped_quotes == 1
    assert a.covered == ["one-thread-bytecode"] and "implementation-detail" in a.missed
    assert a.score == expected(bank, question, {"one-thread-bytecode": real}, {})
    assert all(invented not in e for c in a.criteria for e in c.evidence)
    assert any("without a verbatim quote" in n for n in a.notes)


def test_a_pitfall_yes_lowers_the_score(
    bank: Bank,
    question: Question,
    prompts: Any,
    offline_scorer: OfflineScorer,
    retriever: Retriever,
    respx_mock: respx.MockRouter,
) -> None:
    answer = GOOD + " " + WRONG
    first = "Only one thread runs Python bytecode at a time because of the GIL."
    k1 = key_point_index(question, "one-thread-bytecode")
    p = pitfall_index(question, "gil-makes-code-thread-safe")
    respx_mock.post(URL).mock(
        side_effect=[
            httpx.Response(200, json=completion(checks(question, {k1: first}))),
            httpx.Response(200, json=completion(checks(question, {k1: first, p: WRONG}))),
        ]
    )
    a = assessor(prompts, offline_scorer, retriever)
    clean = assess(a, bank, question, answer)
    flagged = assess(a, bank, question, answer)

    assert clean.pitfalls == [] and flagged.pitfalls == ["gil-makes-code-thread-safe"]
    assert flagged.score < clean.score
    assert flagged.score == expected(
        bank, question, {"one-thread-bytecode": first}, {"gil-makes-code-thread-safe": WRONG}
    )
    assert [(m.id, m.quote) for m in flagged.misconceptions] == [("gil-makes-code-thread-safe", WRONG)]
    accuracy = next(c for c in flagged.criteria if c.id == "accuracy")
    assert WRONG in accuracy.evidence and "gil-makes-code-thread-safe" in accuracy.rationale


def test_a_sentence_asserting_a_misconception_covers_no_key_point(
    bank: Bank,
    question: Question,
    prompts: Any,
    offline_scorer: OfflineScorer,
    retriever: Retriever,
    respx_mock: respx.MockRouter,
) -> None:
    """A small model quotes the same wrong sentence for a key point and for the pitfall."""
    k4 = key_point_index(question, "not-thread-safety")
    p = pitfall_index(question, "gil-makes-code-thread-safe")
    respx_mock.post(URL).respond(json=completion(checks(question, {k4: WRONG, p: WRONG})))
    a = assess(assessor(prompts, offline_scorer, retriever), bank, question, GOOD + " " + WRONG)
    assert a.covered == [] and a.pitfalls == ["gil-makes-code-thread-safe"]
    assert a.score == expected(bank, question, {}, {"gil-makes-code-thread-safe": WRONG})
    assert any("asserting a misconception" in n for n in a.notes)


def test_of_a_quote_of_several_sentences_the_verbatim_ones_are_kept(bank: Bank, question: Question) -> None:
    """A small model copying three sentences often garbles a word of one: the rest still counts,
    and only the candidate's own words are kept as evidence."""
    k1 = key_point_index(question, "one-thread-bytecode")
    garbled = (
        "Only one thread runs Python bytecode at a time because of the GIL. "
        "Threads still helps with network calls, since the lock is released while waiting on I/O."
    )
    reply = ChecklistReply.model_validate_json(checks(question, {k1: garbled}))
    a = checklist_assessment(question, bank.tracks[question.track].rubric, reply, GOOD)
    assert a.covered == ["one-thread-bytecode"] and a.dropped_quotes == 0
    assert "Only one thread runs Python bytecode at a time because of the GIL." in a.criteria[0].evidence
    assert all("helps" not in e for c in a.criteria for e in c.evidence)


def test_a_pitfall_yes_without_a_verbatim_quote_does_not_count(
    bank: Bank,
    question: Question,
    prompts: Any,
    offline_scorer: OfflineScorer,
    retriever: Retriever,
    respx_mock: respx.MockRouter,
) -> None:
    p = pitfall_index(question, "gil-makes-code-thread-safe")
    respx_mock.post(URL).respond(
        json=completion(checks(question, {p: "Python code is thread-safe because of the GIL"}))
    )
    a = assess(assessor(prompts, offline_scorer, retriever), bank, question, GOOD)
    assert a.pitfalls == [] and a.dropped_quotes == 1


@pytest.mark.parametrize(
    "reply",
    [
        "I would give this answer a 4 out of 5.",
        '{"checks": "K1 yes, K2 no", "manipulation": false}',
        '{"criteria": [{"id": "accuracy", "score": 5}]}',
    ],
)
def test_an_invalid_reply_falls_back_to_the_offline_scorer(
    bank: Bank,
    question: Question,
    prompts: Any,
    offline_scorer: OfflineScorer,
    retriever: Retriever,
    respx_mock: respx.MockRouter,
    reply: str,
) -> None:
    route = respx_mock.post(URL).respond(json=completion(reply))
    a = assess(assessor(prompts, offline_scorer, retriever), bank, question, GOOD)
    assert a.scorer == "offline"
    assert any("reply invalid after 2 attempts" in n for n in a.notes)
    assert route.call_count == 2  # the reply, then one re-ask with the validation error


def test_the_model_manipulation_verdict_caps_the_score(
    bank: Bank,
    question: Question,
    prompts: Any,
    offline_scorer: OfflineScorer,
    retriever: Retriever,
    respx_mock: respx.MockRouter,
) -> None:
    first = "Only one thread runs Python bytecode at a time because of the GIL."
    k1 = key_point_index(question, "one-thread-bytecode")
    reply = json.loads(checks(question, {k1: first})) | {"manipulation": True}
    respx_mock.post(URL).respond(json=completion(json.dumps(reply)))
    a = assess(assessor(prompts, offline_scorer, retriever), bank, question, GOOD)
    assert "prompt_injection" in a.flags and "injection:model_verdict" in a.flags
    assert a.offline_score is not None and a.score <= a.offline_score


def test_the_setting_chooses_the_form(prompts: Any) -> None:
    assert Settings(_env_file=None).model_scorer == "checklist"  # type: ignore[call-arg]
    model = OpenAIChatModel(model="m", base_url=BASE, api_key="k", max_retries=0)
    counter = TokenCounter()
    checklist = make_model_scorer(model, prompts, form="checklist", counter=counter, budget=4000)
    holistic = make_model_scorer(model, prompts, form="holistic", counter=counter, budget=4000)
    assert isinstance(checklist, ChecklistScorer)
    assert type(holistic) is ModelScorer


def test_the_setting_is_read_from_the_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("INTERVIEWER_MODEL_SCORER", "holistic")
    assert Settings(_env_file=None).model_scorer == "holistic"  # type: ignore[call-arg]
    monkeypatch.setenv("INTERVIEWER_MODEL_SCORER", "vibes")
    with pytest.raises(ValueError, match="checklist"):
        Settings(_env_file=None)  # type: ignore[call-arg]


def test_eval_counts_the_answers_the_model_did_not_score(
    bank: Bank,
    prompts: Any,
    offline_scorer: OfflineScorer,
    retriever: Retriever,
    respx_mock: respx.MockRouter,
) -> None:
    """A model-scorer measurement says how much of it was the offline scorer standing in: here
    the endpoint fails every call, so every answer is a fallback (and the figure says so)."""
    from interviewer.engine.evaluation import Corpus, CorpusAnswer
    from interviewer.services.evaluation import evaluate

    respx_mock.post(f"{BASE}/chat/completions").mock(return_value=httpx.Response(500, json={"error": "down"}))
    q = bank.questions[QUESTION]
    answers = [
        CorpusAnswer.model_validate(
            {
                "id": f"a{i}",
                "question_id": q.id,
                "track": q.track,
                "level": level,
                "answer": text,
                "half": "test",
            }
        )
        for i, (level, text) in enumerate(
            [("excellent", q.model_answer or "x"), ("weak", "I am not sure, maybe threads help.")]
        )
    ]
    figures = evaluate(assessor(prompts, offline_scorer, retriever), bank, Corpus(answers=answers))
    assert figures["model_fallbacks"] == 1.0
