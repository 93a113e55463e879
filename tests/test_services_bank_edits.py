"""The bank edits service without HTTP: a real SQLite file, a real Chroma index (a copy of the
run's whole-bank index, so that re-indexing here touches no other test) and a bank of this
module's own (the service changes it in place). A save is a new version, re-indexed at once; a
save based on an old version, or a document that breaks the rules, saves nothing; two workers on
one database see each other's edits after a refresh; `close()` gives the files' bank back."""

from __future__ import annotations

import copy
import io
import shutil
import zipfile
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import yaml

from interviewer.bank import Bank, Retriever, VectorIndex, load_bank
from interviewer.bank.embeddings import LocalMiniLM
from interviewer.bank.index import make_chroma_client
from interviewer.config import Settings
from interviewer.errors import Conflict, Invalid, NotFound, PreconditionFailed
from interviewer.services.bank_edits import BankEdits
from interviewer.store import bank_edits as hrdb
from interviewer.store import review as review_store
from interviewer.store.db import Database
from tests.conftest import KNOWLEDGE

HR = "hr@example.com"
SHIPPED_QUESTION = "py-asyncio-blocking-cancellation"


@pytest.fixture(scope="module")
def index(
    tmp_path_factory: pytest.TempPathFactory,
    full_index: VectorIndex,
    full_data_dir: Path,
    embedder: LocalMiniLM,
) -> VectorIndex:
    target = tmp_path_factory.mktemp("bank-edits-index")
    shutil.copytree(full_data_dir / "chroma", target / "chroma")
    settings = Settings(_env_file=None, data_dir=target, knowledge_dir=KNOWLEDGE)  # type: ignore[call-arg]
    return VectorIndex(make_chroma_client(settings), embedder)


@pytest.fixture
def edits(db: Database, index: VectorIndex) -> Iterator[BankEdits]:
    service = BankEdits(bank=load_bank(KNOWLEDGE), db=db, index=index)
    service.refresh()
    yield service
    service.close()


def _question(qid: str, *, text: str = "") -> dict[str, Any]:
    doc = copy.deepcopy(load_bank(KNOWLEDGE).questions[SHIPPED_QUESTION].model_dump())
    doc.update(id=qid, topic="hr-topic", difficulty=2)
    doc["question"] = text or f"How would you design the {qid} feature of a ticket booking service?"
    return doc


def _revision(db: Database) -> tuple[int, int]:
    with db.session() as s:
        return hrdb.bank_revision(s)


def test_a_save_is_a_new_version_in_the_bank_and_the_index(
    edits: BankEdits, db: Database, index: VectorIndex
) -> None:
    text = "How would you stop two customers from booking the same concert seat at the same moment?"
    created = edits.save("question", _question("hr-seat-lock", text=text), author=HR)
    assert (created.origin, created.version, [v.version for v in created.versions]) == ("hr", 1, [1])
    assert edits.bank.questions["hr-seat-lock"].question == text
    hits = Retriever(edits.bank, index).find_questions(text, track="python", limit=3)
    assert hits[0].question.id == "hr-seat-lock"  # re-indexed before save returned

    edited = edits.save(
        "question",
        {**_question("hr-seat-lock", text=text), "difficulty": 3},
        author=HR,
        item_id="hr-seat-lock",
        based_on=1,
    )
    assert edited.version == 2 and edited.document["difficulty"] == 3
    assert [(v.version, v.author, v.deleted) for v in edits.history("question", "hr-seat-lock")] == [
        (1, HR, False),
        (2, HR, False),
    ]
    shipped = edits.save(
        "track",
        {**edits.item("track", "python").document, "questions": 4},
        author=HR,
        item_id="python",
        based_on=0,
    )
    assert shipped.origin == "hr" and [v.version for v in shipped.versions] == [0, 1]
    assert edits.bank.tracks["python"].questions == 4
    assert {c.record.id: c.version for c in edits.tracks()}["python"] == 1
    assert [c.origin for c in edits.questions(track="python") if c.record.id == "hr-seat-lock"] == ["hr"]
    with db.session() as s:
        actions = [a.action for a in review_store.audit_entries(s, subject="question:hr-seat-lock")]
    assert actions == ["bank.question.create", "bank.question.update"]


