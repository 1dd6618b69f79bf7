"""Amazon Connect Contact Lens and Genesys Cloud transcript exports: redacted as conversations
(a card read over three turns is still one), every field holding what was said rewritten, word
lists removed, everything else kept; another JSON shape refused with its reason."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from tessera.trust import MalformedTranscript
from tessera.trust.redaction import (
    RedactionJob,
    RedactionMode,
    Redactor,
    redact_export,
    shared_redactor,
)


@pytest.fixture(scope="module")
def redactor() -> Redactor:
    return shared_redactor()


def _contact_lens() -> dict:
    said = [
        ("AGENT", "Thanks for calling, can I take the card number?"),
        ("CUSTOMER", "sure it's 4970 1012"),
        ("AGENT", "yes"),
        ("CUSTOMER", "3456 7893"),
        ("CUSTOMER", "and my email is ann.smith@example.com"),
    ]
    return {
        "Version": "1.1.0",
        "AccountId": "123456789012",
        "Channel": "VOICE",
        "LanguageCode": "en-US",
        "Participants": [
            {"ParticipantId": "AGENT", "ParticipantRole": "AGENT"},
            {"ParticipantId": "CUSTOMER", "ParticipantRole": "CUSTOMER"},
        ],
        "Transcript": [
            {
                "Id": f"t-{i}",
                "ParticipantId": who,
                "Content": text,
                "BeginOffsetMillis": i * 1000,
                "EndOffsetMillis": i * 1000 + 900,
                "Sentiment": "NEUTRAL",
            }
            for i, (who, text) in enumerate(said)
        ],
        "ConversationCharacteristics": {
            "TotalConversationDurationMillis": 5000,
            "ContactSummary": {
                "PostContactSummary": {"Content": "Ann Smith (ann.smith@example.com) paid."}
            },
        },
    }


def _genesys() -> dict:
    def phrase(purpose: str, text: str, at: int) -> dict:
        return {
            "participantPurpose": purpose,
            "text": text,
            "decoratedText": text.replace("four nine seven zero", "4970"),
            "startTimeMs": at,
            "words": [{"word": w, "confidence": 0.9} for w in text.split()],
            "alternatives": [{"transcript": text}],
        }

    return {
        "organizationId": "org-1",
        "conversationId": "conv-1",
        "communicationId": "comm-1",
        "mediaType": "call",
        "transcripts": [
            {
                "language": "fr-FR",
                "phrases": [
                    phrase("internal", "Votre numéro de carte s'il vous plaît", 0),
                    phrase("external", "four nine seven zero 1012", 1000),
                    phrase("internal", "oui", 2000),
                    phrase("external", "3456 7893", 3000),
                ],
            }
        ],
        "participants": [{"participantPurpose": "external"}],
    }


def test_a_contact_lens_export_is_redacted_as_its_conversation(redactor: Redactor) -> None:
    original = _contact_lens()
    done, found = redact_export(
        redactor, json.dumps(original), language="fr", mode=RedactionMode.TAG
    )
    out = json.loads(done)
    contents = [t["Content"] for t in out["Transcript"]]
    assert contents[1] == "sure it's <CARD>" and contents[3] == "<CARD>"
    assert contents[4] == "and my email is <EMAIL>"
    summary = out["ConversationCharacteristics"]["ContactSummary"]["PostContactSummary"]
    assert "ann.smith" not in summary["Content"] and "<EMAIL>" in summary["Content"]
    assert "4970" not in done and "7893" not in done and "ann.smith" not in done
    assert found >= 4
    # Everything but what was said is as it was.
    for before, after in zip(original["Transcript"], out["Transcript"], strict=True):
        assert {**before, "Content": ""} == {**after, "Content": ""}
    assert out["Participants"] == original["Participants"]


def test_a_genesys_export_loses_its_word_lists_and_keeps_the_rest(redactor: Redactor) -> None:
    done, _ = redact_export(redactor, json.dumps(_genesys()), language="en", mode=RedactionMode.TAG)
    out = json.loads(done)
    phrases = out["transcripts"][0]["phrases"]
    assert [p["text"] for p in phrases] == [
        "Votre numéro de carte s'il vous plaît",
        "<CARD>",
        "oui",
        "<CARD>",
    ]
    assert all(p["decoratedText"] == p["text"] for p in phrases)
    assert all("words" not in p and "alternatives" not in p for p in phrases)
    assert [p["startTimeMs"] for p in phrases] == [0, 1000, 2000, 3000]
    assert "1012" not in done and "4970" not in done and "four nine" not in done
    assert out["conversationId"] == "conv-1"


@pytest.mark.parametrize(
    ("document", "reason"),
    [
        ("{not json", "not JSON"),
        ('{"turns": []}', "Amazon Connect Contact Lens or a Genesys Cloud export"),
        ("[1, 2]", "Amazon Connect Contact Lens or a Genesys Cloud export"),
        ('{"Transcript": [{"ParticipantId": "AGENT"}]}', 'item 0 has no "Content" string'),
        ('{"Transcript": [], "LanguageCode": "de-DE"}', "unknown language 'de-DE'"),
        ('{"transcripts": [{"phrases": [{"text": 3}]}]}', 'phrase 0 has no "text" string'),
    ],
)
def test_another_shape_is_refused_with_its_reason(
    redactor: Redactor, document: str, reason: str
) -> None:
    with pytest.raises(MalformedTranscript, match=reason):
        redact_export(redactor, document, language="en", mode=RedactionMode.TAG)


def test_the_job_redacts_exports_beside_the_other_formats(tmp_path: Path) -> None:
    root = tmp_path / "in"
    root.mkdir()
    (root / "connect.json").write_text(json.dumps(_contact_lens()))
    (root / "genesys.json").write_text(json.dumps(_genesys()))
    (root / "broken.json").write_text('{"Transcript": 3}')
    outcomes = {o.source: o for o in RedactionJob(root, tmp_path / "out", language="en").run()}
    assert outcomes["connect.json"].status == outcomes["genesys.json"].status == "redacted"
    assert outcomes["broken.json"].status == "failed"
    assert not (tmp_path / "out" / "broken.json").exists()
    assert "7893" not in (tmp_path / "out" / "connect.json").read_text()
