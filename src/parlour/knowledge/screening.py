"""Screening knowledge before it goes live (T-65): text an organisation uploads ends up in the
model's context, so a poisoned entry is a prompt injection with the organisation's authority.

Each finding names its reason. Personal data (payment card numbers and IBANs that pass their
check digits, US social security and UK national insurance numbers) has no place in knowledge
every customer can read. Hidden text (zero-width, bidirectional and Unicode tag characters,
HTML comments; markup that hides text is read in knowledge/documents.py) and secrets are
unambiguous. So are active markup (a `<script>` in Markdown is text to a model, not code that
runs) and requests for a customer's secrets (parlour.solicitation): a PIN or one-time code is
never the assistant's to ask for, and instructions to staff or the assistant to collect one, or
to send customers' data to an address or URL, are what an attacker plants.

Instructions aimed at the model are a judgement. The patterns below look for text that
addresses whoever answers rather than a customer, by class: words about "your response" or
"your code", role markers, orders to rewrite the answer's letters or words, imperatives that
tell the reader to work on customers ("remind users to…"), tasks an assistant does, and a
question or task foreign to its passage (none of its content words are the passage's: "what is
the capital of Brazil?" in a page about fees). They catch the common shapes, not every attack;
the answer engine fences retrieved text as data, and the output filter blocks what asks for
secrets whatever its source (issue 19).
"""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass

from parlour import sensitive, solicitation
from parlour.words import content_words


@dataclass(frozen=True, slots=True)
class Finding:
    reason: str  # a stable code: hidden_text, model_instruction, secret, code, personal_data
    detail: str


