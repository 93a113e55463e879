"""Injection guard: candidate text is data, never instructions.

Two jobs:
1. `for_model()` / `wrap()`: the copy of candidate text a model sees is NFKC-normalised, has
   zero-width, bidi and Unicode-tag characters removed, and is wrapped in a per-request random tag
   (`<answer-3f9c…>`) after any copy of that tag inside the text is stripped, so it cannot close
   its own block. The stored original is never modified.
2. `detect()`: heuristics flag manipulation attempts by category — instruction overrides, fake
   system/assistant turns, fake scores or rubrics, role play, delimiter escapes, encoded
   instructions (base64, hex, rot13, reversed text, leetspeak, look-alike letters, hidden
   characters, letters spread out), prompt/rubric extraction, authority claims. Each pattern runs
   over the text and over its decoded variants; "encoded" is said only of what a variant adds. A model-based check (the scorer's own `manipulation` verdict) is
   added where a model is configured. A flag is shown to evaluators; it never raises a score.
"""

from __future__ import annotations

import re
import secrets
import unicodedata
from dataclasses import dataclass

from interviewer.engine.decoders import SPACED, variants, variants_base
from interviewer.engine.intent import collapsed_intent, grading_intent
from interviewer.engine.text import strip_invisible

CATEGORIES = (
    "instruction_override",
    "fake_turn",
    "fake_score",
    "role_play",
    "delimiter_escape",
    "encoded",
    "extraction",
    "authority",
    "grading_intent",
)

_HIDDEN = re.compile("[\U000e0000-\U000e007f]")
_ZERO_WIDTH = re.compile("[\u200b-\u200f\u202a-\u202e\u2060-\u2064\u2066-\u2069\ufeff]")
_ZERO_WIDTH_IN_WORD = re.compile("(?<=[^\\W\\d_])[\u200b-\u200f\u2060-\u2064\ufeff]+(?=[^\\W\\d_])")
_BIDI = re.compile("[\u202a-\u202e\u2066-\u2069]")

_I = re.IGNORECASE | re.MULTILINE
_TARGETS = (
    r"(?:instructions?|rules?|rubric|guidelines?|prompts?|criteria|directions?|constraints?|"
    r"directives?|orders|system message|grading|scoring)"
)
_PROCESS_ROLE = (
    r"(?:hiring manager|recruiter|hr|human resources|developer of (?:this|the) (?:system|tool|app)|"
    r"lead evaluator|interviewer)"
)
"""Roles over this interview itself: claiming one is claiming authority."""
_TITLE = (
    r"(?:system administrator|admin(?:istrator)?|ceo|cto|vp|head of \w+|owner|creator|security team|"
    r"engineering manager)"
)
"""Job titles a senior candidate may well have held ("as the engineering manager I led the
migration"): a claim only together with this interview or a verdict in the same sentence."""
_OVER_THIS = (
    r"[^.\n]{0,60}?\b(?:this (?:interview|assessment|test|answer|evaluation|candidate|session|question|platform|"
    r"system|tool)|confirm|approv\w*|authori[sz]\w*|instruct\w*|rubric|(?:full|top|max\w*|highest|perfect) "
    r"(?:marks?|score|grade|rating))\b"
)

_ABOUT_GRADING = (
    r"[^.\n]{0,60}\b(?:scor\w*|grad\w*|marks?|pass\w*|candidate|answer|interview\w*|rubric|evaluat\w*)\b"
)
"""The rest of the sentence is about grading this interview (so a policy or a boss is invoked for it)."""

