"""Assemble the judgement corpus from the writers' and labellers' raw files (see README.md).

    python tests/data/judgement/assemble.py RAW_DIR

RAW_DIR holds writer-*.jsonl (answers at levels), labels-*.jsonl (coverage and misconception labels
by separate labellers), attacks.jsonl, honest.jsonl and styles.jsonl. Every item gets the half of
its question from split.json, which was fixed before any answer was written.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

HERE = Path(__file__).parent
TRACKS = {"arch": "architecture", "py": "python", "ps": "problem_solving"}
LEVELS = {
    "excellent",
    "short_excellent",
    "terse_correct",
    "adequate",
    "adequate_one_misconception",
    "weak",
    "confidently_wrong",
    "long_wrong",
}


def _read(path: Path) -> list[dict[str, object]]:
    return [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines() if line.strip()]


def _write(name: str, rows: list[dict[str, object]]) -> None:
    with (HERE / name).open("w", encoding="utf-8") as f:
        for row in rows:
            f.write(json.dumps(row, ensure_ascii=False) + "\n")
    print(f"{name}: {len(rows)}")


def main(raw: Path) -> None:
    split = json.loads((HERE / "split.json").read_text(encoding="utf-8"))["split"]
    # labellers saw opaque answer ids (the writers' ids name the level): idmap.json maps them back
    idmap = (
        json.loads((raw / "idmap.json").read_text(encoding="utf-8")) if (raw / "idmap.json").exists() else {}
    )
    labels: dict[str, dict[str, object]] = {}
    for path in sorted(raw.glob("labels-*.jsonl")):
        for row in _read(path):
            labels[idmap.get(str(row["id"]), str(row["id"]))] = row
    answers = []
    for path in sorted(raw.glob("writer-*.jsonl")):
        for row in _read(path):
            qid = str(row["question_id"])
            if row["level"] not in LEVELS or qid not in split:
                print(f"skipped {row['id']}: unknown level or question", file=sys.stderr)
                continue
            label = labels.get(str(row["id"]), {})
            answers.append(
                {
                    "id": row["id"],
                    "question_id": qid,
                    "track": TRACKS[qid.split("-")[0]],
                    "level": row["level"],
                    "voice": row.get("voice", ""),
                    "answer": row["answer"],
                    "half": split[qid],
                    "writer_misconceptions": row.get("stated_misconceptions", []),
                    "covered": label.get("covered"),
                    "misconceptions": label.get("misconceptions"),
                    "other_wrong_claims": label.get("other_wrong_claims", []),
                }
            )
    _write("answers.jsonl", sorted(answers, key=lambda r: str(r["id"])))
    for name in ("attacks", "honest"):
        # the first set, then later sets (`attacks-3.jsonl`: a third writer, tuning-half questions only)
        paths = [raw / f"{name}.jsonl", *sorted(raw.glob(f"{name}-*.jsonl"))]
        rows = [
            r | {"half": split[str(r["question_id"])]}
            for path in paths
            if path.exists()
            for r in _read(path)
            if r["question_id"] in split
        ]
        if rows:
            _write(f"{name}.jsonl", rows)
    if (raw / "styles.jsonl").exists():
        _write("styles.jsonl", _read(raw / "styles.jsonl"))


if __name__ == "__main__":
    main(Path(sys.argv[1]))
