"""Contact-centre platforms' transcript exports, as JSON files: Amazon Connect Contact Lens
(its analysis output file: `Transcript`, a list of `{ParticipantId, Content, BeginOffsetMillis,
…}`) and Genesys Cloud speech and text analytics (the transcript URL's document: `transcripts`,
each a list of `phrases` `{participantPurpose, text, decoratedText, words, …}`).

Each is redacted as a conversation (the participant is the speaker, so a number read over several
turns is still one), and every field that holds what was said is rewritten: the turn's text and,
for Genesys, `decoratedText` (another rendering of the same words). Word lists and alternative
hypotheses repeat the values word by word and cannot be kept aligned with a redacted text: they
are removed. Everything else (ids, offsets, sentiment, categories) is kept as it was; character
offsets (Contact Lens' `IssuesDetected`) refer to the original text.
"""

from __future__ import annotations

import json
from typing import Any

from tessera.trust._errors import MalformedTranscript

from ._redactor import LANGUAGES, RedactionMode, Redactor, Turn

__all__ = ["EXPORT_SHAPES", "redact_export"]

EXPORT_SHAPES = ("amazon-connect", "genesys-cloud")
_WORD_LEVEL = ("words", "alternatives")  # a phrase's words again, one by one


def redact_export(
    redactor: Redactor, text: str, *, language: str, mode: RedactionMode
) -> tuple[str, int]:
    """The redacted export and how many findings; a JSON file of another shape is refused
    (one turn per line is `.jsonl`)."""
    try:
        document = json.loads(text)
    except ValueError:
        raise MalformedTranscript("the file is not JSON") from None
    match _shape(document):
        case "amazon-connect":
            return _contact_lens(redactor, document, language, mode)
        case "genesys-cloud":
            return _genesys(redactor, document, language, mode)
    raise MalformedTranscript(
        "a .json transcript is an Amazon Connect Contact Lens or a Genesys Cloud export "
        '("Transcript" or "transcripts" with "phrases"); one turn per line is .jsonl'
    )


def _shape(document: object) -> str | None:
    if not isinstance(document, dict):
        return None
    if isinstance(document.get("Transcript"), list):
        return "amazon-connect"
    transcripts = document.get("transcripts")
    if isinstance(transcripts, list) and all(
        isinstance(t, dict) and isinstance(t.get("phrases", []), list) for t in transcripts
    ):
        return "genesys-cloud"
    return None


def _language(code: object, default: str, where: str) -> str:
    """A platform's locale ("en-US", "fr-CA") as the redactor's language."""
    if code is None or code == "":
        return default
    if not isinstance(code, str) or code.lower()[:2] not in LANGUAGES:
        raise MalformedTranscript(
            f"{where}: unknown language {str(code)[:16]!r}: expected fr or en"
        )
    return code.lower()[:2]


def _contact_lens(
    redactor: Redactor, document: dict[str, Any], default: str, mode: RedactionMode
) -> tuple[str, int]:
    language = _language(document.get("LanguageCode"), default, "LanguageCode")
    items = document["Transcript"]
    turns = []
    for i, item in enumerate(items):
        if not isinstance(item, dict) or not isinstance(item.get("Content"), str):
            raise MalformedTranscript(f'Transcript item {i} has no "Content" string')
        turns.append(Turn(str(item.get("ParticipantId", "")), item["Content"]))
    done = redactor.redact_conversation(turns, language=language, default=mode)
    found = sum(len(d.findings) for d in done)
    for item, redacted in zip(items, done, strict=True):
        item["Content"] = redacted.text
    # A generated summary of the contact is free text about the customer.
    summary = _at(document, "ConversationCharacteristics", "ContactSummary", "PostContactSummary")
    if isinstance(summary.get("Content"), str):
        said = redactor.redact(summary["Content"], language=language, default=mode)
        summary["Content"] = said.text
        found += len(said.findings)
    return json.dumps(document, ensure_ascii=False, indent=2) + "\n", found


def _at(document: dict[str, Any], *keys: str) -> dict[str, Any]:
    """The object at a path of keys, or an empty one where the path does not go on."""
    here: object = document
    for key in keys:
        here = here.get(key) if isinstance(here, dict) else None
    return here if isinstance(here, dict) else {}


def _genesys(
    redactor: Redactor, document: dict[str, Any], default: str, mode: RedactionMode
) -> tuple[str, int]:
    phrases: list[dict[str, Any]] = []
    turns: list[Turn] = []
    for t, transcript in enumerate(document["transcripts"]):
        language = _language(transcript.get("language"), default, f"transcript {t}")
        for p, phrase in enumerate(transcript.get("phrases", [])):
            if not isinstance(phrase, dict) or not isinstance(phrase.get("text"), str):
                raise MalformedTranscript(f'transcript {t} phrase {p} has no "text" string')
            speaker = phrase.get("participantPurpose") or phrase.get("channelId") or ""
            phrases.append(phrase)
            turns.append(Turn(str(speaker), phrase["text"], language))
    done = redactor.redact_conversation(turns, language=default, default=mode) if turns else []
    for phrase, redacted in zip(phrases, done, strict=True):
        phrase["text"] = redacted.text
        if "decoratedText" in phrase:
            phrase["decoratedText"] = redacted.text
        for field in _WORD_LEVEL:
            phrase.pop(field, None)
    found = sum(len(d.findings) for d in done)
    return json.dumps(document, ensure_ascii=False, indent=2) + "\n", found