_HIDDEN = re.compile(
    "[\u200b-\u200f\u202a-\u202e\u2060-\u2064\u2066-\u2069\ufeff\U000e0000-\U000e007f]"
)
_HTML_COMMENT = re.compile(r"<!--.*?-->", re.DOTALL)
_ROLE_MARKER = re.compile(
    r"(<\|?/?(system|assistant|user|im_start|im_end)\|?>|^\s*(system|assistant)\s*:|\[/?INST\])",
    re.IGNORECASE | re.MULTILINE,
)
# What an assistant produces, as instructions aimed at it name it.
_OUTPUTS = (
    r"(answer|response|reply|replie|output|explanation|elucidation|summary|summarie|completion"
    r"|generation|writing|narrative|content|text(?! messages?)|essay|paragraph|sentence|word"
    r"|solution|code|codebase|implementation|program|programme|script|algorithm|logic"
    r"|function|snippet)s?"
)
_ADJECTIVES = r"(next|final|own|upcoming|subsequent|following|current|whole|entire|overall)"
_ADDRESSES_THE_MODEL = re.compile(
    r"\b("
    r"ignore (all |any |the )?(previous|prior|above|earlier) (instructions|prompts?|messages?)"
    r"|disregard (all |any |the )?(previous|prior|above|earlier)"
    r"|(your|the) (system )?prompt"
    r"|you are now\b|from now on,? you\b|act as (a|an|the)\b|pretend (to be|you are)"
    r"|as an ai\b|language model"
    rf"|\b(in|of|to|into|from|within|throughout|across) your ({_ADJECTIVES} )?{_OUTPUTS}\b"
    rf"|(modify|rearrange|rewrite|format|start|end|begin|conclude|close|finish|open|preface"
    rf"|prefix|structure|shape|adjust|alter|change|tailor) your ({_ADJECTIVES} )?{_OUTPUTS}\b"
    rf"|(your|the|each|every) ({_ADJECTIVES} )?{_OUTPUTS} (should|must|needs? to|has to)\b"
    rf"|(each|every) (answer|response|reply|output|message)\b"
    rf"|(the )?{_OUTPUTS} (that )?you (develop|write|generate|produce|create|compose|build|return)"
    r"|(respond|reply|answer) (only )?(with|in|using)\b"
    r"|(do not|don't|never) (tell|reveal|mention|show) (this |it )?(to )?the user"
    r")",
    re.IGNORECASE,
)
# Orders to disguise the answer's own letters and words: what a model obeys and no FAQ asks.
_REWRITES_THE_TEXT = re.compile(
    r"\b(anagram\w*|homophon\w*|leetspeak|l33t"
    r"|(introduce|add|include|insert|inject|sprinkle|use|make|put|scatter)\b[^.!?\n]{0,30}"
    r"\b(typos|misspellings|spelling (mistakes|errors))"
    r"|misspell(ing)? (every|each|all|some|random|the|a few|several|certain)\b"
    r"|(replace|substitute|swap|switch|exchange|represent|encode|spell|write|render)\b[^.!?\n]{0,40}"
    r"\b(letters?|vowels?|consonants?|characters?|alphabets?|words?)\b[^.!?\n]{0,30}"
    r"\b(with|for|by|as|into|using)\b[^.!?\n]{0,30}\b(numbers?|digits?|numerals?|symbols?|emojis?"
    r"|characters?|homophones?|synonyms?|letters?|codes?)"
    r"|(numbers?|digits?|numerals?|symbols?|emojis?) (for|instead of|in place of) (the )?"
    r"(letters?|vowels?|consonants?|words?)"
    r"|(every|each) (second|third|fourth|fifth|sixth|other|alternate|\d+(st|nd|rd|th)) "
    r"(word|letter|character|sentence|line)"
    r"|(remove|delete|drop|omit|strip|eliminate) (all |the |any )*(spaces|vowels|punctuation"
    r"|whitespace)"
    r"|without (any |using )*(spaces|vowels|punctuation)"
    r"|group (the |all |its )*(letters|characters|words)\b[^.!?\n]{0,20}\b(in|into) "
    r"|(reverse|backwards?|mirror)\b[^.!?\n]{0,20}\b(order|letters|words|characters|spelling))",
    re.IGNORECASE,
)
# An imperative that tells the reader to work on customers is addressed to whoever answers
# them: knowledge speaks to customers ("you"), it does not tell anyone to persuade "users".
_ORDERS_ABOUT_CUSTOMERS = re.compile(
    r"(^|[.!?:]\s+|\n)\s*(please |always |also |then |now |kindly |politely |gently )?"
    r"(encourage|urge|persuade|convince|remind|motivate|invite|prompt|tell|ask|instruct|direct"
    r"|inform|advise|warn|notify|push|nudge|get|make|lead|steer|guide) (the |all |every |each "
    r"|our |your )?(users?|readers?|customers?|clients?|callers?|visitors?|audience|viewers?"
    r"|followers?|subscribers?|people|everyone|members?|shoppers?)\b",
    re.IGNORECASE | re.MULTILINE,
)
_CODE_BLOCK = re.compile(r"```")
# Requests for work an assistant does, at the start of a sentence; an FAQ tells customers what
# to do, it does not ask for essays, poems or translations.
_TASK_REQUEST = re.compile(
    r"(^|[.!?]\s+)(translate the following|translate this|draft an?\b|compose an?\b"
    r"|(write|draft|compose|create|craft|generate|produce|come up with|give me|provide|make"
    r"|invent|suggest)( me)? (an?|some|one|two|three|four|five|\d+|several|a few|the)"
    r"( \w+){0,2} (poem|story|stories|essay|letter|song|haiku|limerick|sonnet|summary"
    r"|introduction|slogan|tagline|joke|riddle|tweet|blog post|article|speech|recipe"
    r"|headline|rap|lyrics|caption|pitch|names|title|ideas)s?\b"
    r"|summari[sz]e the|(help|teach) me\b"
    r"|(can|could) you (show|write|give|tell|explain)\b)",
    re.IGNORECASE | re.MULTILINE,
)
# Asking for a translation: "translate 'Danke' into English", "how do you say … in Spanish".
_TRANSLATION = re.compile(
    r"(^|[.!?]\s+)(please )?translate\b|\b(say|mean|means|spell|called|write|translated?)\b"
    r"[^.!?\n]{0,60}\b(in|into) (english|french|spanish|german|italian|portuguese|chinese"
    r"|mandarin|japanese|korean|russian|arabic|hindi|dutch|swedish|greek|latin|turkish|polish"
    r"|hebrew|swahili)\b[^.!\n]{0,20}\?",
    re.IGNORECASE | re.MULTILINE,
)
# Telling the writer to put something into what they write, or to promote something.
_INSERTS_INTO_THE_TEXT = re.compile(
    r"(^|[.!?:]\s+|\n)\s*(please |also |then |now |finally )?(add|include|insert|integrate"
    r"|incorporate|append|prepend|embed|inject|weave|attach|slip|sneak|mention)\b"
    r"( \w+){0,3} (sentence|line|statement|headline|phrase|reminder|paragraph|slogan|tagline"
    r"|call to action|hashtags?|disclaimer|advert|advertisement|promotion|plug|shout-?out"
    r"|signature|postscript|footnote|teaser)\b"
    r"|(^|[.!?:]\s+|\n)\s*(please |also |then |now )?(recommend|suggest|advise|promote"
    r"|advertise|endorse|plug)\s+(\w+ing\b|(the |a |an |this |our )?(website|site|link|tool"
    r"|app|software|download|product|service|url|page)\b)"
    r"|\b(encouraging|urging|inviting|reminding|prompting|persuading|convincing|motivating"
    r"|nudging|telling|asking) (the |all |our )?(users|readers|audience|viewers|followers"
    r"|subscribers)\b",
    re.IGNORECASE | re.MULTILINE,
)
# A code block offered for the reader's own program is an instruction to a coding assistant.
_CODE_FOR_THE_READER = re.compile(
    r"\byour (\w+ )?(project|software|application|app|work|build|development|module"
    r"|framework|coding|programming|tool|system|answer|response|reply|output)s?\b"
    r"|\b(add|insert|include|integrate|incorporate|embed|append|use|utili[sz]e|apply|employ"
    r"|leverage|blend|meld|inject|execute|run|enlist|absorb|adopt|paste|merge|fuse|combine)\b"
    r"( \w+){0,3} (following|subsequent|below|this|these|next) (code|snippet|block|excerpt"
    r"|script|segment|section|fragment|lines?|routine|function)",
    re.IGNORECASE,
)
# Code that reaches outside itself: the network, other processes, files, the environment,
# devices; in any language a knowledge page would quote.
_RISKY_CODE = re.compile(
    r"\b((import|from) (os|sys|subprocess|socket|requests|urllib\d?|shutil|smtplib|ctypes|http"
    r"|usb|bluetooth|ftplib|telnetlib|paramiko|psutil|pynput|keyboard|pyautogui|winreg|glob"
    r"|platform|getpass|keyring|browser_cookie3|webbrowser|pickle|marshal|sqlite3|PyBluez"
    r"|cryptography|Crypto|email|imaplib|poplib|asyncssh|aiohttp|httpx|pexpect)\b"
    r"|subprocess\.|os\.(system|popen|environ|remove|unlink|rename|walk|listdir|exec\w*|spawn\w*)"
    r"|requests\.(get|post|put|patch|delete|request)\(|url(open|retrieve)\(|\bPopen\("
    r"|check_output\(|eval\(|exec\(|curl |wget |powershell|Invoke-WebRequest|rm -rf|sudo "
    r"|chmod \+?x|nohup |crontab|/dev/(sd|tcp|udp|random|mem)|\bnc -|child_process"
    r"|document\.cookie|XMLHttpRequest|fetch\(|Runtime\.getRuntime|\.connect\(\(|sendall\("
    r"|(https?|ftp)://|\b\d{1,3}(\.\d{1,3}){3}\b"
    r"|(import|from) (pyperclip|pyscreenshot|win32\w*|cv2|sounddevice|pyaudio|scapy|nmap"
    r"|zipfile|tarfile|tempfile|threading|multiprocessing|ssl|ftplib|pty|signal)\b)",
    re.IGNORECASE,
)
# Markup that acts when rendered: text to a model, but no knowledge passage needs it.
_ACTIVE_MARKUP = re.compile(
    r"<\s*(script|iframe|object|embed|applet|frame|frameset|meta|base|form)\b"
    r"|<[^<>]*\son[a-z]+\s*=|\bjavascript\s*:|\bvbscript\s*:|\bdata\s*:\s*text/html",
    re.IGNORECASE,
)
# A question or task for an assistant: what an FAQ answer does not ask its reader.
_QUESTION = re.compile(
    r"^(what|who|whom|whose|when|where|which|why|how|can|could|would|will|is|are|do|does|did"
    r"|should)\b[^?]*\?$",
    re.IGNORECASE,
)
_TASK = re.compile(
    r"^(please )?(explain|describe|define|summari[sz]e|outline|discuss|compare|contrast"
    r"|analy[sz]e|elaborate|clarify|illustrate|name|calculate|compute|solve|prove|derive"
    r"|translate|compose|draft|generate"
    r"|classify|paraphrase|recite|brainstorm|list|find|identify|recommend|suggest|write|create"
    r"|produce|convert)\b|^(please )?(tell|give|show|teach|help) me\b",
    re.IGNORECASE,
)
_QUOTED = re.compile(r"'[^']*'|\"[^\"]*\"|\u2018[^\u2019]*\u2019|\u201c[^\u201d]*\u201d")
_SPEAKS_TO_THE_READER = re.compile(r"\b(you|your|yours|yourself|we|our|us)\b", re.IGNORECASE)
_SENTENCES = re.compile(r"(?<=[.!?])\s+|\n+")
# A question on a line of its own with its answer on the next is a heading, not a request.
_HEADING_QUESTION = re.compile(r"^[^\n]*\?[ \t]*\n(?=[ \t]*\S)", re.MULTILINE)
_FOREIGN_SHARE = 0.2  # of a request's content words found elsewhere in its passage
_PERSONAL_DATA = {
    "card": "a payment card number",
    "iban": "a bank account number (IBAN)",
    "ssn": "a social security number",
    "ni_number": "a national insurance number",
}


