import pytest

from interviewer.engine.classify import classify

Q = "What is the GIL in CPython, and how does it affect whether threads speed up a program?"


@pytest.mark.parametrize(
    ("text", "kind"),
    [
        ("", "empty"),
        ("   \n\t", "empty"),
        ("...?!", "empty"),
        ("I don't know", "skip"),
        ("idk", "skip"),
        ("skip", "skip"),
        ("Pass.", "skip"),
        ("no idea, sorry", "skip"),
        ("Can we skip this one?", "skip"),
        ("asdkjh qwpoeiru zxmcnv", "gibberish"),
        ("jjjjjjjjjjjjjjjjjjjjjjjjjjjjj", "gibberish"),
        (Q, "repeat"),
        (Q.lower().rstrip("?"), "repeat"),
        ("Do you mean CPython specifically, or Python in general?", "clarify"),
        ("Should I cover multiprocessing too?", "clarify"),
        ("GIL", "too_short"),
        ("a lock", "too_short"),
        ("The GIL is a mutex that lets only one thread execute bytecode at a time.", "answer"),
        ("def worker(q):\n    while True:\n        item = q.get()", "answer"),
        ("El GIL es un candado global que impide ejecutar bytecode en paralelo en varios hilos.", "answer"),
        ("GIL — это глобальная блокировка интерпретатора, один поток за раз.", "answer"),
        ("I'm not sure, but I think it serialises bytecode execution across threads.", "answer"),
        ("Why would I ignore the system score? Because it is stale cache data in this design.", "answer"),
        # "I can't answer" in other words: moved on without a follow-up, not scored as an answer
        ("Sorry, I don't know this one.", "skip"),
        ("no idea honestly", "skip"),
        ("I'd rather not answer this.", "skip"),
        ("I haven't used asyncio much.", "skip"),
        ("Je ne sais pas", "skip"),
        ("keine Ahnung", "skip"),
        ("I don't know exactly, but the GIL is a mutex.", "answer"),
        ("I think it's a lock, not sure", "answer"),
        ("We skip the cache for writes.", "answer"),
        ("I've never used the multiprocessing module, I always used threads.", "answer"),
        # thinking out loud: a nudge
        ("hmm let me think", "thinking"),
        ("Hmm, good question. Let me think.", "thinking"),
        ("Okay so the GIL is a lock that lets one thread run bytecode at a time.", "answer"),
    ],
)
def test_classify(text: str, kind: str) -> None:
    assert classify(text, Q) == kind