def test_a_save_based_on_an_old_version_is_refused(edits: BankEdits, db: Database) -> None:
    doc = edits.item("plan", "full").document
    assert edits.save("plan", {**doc, "title": "First"}, author=HR, item_id="full", based_on=0).version == 1
    before = _revision(db)
    with pytest.raises(PreconditionFailed, match=f"changed by {HR} since you opened it"):
        edits.save("plan", {**doc, "title": "Second"}, author="other@example.com", item_id="full", based_on=0)
    assert _revision(db) == before and edits.bank.plans["full"].title == "First"
    assert edits.save("plan", {**doc, "title": "Third"}, author=HR, item_id="full").version == 2  # last wins


def test_a_document_that_breaks_the_rules_names_its_fields(edits: BankEdits, db: Database) -> None:
    doc = _question("hr-bad")
    bad = {
        **doc,
        "difficulty": 7,
        "key_points": doc["key_points"][:2],
        "pitfals": [],
        "question": "Why \x00 here?",
    }
    with pytest.raises(Invalid) as caught:
        edits.save("question", bad, author=HR)
    problems = caught.value.problems
    assert problems is not None and all(p["type"] == "bank" for p in problems)
    fields = {p["field"]: p for p in problems}
    assert {"difficulty", "key_points", "pitfals", "question"} <= set(fields), fields
    assert fields["difficulty"]["loc"] == ["body", "difficulty"] and "control" in fields["question"]["msg"]
    with pytest.raises(Invalid) as caught:
        edits.save("question", {**doc, "follow_ups": [{"key_point": "nope", "text": "And?"}]}, author=HR)
    assert caught.value.problems is not None
    assert caught.value.problems[0]["loc"] == ["body", "follow_ups", "0", "key_point"]
    with pytest.raises(Invalid, match="exists"):
        edits.save("question", {**doc, "id": SHIPPED_QUESTION}, author=HR)
    with pytest.raises(Invalid, match="exists"):
        edits.save("track", edits.item("track", "python").document, author=HR)
    with pytest.raises(NotFound):
        edits.save("question", doc, author=HR, item_id="hr-bad")
    with pytest.raises(NotFound):
        edits.item("plan", "no-such-plan")
    assert _revision(db) == (0, 0) and "hr-bad" not in edits.bank.questions


def test_delete(edits: BankEdits) -> None:
    edits.save("question", _question("hr-gone"), author=HR)
    assert edits.delete_question("hr-gone", author=HR) == ""
    assert "hr-gone" not in edits.bank.questions and edits.origin("question", "hr-gone") == ""
    assert [v.deleted for v in edits.history("question", "hr-gone")] == [False, True]
    with pytest.raises(NotFound):
        edits.delete_question("hr-gone", author=HR)

    shipped = edits.bank.questions[SHIPPED_QUESTION].question
    doc = {**edits.item("question", SHIPPED_QUESTION).document, "question": "An HR wording of the question?"}
    edits.save("question", doc, author=HR, item_id=SHIPPED_QUESTION)
    assert edits.delete_question(SHIPPED_QUESTION, author=HR) == "seed"  # the file's version is back
    assert edits.bank.questions[SHIPPED_QUESTION].question == shipped
    item = edits.item("question", SHIPPED_QUESTION)
    assert (item.origin, item.version) == ("seed", 0)
    with pytest.raises(Conflict, match="shipped question"):
        edits.delete_question(SHIPPED_QUESTION, author=HR)