PATTERNS: dict[str, list[re.Pattern[str]]] = {
    "instruction_override": [
        re.compile(
            r"\b(?:ignore|disregard|forget|override|bypass|skip|drop)\b[^.\n]{0,40}?\b(?:previous|prior|"
            r"above|earlier|all|any|the|your|these|those|existing|original)\b[^.\n]{0,30}?\b" + _TARGETS,
            _I,
        ),
        re.compile(r"\bnew (?:instructions?|task|directive|system prompt)\s*[:\-]", _I),
        re.compile(
            r"\b(?:ignore|disregard|forget)\s+(?:everything|all of (?:that|this|the above))\s+(?:above|before|"
            r"said|you (?:were|have been) told|so far|up to (?:here|now))",
            _I,
        ),
        re.compile(
            r"\bset\b[^.\n]{0,30}\b(?:score|grade|rating|marks?)\b[^.\n]{0,15}?\bto\s+(?:the\s+)?(?:max\w*|5|10|100|"
            r"full|highest|top)\b",
            _I,
        ),
        re.compile(
            r"\b(?:don't|do not|never)\s+(?:mention|reveal|disclose|say|tell anyone)\b[^.\n]{0,25}\bthis "
            r"(?:note|message|instruction|request)",
            _I,
        ),
        re.compile(r"\b(?:highest|top|first)[- ]priority\s+(?:instruction|directive|task|rule|order)", _I),
        re.compile(
            r"\b(?:rate|score|grade|mark|evaluate|assess|treat|consider|classify|recogni[sz]e|regard|judge|"
            r"count)\b[^.\n]{0,40}?\b(?:this|my)"
            r"\b[^.\n]{0,25}?\b(?:answer|response|submission|reply)\b[^.\n]{0,40}?\b(?:excellent|perfect|"
            r"outstanding|flawless|5|five|full|maximum|max|top|highest|10|exceptional|strong hire)\b",
            _I,
        ),
        re.compile(
            r"\b(?:give|award|assign|grant)\b[^.\n]{0,25}?\b(?:me|this|my answer|the candidate)\b"
            r"[^.\n]{0,30}?"
            r"\b(?:5|five|full|maximum|max|top|highest|perfect|10|a passing)\b[^.\n]{0,15}?"
            r"\b(?:marks?|score|points?|stars?|grade|rating|/\s*5|out of)",
            _I,
        ),
        re.compile(  # "from now on, every request you make..." is not addressed to the interviewer
            r"\b(?:from now on|henceforth|for the rest of this (?:session|interview|conversation)),?\s+"
            r"(?:you|your|the (?:interviewer|grader|model|assistant|evaluator)|respond|reply|answer|act|behave|"
            r"grade|score|rate)\b",
            _I,
        ),
        re.compile(
            r"\b(?:note|message|memo|instructions?)\s+(?:to|for)\s+(?:whoever|the|any|all)\s+(?:\w+\s+)?"
            r"(?:grades?|grading|grader|evaluat\w+|review\w+|assess\w+|scor\w+|interviewer|model|ai|llm)",
            _I,
        ),
        re.compile(
            r"\b(?:stop|quit|no need to|don't bother|do not bother)\s+(?:following|applying|using|checking|"
            r"with)\b[^.\n]{0,30}?" + _TARGETS,
            _I,
        ),
        re.compile(
            r"\bmark (?:it|this|me|my answer|the [\w ]{1,20}?)\s+as\s+(?:a\s+)?(?:pass|passed|correct|"
            r"excellent|complete|perfect)\b",
            _I,
        ),
        re.compile(
            r"\btreat\b[^.\n]{0,40}\bas (?:fully |completely |entirely |100% )?(?:correct|excellent|"
            r"perfect|right|complete)\b",
            _I,
        ),
        re.compile(
            r"\byou (?:should|must|need to|are to|will) (?:not|no longer|stop)\b[^.\n]{0,40}\b(?:compare|"
            r"look for|ask|check|follow|apply|use|grade|score|penali[sz]e|deduct)",
            _I,
        ),
        re.compile(
            r"\b(?:guidelines|instructions|rubric|prompt|rules|criteria)\b[^.\n]{0,15}"
            r"\b(?:you were|you've been|"
            r"you have been) (?:given|configured|told|provided|set up)",
            _I,
        ),
        re.compile(
            r"\b(?:respond|reply|answer|return|output|record|award|give|assign|grant)\s+(?:with\s+)?(?:full|"
            r"max\w*|top|perfect|"
            r"a passing|the highest)\s+(?:marks?|scores?|grades?|points)",
            _I,
        ),
        re.compile(
            r"\b(?:normal|usual|standard|regular) (?:rules|process|grading|criteria) (?:don't|do not|"
            r"doesn't|does not|no longer) apply",
            _I,
        ),
        # other languages: "ignore (the previous) instructions"
        re.compile(
            r"\b(?:ignor(?:a|e|ez|iere|ieren|ar|em)|vergiss|vergessen sie|oublie|oubliez|olvida|"
            r"esquece|esqueça|dimentica)\b.{0,40}\b(?:instrucciones|instruções|instructions|"
            r"anweisungen|istruzioni|regras|reglas|consignes|vorgaben|rubrica|rúbrica)\b",
            _I,
        ),
        re.compile(
            r"(?:игнорируй|игнорируйте|забудь|забудьте)[^.\n]{0,40}(?:инструкции|правила|указания)", _I
        ),
        re.compile(r"(?:忽略|无视|忽视)[^。\n]{0,20}(?:指令|指示|说明|规则|评分)"),
        re.compile(
            r"\b(?:gib|geben sie|dale|dé|donne|dê|dai|bewerte\w*|califica\w*|note|évalue\w*|"
            r"attribue\w*|avalie|valuta)\b[^.\n]{0,40}(?:5|fünf|cinco|cinq|cinque|"
            r"volle punktzahl|höchstnote|bestnote|puntuación máxima|note maximale|meilleure note|nota máxima)",
            _I,
        ),
        re.compile(r"(?:поставь|поставьте|дай|дайте)[^.\n]{0,40}(?:5|пять|максимальн|высш)", _I),
        re.compile(r"(?:给|打)[^。\n]{0,15}(?:满分|5分|五分|最高分)"),
    ],
    "fake_turn": [
        re.compile(
            r"<!--[^>]{0,40}?\b(?:system|assistant|developer|grader|evaluator|scor\w*|grade|ai)\b", _I
        ),
        re.compile(r"^\s*[#*\[\(<]*\s*(?:system|assistant|developer|ai|grader|evaluator)\s*[\]\)>]*\s*:", _I),
        re.compile(
            r"<\|(?:im_start|im_end|system|assistant|user|endoftext)\|>|\[/?INST\]|<</?SYS>>|"
            r"\[/?SYSTEM\]|^#{2,}\s*(?:system|assistant|instruction|response)\b",
            _I,
        ),
        re.compile(r"\"role\"\s*:\s*\"(?:system|assistant|developer)\"", _I),
        re.compile(r"\b(?:SYSTEM|ASSISTANT|DEVELOPER|ADMIN)(?:\s+[A-Z]{3,})?\s*[:(]"),
        re.compile(r"^\s*(?:human|user)\s*:.*\n(?:.*\n){0,6}?\s*(?:assistant|ai)\s*:", _I),
    ],
    "fake_score": [
        re.compile(
            r"\b(?:score|grade|rating|mark|verdict|result)\s*[:=]\s*\"?(?:5(?:\.0)?|10|100|a\+?|pass|"
            r"excellent|strong hire)\b",
            _I,
        ),
        re.compile(r"\"(?:score|grade|rating|overall)\"\s*:\s*\"?(?:5|10|100)", _I),
        re.compile(  # the rubric's own criteria given a top score
            r"\b(?:accuracy|depth|trade[_\- ]?offs|communication|overall)\s*[:=]\s*[\"']?(?:5|10|100)\b", _I
        ),
        re.compile(
            r"\b(?:correct|expected|right|required|only (?:valid|acceptable))\s+(?:output|score|grade|rating|"
            r"verdict)\s+(?:is|=|:|would be)\s*[\"']?(?:5|10|100|full|max\w*|excellent|pass)",
            _I,
        ),
        re.compile(r"\b(?:5\s*/\s*5|10\s*/\s*10|100\s*/\s*100|5 out of 5|five out of five)\b", _I),
        re.compile(  # a label ("Evaluator note:"), or an earlier grader's; "the reviewer's comment on my PR" is not
            r"\b(?:evaluator|grader|reviewer|assessor|examiner|interviewer|scorer)(?:['\u2019]s)?\s+"
            r"(?:note|comment|assessment|verdict|feedback|override)s?\s*[:\-\u2014(]|\b(?:previous|prior|"
            r"earlier|first|human|senior|lead)\s+(?:evaluator|grader|reviewer|assessor|examiner|scorer)",
            _I,
        ),
        re.compile(r"\brubric\s+(?:update|override|change|amendment|v\d)", _I),
        re.compile(
            r"\b(?:meets|satisfies|covers|fulfils|fulfills|hits)\s+all\s+(?:the\s+)?(?:criteria|key points|"
            r"requirements|rubric)",
            _I,
        ),
        re.compile(  # a claimed earlier verdict; "automated checks" alone is everyday CI vocabulary
            r"\b(?:pre-?check|pre-?screen(?:ing)?|automated (?:check|grading|review)|previous grader|prior grader|"
            r"grading)(?:['\u2019]s)?\s+(?:results?|assessment|verdict|score|grade|rating|outcome)\b",
            _I,
        ),
        re.compile(
            r"\b(?:output|give|assign|record|set|return)\s+(?:a\s+)?(?:score|grade|rating)\s+(?:of\s+)?"
            r"(?:5|10|100|full|max)",
            _I,
        ),
    ],
    "role_play": [
        re.compile(  # "imagine you are on call at 3am" is an explanation, not a role
            r"\b(?:pretend|imagine|suppose)\b[^.\n]{0,20}\byou(?:'re| are| were)\s+(?:now\s+|just\s+|really\s+)?"
            r"(?:a|an|the|my|not|no longer)\b[^.\n]{0,40}?\b(?:interviewer|grader|evaluator|assessor|examiner|"
            r"assistant|ai|model|bot|chatbot|friend|mentor|teacher|judge|reviewer|recruiter|manager|human|"
            r"persona|character|version)s?\b",
            _I,
        ),
        re.compile(r"\bpretend (?:to be|that you(?:'re| are))\b", _I),
        re.compile(  # a new role or freedom for the interviewer; not "you are no longer bound by the GIL"
            r"\byou\b[^.\n]{0,15}\b(?:are now|will now|must now|shall now|now act|act as|play the role|"
            r"take on the role|are no longer)\b(?:\s+(?:be|act(?: as)?|a|an|the|my|called|named))?\s+(?:\w+\s+){0,2}?"
            r"(?:interviewer|grader|evaluator|examiner|assessor|assistant|ai|model|bot|persona|character|(?-i:[A-Z]{3,})|"
            r"free|allowed|unrestricted|unfiltered|required|obliged|bound by (?:any|your|the) (?:rules|instructions|"
            r"rubric|guidelines)|following|grading|scoring|going to (?:grade|score|rate|give))\b",
            _I,
        ),
        re.compile(
            r"\b(?:respond|answer|reply|act|behave|speak)\s+as\s+[\"'\u201c]?[A-Z][\w-]+[\"'\u201d]?,?\s+"
            r"(?:a|an|the|who|which)\b"
        ),
        re.compile(r"\b(?:a persona|the persona|you play|you will play|you'll play)\b", _I),
        re.compile(
            r"\b(?:let'?s play (?:a|the|an)\s+(?:\w+\s+)?(?:game|role|character)|role[- ]?play|stay in "
            r"character|in character as|jailbreak(?:en|ed)? mode|(?:you are|you're) (?:now )?jailbroken|"
            r"do anything now|developer mode)",
            _I,
        ),
        re.compile(r"\bDAN\b"),
        re.compile(
            r"\b(?:act|behave|respond)\s+(?:as|like)\s+(?:a|an|my)\s+(?:\w+\s+){0,2}(?:interviewer|grader|"
            r"evaluator|examiner|friend|mentor|assistant)\b",
            _I,
        ),
    ],
    "delimiter_escape": [
        re.compile(
            r"</\s*(?:answer[\w-]*|candidate[_ -]?\w*|user[_ -]?\w*|data|input|response|untrusted\w*|"
            r"transcript|context|document)\s*>",
            _I,
        ),
        re.compile(r"<\s*/?\s*(?:system|instructions?|grader[_ -]?\w*|evaluation|admin|prompt)\s*>", _I),
        re.compile(
            r"(?:-{3,}|={3,}|\*{3,}|#{3,})\s*end\s+of\s+(?:the\s+)?(?:answer|input|data|response|"
            r"transcript|user|candidate|untrusted)",
            _I,
        ),
        re.compile(r"\]\]>|<!\[CDATA\[", _I),
        re.compile(
            r"\bend of (?:the )?(?:candidate(?:'s)?|user|untrusted|student)(?:'s)? (?:input|answer|data|text|"
            r"response|message)\b",
            _I,
        ),
        re.compile(r"\"\s*\}\s*[,\]]?\s*\{?\s*\"(?:role|instruction|system|score)\"", _I),
    ],
    "extraction": [
        re.compile(
            r"\b(?:reveal|show|print|repeat|output|tell|give|share|list|display|dump|leak|paste|copy|"
            r"provide|disclose|recite|reply with|respond (?:only )?with|answer with|translate|summari[sz]e|"
            r"paraphrase|what (?:is|are|were))\b[^.\n]{0,40}?\b(?:system prompt|your (?:instructions|"
            r"prompt|rubric|guidelines|rules|configuration)|the (?:rubric|scoring guide|grading "
            r"criteria)|hidden (?:criteria|rubric|key points|instructions)|"
            # "key points" alone is everyday talk ("let me list the key points of my design")
            r"(?:your|exact|expected|required|grading|scoring|missing|missed) key points|key points "
            r"(?:you(?:'re| are)? (?:looking|expect|want)|for (?:this|the) (?:question|answer))|model answer|"
            r"reference answer|your expected answer|expected answer (?:for|to) (?:this|the) question|ideal answer|"
            r"pass(?:ing)? threshold|initial prompt)",
            _I,
        ),
        re.compile(
            r"\b(?:repeat|print|output)\b[^.\n]{0,30}\b(?:everything|all|the text)\b[^.\n]{0,20}\b(?:above|"
            r"before|preceding|so far)\b(?!\s+(?:the|a|an|\d)\b)",  # not "above the WARNING level"
            _I,
        ),
        re.compile(r"\bstarting (?:from|with) ['\"]you are", _I),
        re.compile(
            r"\b(?:system prompt|your (?:instructions|prompt|rubric|notes)|the (?:rubric|scoring guide|model "
            r"answer|reference answer|key points))\b[^.\n]{0,30}\b(?:verbatim|word[- ]for[- ]word)",
            _I,
        ),
        re.compile(
            r"\b(?:word[- ]for[- ]word|verbatim)\b[^.\n]{0,60}\b(?:notes|instructions|prompt|rubric|"
            r"key points|criteria|weights)",
            _I,
        ),
    ],
    "authority": [
        re.compile(r"\b(?:i am|i'm|this is|speaking as)\s+(?:the|your|a|an)?\s*" + _PROCESS_ROLE + r"\b", _I),
        re.compile(  # "as the hiring manager(,) I ..."; not "as an admin you can override a flag"
            r"\bas\s+(?:the|your)\s+" + _PROCESS_ROLE + r"\b(?:,?\s+(?:reviewing|approving|overseeing|"
            r"responsible|in charge|for this)|[^.\n]{0,50}?\bI(?:'m|'ve| am| can| have| confirm| approve)?\b)",
            _I,
        ),
        re.compile(
            r"\b(?:i am|i'm|this is|speaking as|as)\s+(?:the|your|a|an)?\s*" + _TITLE + _OVER_THIS, _I
        ),
        re.compile(
            r"\b(?:approved|authori[sz]ed|sanctioned|signed off)\b[^.\n]{0,50}\b(?:full marks|max(?:imum)? "
            r"(?:score|grade|marks)|pass|5/5|top (?:score|grade|marks)|highest (?:score|grade)|override|exception|"
            r"skip (?:your|the) (?:checks|rubric|criteria))",
            _I,
        ),
        re.compile(  # one handed over, not "the admin token is stored in Vault"
            r"\b(?:admin|override|bypass)\s+(?:code|token|key|password)\s*(?:[:=]|is\s*[:=\"'`])", _I
        ),
        re.compile(r"\b(?:admin|administrator|manual|supervisor|root)\s+override\b", _I),
        re.compile(
            r"\b(?:message|memo|note|notice|instructions?)\s+from\s+(?:the\s+)?(?:hr|human resources|"
            r"hiring manager|management|admin\w*|recruit\w+|the company|the employer)\b",
            _I,
        ),
        re.compile(
            r"\b(?:company|hiring|internal) policy (?:requires|says|mandates|states)" + _ABOUT_GRADING,
            _I,
        ),
        re.compile(
            r"\b(?:developers?|creators?|authors?|maintainers?|engineers?|builders?|owners?) "
            r"(?:of|behind|who "
            r"built|who wrote) (?:this|the) (?:interview|system|tool|app|platform|bot|interviewer|scor\w+)",
            _I,
        ),
        re.compile(
            r"\b(?:on behalf of|per|by order of)\s+(?:the\s+)?(?:hiring manager|hr|cto|ceo|"
            r"management|security team)" + _ABOUT_GRADING,
            _I,
        ),
    ],
}


