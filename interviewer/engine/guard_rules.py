"""The injection guard's table of known phrasings (`guard.detect` reads it).

Each `Rule` is data: the category of manipulation it reveals, a regular expression, its flags.
Keeping the table apart from the matching code means a new phrasing is one more row, reviewed as
such, and the matching code (`guard.detect`) never changes for it. The table is compiled once, on
first use (`compiled`), not at import.
"""

from __future__ import annotations

import functools
import re
from dataclasses import dataclass
from typing import Literal, get_args

Category = Literal[
    "instruction_override",
    "fake_turn",
    "fake_score",
    "role_play",
    "delimiter_escape",
    "encoded",
    "extraction",
    "authority",
    "grading_intent",
]
CATEGORIES: tuple[Category, ...] = get_args(Category)

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


@dataclass(frozen=True)
class Rule:
    """One known phrasing of a manipulation attempt: the category it reveals and a regular
    expression for it (case-insensitive and multi-line unless `flags` says otherwise)."""

    category: Category
    pattern: str
    flags: re.RegexFlag = _I


RULES: tuple[Rule, ...] = (
    Rule(
        "instruction_override",
        r"\b(?:ignore|disregard|forget|override|bypass|skip|drop)\b[^.\n]{0,40}?\b(?:previous|prior|"
        r"above|earlier|all|any|the|your|these|those|existing|original)\b[^.\n]{0,30}?\b" + _TARGETS,
    ),
    Rule("instruction_override", r"\bnew (?:instructions?|task|directive|system prompt)\s*[:\-]"),
    Rule(
        "instruction_override",
        r"\b(?:ignore|disregard|forget)\s+(?:everything|all of (?:that|this|the above))\s+(?:above|before|"
        r"said|you (?:were|have been) told|so far|up to (?:here|now))",
    ),
    Rule(
        "instruction_override",
        r"\bset\b[^.\n]{0,30}\b(?:score|grade|rating|marks?)\b[^.\n]{0,15}?\bto\s+(?:the\s+)?(?:max\w*|5|10|100|"
        r"full|highest|top)\b",
    ),
    Rule(
        "instruction_override",
        r"\b(?:don't|do not|never)\s+(?:mention|reveal|disclose|say|tell anyone)\b[^.\n]{0,25}\bthis "
        r"(?:note|message|instruction|request)",
    ),
    Rule(
        "instruction_override",
        r"\b(?:highest|top|first)[- ]priority\s+(?:instruction|directive|task|rule|order)",
    ),
    Rule(
        "instruction_override",
        r"\b(?:rate|score|grade|mark|evaluate|assess|treat|consider|classify|recogni[sz]e|regard|judge|"
        r"count)\b[^.\n]{0,40}?\b(?:this|my)"
        r"\b[^.\n]{0,25}?\b(?:answer|response|submission|reply)\b[^.\n]{0,40}?\b(?:excellent|perfect|"
        r"outstanding|flawless|5|five|full|maximum|max|top|highest|10|exceptional|strong hire)\b",
    ),
    Rule(
        "instruction_override",
        r"\b(?:give|award|assign|grant)\b[^.\n]{0,25}?\b(?:me|this|my answer|the candidate)\b"
        r"[^.\n]{0,30}?"
        r"\b(?:5|five|full|maximum|max|top|highest|perfect|10|a passing)\b[^.\n]{0,15}?"
        r"\b(?:marks?|score|points?|stars?|grade|rating|/\s*5|out of)",
    ),
    Rule(
        "instruction_override",  # "from now on, every request you make..." is not addressed to the interviewer
        r"\b(?:from now on|henceforth|for the rest of this (?:session|interview|conversation)),?\s+"
        r"(?:you|your|the (?:interviewer|grader|model|assistant|evaluator)|respond|reply|answer|act|behave|"
        r"grade|score|rate)\b",
    ),
    Rule(
        "instruction_override",
        r"\b(?:note|message|memo|instructions?)\s+(?:to|for)\s+(?:whoever|the|any|all)\s+(?:\w+\s+)?"
        r"(?:grades?|grading|grader|evaluat\w+|review\w+|assess\w+|scor\w+|interviewer|model|ai|llm)",
    ),
    Rule(
        "instruction_override",
        r"\b(?:stop|quit|no need to|don't bother|do not bother)\s+(?:following|applying|using|checking|"
        r"with)\b[^.\n]{0,30}?" + _TARGETS,
    ),
    Rule(
        "instruction_override",
        r"\bmark (?:it|this|me|my answer|the [\w ]{1,20}?)\s+as\s+(?:a\s+)?(?:pass|passed|correct|"
        r"excellent|complete|perfect)\b",
    ),
    Rule(
        "instruction_override",
        r"\btreat\b[^.\n]{0,40}\bas (?:fully |completely |entirely |100% )?(?:correct|excellent|"
        r"perfect|right|complete)\b",
    ),
    Rule(
        "instruction_override",
        r"\byou (?:should|must|need to|are to|will) (?:not|no longer|stop)\b[^.\n]{0,40}\b(?:compare|"
        r"look for|ask|check|follow|apply|use|grade|score|penali[sz]e|deduct)",
    ),
    Rule(
        "instruction_override",
        r"\b(?:guidelines|instructions|rubric|prompt|rules|criteria)\b[^.\n]{0,15}"
        r"\b(?:you were|you've been|"
        r"you have been) (?:given|configured|told|provided|set up)",
    ),
    Rule(
        "instruction_override",
        r"\b(?:respond|reply|answer|return|output|record|award|give|assign|grant)\s+(?:with\s+)?(?:full|"
        r"max\w*|top|perfect|"
        r"a passing|the highest)\s+(?:marks?|scores?|grades?|points)",
    ),
    Rule(
        "instruction_override",
        r"\b(?:normal|usual|standard|regular) (?:rules|process|grading|criteria) (?:don't|do not|"
        r"doesn't|does not|no longer) apply",
    ),
    # other languages: "ignore (the previous) instructions"
    Rule(
        "instruction_override",
        r"\b(?:ignor(?:a|e|ez|iere|ieren|ar|em)|vergiss|vergessen sie|oublie|oubliez|olvida|"
        r"esquece|esqueça|dimentica)\b.{0,40}\b(?:instrucciones|instruções|instructions|"
        r"anweisungen|istruzioni|regras|reglas|consignes|vorgaben|rubrica|rúbrica)\b",
    ),
    Rule(
        "instruction_override",
        r"(?:игнорируй|игнорируйте|забудь|забудьте)[^.\n]{0,40}(?:инструкции|правила|указания)",
    ),
    Rule(
        "instruction_override",
        r"(?:忽略|无视|忽视)[^。\n]{0,20}(?:指令|指示|说明|规则|评分)",
        flags=re.NOFLAG,
    ),
    Rule(
        "instruction_override",
        r"\b(?:gib|geben sie|dale|dé|donne|dê|dai|bewerte\w*|califica\w*|note|évalue\w*|"
        r"attribue\w*|avalie|valuta)\b[^.\n]{0,40}(?:5|fünf|cinco|cinq|cinque|"
        r"volle punktzahl|höchstnote|bestnote|puntuación máxima|note maximale|meilleure note|nota máxima)",
    ),
    Rule("instruction_override", r"(?:поставь|поставьте|дай|дайте)[^.\n]{0,40}(?:5|пять|максимальн|высш)"),
    Rule("instruction_override", r"(?:给|打)[^。\n]{0,15}(?:满分|5分|五分|最高分)", flags=re.NOFLAG),
    Rule("fake_turn", r"<!--[^>]{0,40}?\b(?:system|assistant|developer|grader|evaluator|scor\w*|grade|ai)\b"),
    Rule("fake_turn", r"^\s*[#*\[\(<]*\s*(?:system|assistant|developer|ai|grader|evaluator)\s*[\]\)>]*\s*:"),
    Rule(
        "fake_turn",
        r"<\|(?:im_start|im_end|system|assistant|user|endoftext)\|>|\[/?INST\]|<</?SYS>>|"
        r"\[/?SYSTEM\]|^#{2,}\s*(?:system|assistant|instruction|response)\b",
    ),
    Rule("fake_turn", r"\"role\"\s*:\s*\"(?:system|assistant|developer)\""),
    Rule("fake_turn", r"\b(?:SYSTEM|ASSISTANT|DEVELOPER|ADMIN)(?:\s+[A-Z]{3,})?\s*[:(]", flags=re.NOFLAG),
    Rule("fake_turn", r"^\s*(?:human|user)\s*:.*\n(?:.*\n){0,6}?\s*(?:assistant|ai)\s*:"),
    Rule(
        "fake_score",
        r"\b(?:score|grade|rating|mark|verdict|result)\s*[:=]\s*\"?(?:5(?:\.0)?|10|100|a\+?|pass|"
        r"excellent|strong hire)\b",
    ),
    Rule("fake_score", r"\"(?:score|grade|rating|overall)\"\s*:\s*\"?(?:5|10|100)"),
    Rule(
        "fake_score",  # the rubric's own criteria given a top score
        r"\b(?:accuracy|depth|trade[_\- ]?offs|communication|overall)\s*[:=]\s*[\"']?(?:5|10|100)\b",
    ),
    Rule(
        "fake_score",
        r"\b(?:correct|expected|right|required|only (?:valid|acceptable))\s+(?:output|score|grade|rating|"
        r"verdict)\s+(?:is|=|:|would be)\s*[\"']?(?:5|10|100|full|max\w*|excellent|pass)",
    ),
    Rule("fake_score", r"\b(?:5\s*/\s*5|10\s*/\s*10|100\s*/\s*100|5 out of 5|five out of five)\b"),
    Rule(
        "fake_score",  # a label ("Evaluator note:"), or an earlier grader's; "the reviewer's comment on my PR" is not
        r"\b(?:evaluator|grader|reviewer|assessor|examiner|interviewer|scorer)(?:['\u2019]s)?\s+"
        r"(?:note|comment|assessment|verdict|feedback|override)s?\s*[:\-\u2014(]|\b(?:previous|prior|"
        r"earlier|first|human|senior|lead)\s+(?:evaluator|grader|reviewer|assessor|examiner|scorer)",
    ),
    Rule("fake_score", r"\brubric\s+(?:update|override|change|amendment|v\d)"),
    Rule(
        "fake_score",
        r"\b(?:meets|satisfies|covers|fulfils|fulfills|hits)\s+all\s+(?:the\s+)?(?:criteria|key points|"
        r"requirements|rubric)",
    ),
    Rule(
        "fake_score",  # a claimed earlier verdict; "automated checks" alone is everyday CI vocabulary
        r"\b(?:pre-?check|pre-?screen(?:ing)?|automated (?:check|grading|review)|previous grader|prior grader|"
        r"grading)(?:['\u2019]s)?\s+(?:results?|assessment|verdict|score|grade|rating|outcome)\b",
    ),
    Rule(
        "fake_score",
        r"\b(?:output|give|assign|record|set|return)\s+(?:a\s+)?(?:score|grade|rating)\s+(?:of\s+)?"
        r"(?:5|10|100|full|max)",
    ),
    Rule(
        "role_play",  # "imagine you are on call at 3am" is an explanation, not a role
        r"\b(?:pretend|imagine|suppose)\b[^.\n]{0,20}\byou(?:'re| are| were)\s+(?:now\s+|just\s+|really\s+)?"
        r"(?:a|an|the|my|not|no longer)\b[^.\n]{0,40}?\b(?:interviewer|grader|evaluator|assessor|examiner|"
        r"assistant|ai|model|bot|chatbot|friend|mentor|teacher|judge|reviewer|recruiter|manager|human|"
        r"persona|character|version)s?\b",
    ),
    Rule("role_play", r"\bpretend (?:to be|that you(?:'re| are))\b"),
    Rule(
        "role_play",  # a new role or freedom for the interviewer; not "you are no longer bound by the GIL"
        r"\byou\b[^.\n]{0,15}\b(?:are now|will now|must now|shall now|now act|act as|play the role|"
        r"take on the role|are no longer)\b(?:\s+(?:be|act(?: as)?|a|an|the|my|called|named))?\s+(?:\w+\s+){0,2}?"
        r"(?:interviewer|grader|evaluator|examiner|assessor|assistant|ai|model|bot|persona|character|(?-i:[A-Z]{3,})|"
        r"free|allowed|unrestricted|unfiltered|required|obliged|bound by (?:any|your|the) (?:rules|instructions|"
        r"rubric|guidelines)|following|grading|scoring|going to (?:grade|score|rate|give))\b",
    ),
    Rule(
        "role_play",
        r"\b(?:respond|answer|reply|act|behave|speak)\s+as\s+[\"'\u201c]?[A-Z][\w-]+[\"'\u201d]?,?\s+"
        r"(?:a|an|the|who|which)\b",
        flags=re.NOFLAG,
    ),
    Rule("role_play", r"\b(?:a persona|the persona|you play|you will play|you'll play)\b"),
    Rule(
        "role_play",
        r"\b(?:let'?s play (?:a|the|an)\s+(?:\w+\s+)?(?:game|role|character)|role[- ]?play|stay in "
        r"character|in character as|jailbreak(?:en|ed)? mode|(?:you are|you're) (?:now )?jailbroken|"
        r"do anything now|developer mode)",
    ),
    Rule("role_play", r"\bDAN\b", flags=re.NOFLAG),
    Rule(
        "role_play",
        r"\b(?:act|behave|respond)\s+(?:as|like)\s+(?:a|an|my)\s+(?:\w+\s+){0,2}(?:interviewer|grader|"
        r"evaluator|examiner|friend|mentor|assistant)\b",
    ),
    Rule(
        "delimiter_escape",
        r"</\s*(?:answer[\w-]*|candidate[_ -]?\w*|user[_ -]?\w*|data|input|response|untrusted\w*|"
        r"transcript|context|document)\s*>",
    ),
    Rule(
        "delimiter_escape", r"<\s*/?\s*(?:system|instructions?|grader[_ -]?\w*|evaluation|admin|prompt)\s*>"
    ),
    Rule(
        "delimiter_escape",
        r"(?:-{3,}|={3,}|\*{3,}|#{3,})\s*end\s+of\s+(?:the\s+)?(?:answer|input|data|response|"
        r"transcript|user|candidate|untrusted)",
    ),
    Rule("delimiter_escape", r"\]\]>|<!\[CDATA\["),
    Rule(
        "delimiter_escape",
        r"\bend of (?:the )?(?:candidate(?:'s)?|user|untrusted|student)(?:'s)? (?:input|answer|data|text|"
        r"response|message)\b",
    ),
    Rule("delimiter_escape", r"\"\s*\}\s*[,\]]?\s*\{?\s*\"(?:role|instruction|system|score)\""),
    Rule(
        "extraction",
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
    ),
    Rule(
        "extraction",
        r"\b(?:repeat|print|output)\b[^.\n]{0,30}\b(?:everything|all|the text)\b[^.\n]{0,20}\b(?:above|"
        r"before|preceding|so far)\b(?!\s+(?:the|a|an|\d)\b)",
    ),
    Rule("extraction", r"\bstarting (?:from|with) ['\"]you are"),
    Rule(
        "extraction",
        r"\b(?:system prompt|your (?:instructions|prompt|rubric|notes)|the (?:rubric|scoring guide|model "
        r"answer|reference answer|key points))\b[^.\n]{0,30}\b(?:verbatim|word[- ]for[- ]word)",
    ),
    Rule(
        "extraction",
        r"\b(?:word[- ]for[- ]word|verbatim)\b[^.\n]{0,60}\b(?:notes|instructions|prompt|rubric|"
        r"key points|criteria|weights)",
    ),
    Rule("authority", r"\b(?:i am|i'm|this is|speaking as)\s+(?:the|your|a|an)?\s*" + _PROCESS_ROLE + r"\b"),
    Rule(
        "authority",  # "as the hiring manager(,) I ..."; not "as an admin you can override a flag"
        r"\bas\s+(?:the|your)\s+" + _PROCESS_ROLE + r"\b(?:,?\s+(?:reviewing|approving|overseeing|"
        r"responsible|in charge|for this)|[^.\n]{0,50}?\bI(?:'m|'ve| am| can| have| confirm| approve)?\b)",
    ),
    Rule("authority", r"\b(?:i am|i'm|this is|speaking as|as)\s+(?:the|your|a|an)?\s*" + _TITLE + _OVER_THIS),
    Rule(
        "authority",
        r"\b(?:approved|authori[sz]ed|sanctioned|signed off)\b[^.\n]{0,50}\b(?:full marks|max(?:imum)? "
        r"(?:score|grade|marks)|pass|5/5|top (?:score|grade|marks)|highest (?:score|grade)|override|exception|"
        r"skip (?:your|the) (?:checks|rubric|criteria))",
    ),
    Rule(
        "authority",  # one handed over, not "the admin token is stored in Vault"
        r"\b(?:admin|override|bypass)\s+(?:code|token|key|password)\s*(?:[:=]|is\s*[:=\"'`])",
    ),
    Rule("authority", r"\b(?:admin|administrator|manual|supervisor|root)\s+override\b"),
    Rule(
        "authority",
        r"\b(?:message|memo|note|notice|instructions?)\s+from\s+(?:the\s+)?(?:hr|human resources|"
        r"hiring manager|management|admin\w*|recruit\w+|the company|the employer)\b",
    ),
    Rule(
        "authority",
        r"\b(?:company|hiring|internal) policy (?:requires|says|mandates|states)" + _ABOUT_GRADING,
    ),
    Rule(
        "authority",
        r"\b(?:developers?|creators?|authors?|maintainers?|engineers?|builders?|owners?) "
        r"(?:of|behind|who "
        r"built|who wrote) (?:this|the) (?:interview|system|tool|app|platform|bot|interviewer|scor\w+)",
    ),
    Rule(
        "authority",
        r"\b(?:on behalf of|per|by order of)\s+(?:the\s+)?(?:hiring manager|hr|cto|ceo|"
        r"management|security team)" + _ABOUT_GRADING,
    ),
)
"""The guard's table of known phrasings, in the order they are tried: within a category, the
first rule that matches gives the excerpt shown. Beside them, `detect` reads grading intent in
general (`intent.grading_intent`), whatever the wording."""


@functools.cache
def compiled() -> tuple[tuple[Category, re.Pattern[str]], ...]:
    """`RULES` compiled, once, on the first `detect` (compiling them all costs tens of
    milliseconds that an import need not pay)."""
    return tuple((rule.category, re.compile(rule.pattern, rule.flags)) for rule in RULES)
