"""A small, valid knowledge folder written from Python, for tests that edit, break or re-ingest
a bank without touching the shipped one."""

from __future__ import annotations

import copy
from pathlib import Path
from typing import Any

import yaml

TOPICS = {
    "architecture": ["caching", "queues", "rate-limiting", "observability"],
    "python": ["generators", "decorators", "identity", "typing"],
    "problem_solving": ["testing", "profiling", "complexity", "heaps"],
}

ARTICLE = """# Caching and generators

A small article for tests.

## Cache-aside

With cache-aside the application reads the cache first and falls back to the database on a miss,
then stores the value with a time to live.

## Generators

A generator function returns an iterator that computes values lazily, one per next() call.
"""


def question(track: str, topic: str, n: int, difficulty: int = 2) -> dict[str, Any]:
    return {
        "id": f"{track.replace('_', '-')}-{topic}-{n}",
        "track": track,
        "topic": topic,
        "difficulty": difficulty,
        "question": f"Explain {topic.replace('-', ' ')} and how you have used it in production.",
        "key_points": [
            {"id": f"kp{i}", "text": f"Point {i} about {topic}: a precise statement.", "weight": w}
            for i, w in enumerate([3, 2, 2, 1], start=1)
        ],
        "follow_ups": [
            {"key_point": f"kp{i}", "text": f"What happens in case {i} with {topic}?"} for i in range(1, 5)
        ],
        "pitfalls": [{"id": "wrong", "claim": f"{topic} is always free.", "why": "It is not."}],
        "model_answer": f"A model answer about {topic} covering all points.",
        "references": ["caching-and-generators"],
    }


def track(track_id: str) -> dict[str, Any]:
    return {
        "kind": "track",
        "id": track_id,
        "title": f"The {track_id} track",
        "questions": 3,
        "follow_up_budget": 1,
        "rubric": [
            {
                "id": "accuracy",
                "title": "Accuracy",
                "weight": 0.6,
                "levels": {i: f"level {i}" for i in range(1, 6)},
            },
            {
                "id": "depth",
                "title": "Depth",
                "weight": 0.4,
                "levels": {i: f"level {i}" for i in range(1, 6)},
            },
        ],
    }


def write_yaml(path: Path, data: Any) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(yaml.safe_dump(data, sort_keys=False), encoding="utf-8")
    return path


def write_mini_bank(root: Path) -> Path:
    (root / "articles").mkdir(parents=True, exist_ok=True)
    (root / "articles" / "caching-and-generators.md").write_text(ARTICLE, encoding="utf-8")
    for track_id, topics in TOPICS.items():
        for n, topic in enumerate(topics, start=1):
            q = question(track_id, topic, n)
            write_yaml(root / "questions" / track_id / f"{q['id']}.yaml", q)
        write_yaml(root / "tracks" / f"{track_id}.yaml", track(track_id))
    write_yaml(
        root / "tracks" / "full.yaml",
        {
            "kind": "plan",
            "id": "full",
            "title": "Everything",
            "tracks": list(TOPICS),
            "mode": "practice",
        },
    )
    return root


def edit(path: Path, **changes: Any) -> None:
    data = yaml.safe_load(path.read_text(encoding="utf-8"))
    data = copy.deepcopy(data)
    for key, value in changes.items():
        if value is DELETE:
            data.pop(key, None)
        else:
            data[key] = value
    write_yaml(path, data)


DELETE = object()