@dataclass(frozen=True)
class Finding:
    category: str
    excerpt: str
    via: str = "text"  # text | base64 | hex | rot13 | reversed | leet | hidden


def new_tag() -> str:
    return f"answer-{secrets.token_hex(6)}"


def for_model(text: str, tag: str | None = None) -> str:
    """The model's copy of candidate text: NFKC, invisible characters removed, tag copies stripped."""
    clean = unicodedata.normalize("NFKC", strip_invisible(text))
    if tag:
        clean = re.sub(re.escape(tag), "", clean, flags=re.IGNORECASE)
    return clean


def wrap(text: str, tag: str) -> str:
    return f"<{tag}>\n{for_model(text, tag)}\n</{tag}>"


def detect(text: str) -> list[Finding]:
    """Manipulation attempts in `text`, at most one finding per category."""
    findings: dict[str, Finding] = {}
    # invisible characters inside words split them to dodge patterns; between emoji (a family
    # emoji's zero-width joiners) or as a lone bidi mark they are ordinary text
    if _HIDDEN.search(text) or len(_ZERO_WIDTH_IN_WORD.findall(text)) >= 2 or len(_BIDI.findall(text)) >= 3:
        findings["encoded"] = Finding("encoded", "hidden characters", "hidden")
    plain = ""
    for via, variant in variants(text):
        if via == "text":
            plain = variant.lower()
        wanted = None if via != "text" and "grading_intent" in findings else grading_intent(variant)
        if wanted is None and via == "spaced":
            blobs = [m.group(0) for m in SPACED.finditer(variants_base(text))]
            wanted = next((b for b in blobs if collapsed_intent(b)), None)
        if wanted is not None and (via == "text" or wanted.lower() not in plain):
            findings.setdefault("grading_intent", Finding("grading_intent", wanted, via))
            if via != "text":
                findings.setdefault("encoded", Finding("encoded", wanted, via))
        for category, patterns in PATTERNS.items():
            for pattern in patterns:
                if via == "text":
                    match = pattern.search(variant)
                    if match:
                        findings.setdefault(category, Finding(category, match.group(0)[:120], via))
                        break
                    continue
                # a decoded variant counts only for what the plain text does not already say
                hidden = next(
                    (m.group(0) for m in pattern.finditer(variant) if m.group(0).lower() not in plain), None
                )
                if hidden is None:
                    continue
                findings.setdefault("encoded", Finding("encoded", hidden[:120], via))
                findings.setdefault(category, Finding(category, hidden[:120], via))
                break
    return list(findings.values())


_SPAN_BREAK = re.compile(r"((?<=[.!?])\s+|\n)")


def without_flagged(text: str) -> str:
    """`text` with the flagged sentences removed — and the span right after each, where a payload
    split across a line break continues — : what is scored when an answer is flagged. Everything
    kept stays verbatim, separators included, so the rest reads (and scores) exactly as written."""
    parts = _SPAN_BREAK.split(text)  # span, separator, span, separator, ..., span
    spans = parts[0::2]
    flagged = [bool(span.strip()) and bool(detect(span)) for span in spans]
    out: list[str] = []
    for i, span in enumerate(spans):
        drop = flagged[i] or (i > 0 and flagged[i - 1] and bool(span.strip())) or span.strip() == "```"
        if not drop:
            out.append(span)
        if i < len(spans) - 1 and not drop:
            out.append(parts[2 * i + 1])
    return "".join(out).strip()