def _foreign_request(text: str, context: str) -> str | None:
    """A question or task, not put to the reader ("you"), none of whose content words (or
    hardly any) the rest of the passage uses: what an assistant is asked, planted in a page."""
    sentences = [s.strip() for s in _SENTENCES.split(text) if s.strip()]
    headings = {m[0].strip() for m in _HEADING_QUESTION.finditer(text)}
    for index, sentence in enumerate(sentences):
        if not (_QUESTION.match(sentence) or _TASK.match(sentence)) or sentence in headings:
            continue
        if _SPEAKS_TO_THE_READER.search(_QUOTED.sub("", sentence)):
            continue
        words = set(content_words(sentence))
        if len(words) < 2:
            continue
        rest = set(content_words(" ".join([context, *sentences[:index], *sentences[index + 1 :]])))
        if not rest:
            continue
        if len(words & rest) / len(words) < _FOREIGN_SHARE:
            return sentence  # at most one word in five is the page's
    return None


def personal_data(text: str) -> str | None:
    """What kind of personal data the text holds, if any."""
    spans = sensitive.find(text, _PERSONAL_DATA)
    return _PERSONAL_DATA[spans[0].kind] if spans else None


def screen(text: str, *, question: bool = False, context: str = "") -> list[Finding]:
    """Every reason this text should not go live without an administrator's decision. A
    `question` (an FAQ entry's) may ask for things: that is what customers' questions do.
    `context` is what else the passage says (an FAQ answer's question), for judging whether a
    request in the text belongs to it."""
    findings: list[Finding] = []
    if match := _HIDDEN.search(text):
        findings.append(Finding("hidden_text", f"invisible character U+{ord(match[0]):04X}"))
    if _HTML_COMMENT.search(text):
        findings.append(Finding("hidden_text", "an HTML comment"))
    visible = unicodedata.normalize("NFKC", _HIDDEN.sub("", text))
    if match := _ROLE_MARKER.search(visible):
        findings.append(Finding("model_instruction", f"a role marker: {match[0].strip()[:40]}"))
    if match := _ADDRESSES_THE_MODEL.search(visible):
        findings.append(Finding("model_instruction", f"addresses the model: {match[0][:60]}"))
    if match := _REWRITES_THE_TEXT.search(visible):
        findings.append(Finding("model_instruction", f"rewrites the answer: {match[0][:60]}"))
    if match := _ORDERS_ABOUT_CUSTOMERS.search(visible):
        findings.append(Finding("model_instruction", f"gives orders: {match[0].strip()[:60]}"))
    if match := _INSERTS_INTO_THE_TEXT.search(visible):
        findings.append(Finding("model_instruction", f"gives orders: {match[0].strip()[:60]}"))
    if not question and (match := _TASK_REQUEST.search(visible) or _TRANSLATION.search(visible)):
        findings.append(Finding("model_instruction", f"asks for a task: {match[0].strip()[:60]}"))
    if not question and (foreign := _foreign_request(visible, context)):
        findings.append(Finding("model_instruction", f"a request foreign to it: {foreign[:60]}"))
    for request in solicitation.find(visible, from_customer=question):
        if request.kind == solicitation.CREDENTIAL_REQUEST or request.to_staff:
            who = "tells whoever answers to" if request.to_staff else "asks customers to"
            findings.append(Finding(request.kind, f"{who}: {request.words[:80]}"))
    if _CODE_BLOCK.search(visible) and _RISKY_CODE.search(visible):
        findings.append(Finding("code", "a code block that runs commands or calls the network"))
    if _CODE_BLOCK.search(visible) and (match := _CODE_FOR_THE_READER.search(visible)):
        findings.append(Finding("model_instruction", f"offers code: {match[0][:60]}"))
    if match := _ACTIVE_MARKUP.search(visible):
        findings.append(Finding("code", f"active markup: {match[0].strip()[:40]}"))
    if sensitive.find(visible, ["secret"]):
        findings.append(Finding("secret", "something shaped like a key or token"))
    if kind := personal_data(visible):
        findings.append(Finding("personal_data", kind))
    return findings