def test_import_counts_what_differs(edits: BankEdits, tmp_path: Path) -> None:
    archive = edits.export_archive(author=HR)
    unchanged = edits.import_archive(archive, author=HR)
    assert all(t["added"] == t["updated"] == 0 for t in unchanged.values())
    assert unchanged["questions"]["unchanged"] == len(edits.bank.questions)

    with zipfile.ZipFile(io.BytesIO(archive)) as z:
        z.extractall(tmp_path / "knowledge")
    (tmp_path / "knowledge" / "questions" / "python" / "hr-imported.yaml").write_text(
        yaml.safe_dump(_question("hr-imported"))
    )
    plan = tmp_path / "knowledge" / "tracks" / "plan-full.yaml"
    plan.write_text(plan.read_text().replace("title:", "title: Imported", 1))
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as z:
        for path in sorted((tmp_path / "knowledge").rglob("*")):
            if path.is_file():
                z.write(path, path.relative_to(tmp_path / "knowledge").as_posix())
    counts = edits.import_archive(buffer.getvalue(), author=HR)
    assert (counts["questions"]["added"], counts["questions"]["updated"]) == (1, 0)
    assert (counts["plans"]["updated"], counts["tracks"]["updated"]) == (1, 0)
    assert "hr-imported" in edits.bank.questions and edits.bank.plans["full"].title.startswith("Imported")

    with pytest.raises(Invalid, match="not a zip"):
        edits.import_archive(b"not a zip", author=HR)
    broken = io.BytesIO()
    with zipfile.ZipFile(broken, "w") as z:
        z.writestr("questions/python/x.yaml", yaml.safe_dump({**_question("hr-x"), "difficulty": 9}))
    with pytest.raises(Invalid) as caught:
        edits.import_archive(broken.getvalue(), author=HR)
    assert caught.value.problems and caught.value.problems[0]["file"].endswith("x.yaml")
    assert "hr-x" not in edits.bank.questions


def test_two_workers_on_one_database_follow_each_other(edits: BankEdits, db: Database) -> None:
    other = BankEdits(bank=load_bank(KNOWLEDGE), db=db, index=None)  # another process's bank
    other.refresh()
    try:
        doc = edits.item("track", "architecture").document
        edits.save(
            "track",
            {**doc, "questions": 5 if doc["questions"] != 5 else 3},
            author=HR,
            item_id="architecture",
        )
        expected = edits.bank.tracks["architecture"].questions
        assert other.bank.tracks["architecture"].questions != expected  # not yet
        assert other.refresh() and other.bank.tracks["architecture"].questions == expected
        assert not other.refresh()  # nothing new: a cheap check
        assert other.origin("track", "architecture") == "hr"

        other.save("question", _question("hr-from-the-other"), author="other@example.com")
        assert "hr-from-the-other" not in edits.bank.questions
        assert edits.refresh() and edits.origin("question", "hr-from-the-other") == "hr"

        other.save(
            "track", {**doc, "questions": 4}, author="other@example.com", item_id="architecture", based_on=1
        )
        assert edits.bank.tracks["architecture"].questions == expected  # this worker has not looked yet
        with pytest.raises(PreconditionFailed, match="changed by other@example.com"):
            edits.save("track", {**doc, "questions": 3}, author=HR, item_id="architecture", based_on=1)
        assert edits.bank.tracks["architecture"].questions == 4  # the save caught up first
    finally:
        other.close()


def test_close_gives_the_files_bank_back(db: Database, index: VectorIndex) -> None:
    bank = load_bank(KNOWLEDGE)
    first = BankEdits(bank=bank, db=db, index=index)
    first.refresh()
    first.save("question", _question("hr-kept"), author=HR)
    first.close()
    files: Bank = load_bank(KNOWLEDGE)
    assert (bank.questions, bank.tracks, bank.plans, bank.sources) == (
        files.questions,
        files.tracks,
        files.plans,
        files.sources,
    )
    again = BankEdits(bank=bank, db=db, index=index)  # an app restarted on the same bank object
    assert again.refresh() and "hr-kept" in bank.questions and again.origin("question", "hr-kept") == "hr"
    again.close()
