"""Plain-text transcripts whose lines name their speaker, read as conversations.

Exports of contact-centre platforms and of speech-to-text diarization are often plain text, a
turn a line: `Agent: bonjour`, `[00:01:02] Customer: yes`, `SPEAKER_00: my card is…`. Read as
one free text, a card number dictated over three turns with the agent's "yes" between them is
three short numbers; read as a conversation, each speaker's turns are read together and it is
one card. Which reading a text gets is detected (most of its lines are speaker lines, the first
one included) or forced; a line that is not a speaker line continues the turn above it.
"""

from __future__ import annotations

import enum
import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass, replace

from tessera.trust._errors import MalformedTranscript

from ._redactor import Redacted, Turn

__all__ = ["Reading", "SpeakerTurn", "redact_as_read", "speaker_turns"]


class Reading(enum.StrEnum):
    """How a plain text is read: detected, as one free text, or as `Speaker: text` turns."""

    AUTO = "auto"
    TEXT = "text"
    CONVERSATION = "conversation"


# An optional time ("[00:01:02]", "00:01:02.250", "(01:02)"), then a speaker's label (a
# diarization label, or one to four words starting with a letter), a colon, the text.
_SPEAKER_LINE = re.compile(
    r"^[ \t]*(?:[\[(]?(?:\d{1,2}:)?\d{1,2}:\d{2}(?:[.,]\d{1,3})?[\])]?[ \t]*(?:[-–][ \t]*)?)?"
    r"(?P<speaker>SPEAKER_\d{1,3}|spk_\d{1,3}|[^\W\d_][\w'’.\-]*(?: [\w'’.\-]+){0,3}?)"
    r"[ \t]*:[ \t]?(?!//)"
)
_SHARE = 0.6  # of the non-blank lines, at least this many speaker lines to read a conversation
_MAX_SPEAKERS = 12  # more distinct labels than this is prose with colons, not a conversation


@dataclass(frozen=True, slots=True)
class SpeakerTurn:
    """A turn of a plain-text transcript: its speaker, and where its text is in the file's
    text (from after the label to the end of its last continuation line)."""

    speaker: str
    start: int
    end: int
    line: int  # where it starts, from 1


def speaker_turns(text: str, reading: Reading = Reading.AUTO) -> list[SpeakerTurn] | None:
    """The turns of `text` read as a conversation, or None if it is to be read as one free
    text (detected, or asked). Forced, a text whose first line names no speaker is refused."""
    if reading is Reading.TEXT:
        return None
    turns: list[SpeakerTurn] = []
    blank = lines = 0
    first_is_speaker: bool | None = None
    at = 0
    for number, line in enumerate(text.splitlines(keepends=True), 1):
        body = line.rstrip("\r\n")
        if not body.strip():
            blank += 1
            at += len(line)
            continue
        lines += 1
        match = _SPEAKER_LINE.match(body)
        if first_is_speaker is None:
            first_is_speaker = match is not None
            if match is None and reading is Reading.CONVERSATION:
                raise MalformedTranscript(f"line {number} is not `Speaker: text`")
        if match is not None:
            turns.append(SpeakerTurn(match["speaker"], at + match.end(), at + len(body), number))
        elif turns:  # a continuation line: the turn above runs on
            turns[-1] = replace(turns[-1], end=at + len(body))
        at += len(line)
    if reading is Reading.CONVERSATION:
        return turns
    speakers = {t.speaker for t in turns}
    if (
        not first_is_speaker
        or len(turns) < 2
        or len(turns) < _SHARE * lines
        or len(speakers) > _MAX_SPEAKERS
    ):
        return None
    return turns


def redact_as_read(
    text: str,
    turns: Sequence[SpeakerTurn],
    redact_conversation: Callable[[list[Turn]], list[Redacted]],
    *,
    max_chars: int,
    language: str,
) -> Redacted:
    """The text with each turn's text replaced by its redaction as a conversation; labels,
    times and line breaks between turns kept as they are; findings in the text's offsets."""
    for turn in turns:
        if turn.end - turn.start > max_chars:
            raise MalformedTranscript(
                f"line {turn.line} holds a turn of more than {max_chars} characters: "
                "read the file as text"
            )
    done = redact_conversation([Turn(t.speaker, text[t.start : t.end]) for t in turns])
    out, findings, at = [], [], 0
    for turn, redacted in zip(turns, done, strict=True):
        out.append(text[at : turn.start])
        out.append(redacted.text)
        findings += [
            replace(f, start=turn.start + f.start, end=turn.start + f.end)
            for f in redacted.findings
        ]
        at = turn.end
    out.append(text[at:])
    return Redacted("".join(out), tuple(findings), language)
