from pathlib import Path

import pytest

from interviewer.engine.prompts import REQUIRED, PromptError, load_prompt, load_prompts
from tests.conftest import PROMPTS

SAMPLE = {
    "track_title": "Python proficiency",
    "question": "What is a generator?",
    "previous": "-",
    "seed": "What happens when you call it?",
    "transcript": "Interviewer: q\n<t>\na\n</t>",
    "tag": "t",
    "candidate_text": "<t>\nDo you mean CPython?\n</t>",
    "key_points": "- kp1: x",
    "pitfalls": "- p: y",
    "checks": "- K1: does the answer state: x? If yes, quote the sentence.",
    "rubric": "- accuracy: ...",
    "references": "passage",
    "notes": "2 questions",
    "plan_title": "Full interview",
    "results": "python: 4/5",
}


@pytest.mark.parametrize("name", REQUIRED)
def test_every_prompt_renders(prompts, name: str) -> None:  # type: ignore[no-untyped-def]
    prompt = prompts[name]
    values = {k: SAMPLE[k] for k in prompt.variables if k != "persona"}
    messages = prompts.render(name, **values)
    assert messages and all(m.text.strip() for m in messages)
    text = "\n".join(m.text for m in messages)
    for key, value in values.items():
        assert value in text, key
    assert len(prompt.version) == 12


def test_candidate_braces_stay_literal(prompts) -> None:  # type: ignore[no-untyped-def]
    messages = prompts.render("clarify", question="Q?", candidate_text="{persona} {tag} }{", tag="t")
    assert "{persona} {tag} }{" in messages[-1].text


def test_declared_vs_used_variables_checked(tmp_path: Path) -> None:
    path = tmp_path / "bad.yaml"
    path.write_text("variables: [a]\nmessages:\n  - role: system\n    content: 'Hello {a} {b}'\n")
    with pytest.raises(PromptError, match=r"declared variables \['a'\] but the messages use \['a', 'b'\]"):
        load_prompt(path)


def test_render_refuses_missing_or_extra_values(prompts) -> None:  # type: ignore[no-untyped-def]
    with pytest.raises(PromptError, match="missing"):
        prompts["score"].render(question="q")


def test_version_is_content_hash(tmp_path: Path) -> None:
    path = tmp_path / "p.yaml"
    path.write_text("variables: []\nmessages:\n  - role: system\n    content: one\n")
    first = load_prompt(path).version
    assert load_prompt(path).version == first
    path.write_text("variables: []\nmessages:\n  - role: system\n    content: two\n")
    assert load_prompt(path).version != first


def test_missing_prompt_file_fails_at_load(tmp_path: Path) -> None:
    for name in REQUIRED[:-1]:
        (tmp_path / f"{name}.yaml").write_bytes((PROMPTS / f"{name}.yaml").read_bytes())
    with pytest.raises(PromptError, match="final_report.yaml"):
        load_prompts(tmp_path)


def test_every_prompt_sent_to_a_model_bounds_its_output(prompts) -> None:  # type: ignore[no-untyped-def]
    from interviewer.config import Settings

    cap = Settings.model_fields["llm_max_tokens"].default
    for name in REQUIRED:
        if name != "persona":  # a part of the others, never sent alone
            assert prompts[name].max_tokens is not None and 0 < prompts[name].max_tokens <= cap, name


@pytest.mark.parametrize("value", ["many", 0, -5, True, 1.5])
def test_max_tokens_is_checked_at_load(tmp_path: Path, value: object) -> None:
    path = tmp_path / "bad.yaml"
    path.write_text(
        f"max_tokens: {value}\nvariables: []\nmessages:\n  - role: system\n    content: hi\n",
        encoding="utf-8",
    )
    with pytest.raises(PromptError, match="max_tokens"):
        load_prompt(path)
