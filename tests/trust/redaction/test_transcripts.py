"""`tessera redact FILE|DIR`: plain text, JSON lines, WebVTT and SRT redacted into a mirror
tree; interrupted and resumed without redoing or losing a file; bad files reported, not fatal."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from tessera.trust import MalformedTranscript, RedactionError
from tessera.trust.redaction import (
    MANIFEST,
    Reading,
    RedactionJob,
    RedactionMode,
    Redactor,
    redact_file_text,
    shared_redactor,
    speaker_turns,
)
from tests.cli import run

CARD = "4970 1012 3456 7893"
VTT = """WEBVTT

1
00:00:01.000 --> 00:00:03.000
<v Client>ma carte c'est 4970 1012

2
00:00:03.500 --> 00:00:04.000
<v Agent>oui

3
00:00:04.500 --> 00:00:06.000
<v Client>3456 7893
"""
SRT = """1
00:00:01,000 --> 00:00:03,000
appelez-moi au 06 12 34 56 78

2
00:00:03,500 --> 00:00:04,000
merci
"""


@pytest.fixture(scope="module")
def redactor() -> Redactor:
    return shared_redactor()


@pytest.fixture
def transcripts(tmp_path: Path) -> Path:
    root = tmp_path / "in"
    (root / "calls").mkdir(parents=True)
    (root / "chat.txt").write_text(f"Bonjour, ma carte est {CARD}.\nMerci.\n")
    turns = [
        {"speaker": "client", "text": "mon mail: jean.dupont@exemple.fr", "at": 1},
        {"speaker": "bot", "text": "merci", "at": 2},
    ]
    (root / "bot.jsonl").write_text("".join(json.dumps(t) + "\n" for t in turns))
    (root / "calls" / "call.vtt").write_text(VTT)
    (root / "calls" / "call.srt").write_text(SRT)
    (root / "notes.pdf").write_bytes(b"%PDF")  # not a transcript: left alone
    return root


def test_a_folder_is_redacted_into_a_mirror_tree(
    redactor: Redactor, transcripts: Path, tmp_path: Path
) -> None:
    out = tmp_path / "out"
    outcomes = RedactionJob(transcripts, out).run()
    assert sorted(o.source for o in outcomes) == [
        "bot.jsonl",
        "calls/call.srt",
        "calls/call.vtt",
        "chat.txt",
    ]
    assert all(o.status == "redacted" for o in outcomes)
    assert (out / "chat.txt").read_text() == "Bonjour, ma carte est <CARD>.\nMerci.\n"
    lines = [json.loads(line) for line in (out / "bot.jsonl").read_text().splitlines()]
    assert lines[0] == {"speaker": "client", "text": "mon mail: <EMAIL>", "at": 1}
    vtt = (out / "calls" / "call.vtt").read_text()
    assert "00:00:01.000 --> 00:00:03.000" in vtt and CARD[:4] not in vtt
    assert "<CARD>" in vtt and "<v Agent>oui" in vtt
    assert "<PHONE>" in (out / "calls" / "call.srt").read_text()
    assert not (out / "notes.pdf").exists()
    masked = RedactionJob(transcripts / "chat.txt", tmp_path / "m", mode=RedactionMode.MASK).run()
    assert masked[0].status == "redacted"
    assert (tmp_path / "m" / "chat.txt").read_text().startswith("Bonjour, ma carte est •••.")


def test_an_interrupted_job_resumes_without_redoing_or_losing_files(
    redactor: Redactor, transcripts: Path, tmp_path: Path
) -> None:
    out = tmp_path / "out"
    calls = []

    def stop_after_two(done: int, total: int) -> None:
        calls.append(done)
        if done == 2:
            raise KeyboardInterrupt

    with pytest.raises(KeyboardInterrupt):
        RedactionJob(transcripts, out).run(on_progress=stop_after_two)
    done_first = json.loads((out / MANIFEST).read_text())["done"]
    assert len(done_first) == 2
    assert not list(out.rglob("*.part"))  # nothing half-written that looks finished
    outcomes = RedactionJob(transcripts, out).run()
    assert sorted(o.status for o in outcomes) == ["redacted", "redacted", "skipped", "skipped"]
    # An input that changed since is redone.
    (transcripts / "chat.txt").write_text("IBAN FR76 3000 6000 0112 3456 7890 189\n")
    again = {o.source: o.status for o in RedactionJob(transcripts, out).run()}
    assert again["chat.txt"] == "redacted" and (out / "chat.txt").read_text() == "IBAN <IBAN>\n"


def test_bad_files_are_reported_and_the_others_go_on(
    redactor: Redactor, transcripts: Path, tmp_path: Path
) -> None:
    (transcripts / "broken.jsonl").write_text('{"text": "ok"}\nnot json\n')
    (transcripts / "latin1.txt").write_bytes("carte expirée".encode("latin-1"))
    (transcripts / "bad.vtt").write_text("00:00:01.000 --> 00:00:02.000\nhello\n")
    (transcripts / "empty.txt").write_text("")
    outcomes = {o.source: o for o in RedactionJob(transcripts, tmp_path / "out").run()}
    assert outcomes["broken.jsonl"].error == "line 2 is not JSON"
    assert outcomes["latin1.txt"].error.startswith("not UTF-8")
    assert outcomes["bad.vtt"].error == "a WebVTT file starts with WEBVTT"
    assert outcomes["empty.txt"].status == "redacted"
    for name in ("broken.jsonl", "latin1.txt", "bad.vtt"):
        assert not (tmp_path / "out" / name).exists()
    assert outcomes["chat.txt"].status == "redacted"
    with pytest.raises(RedactionError, match="outside the input"):
        RedactionJob(transcripts, transcripts / "out")
    with pytest.raises(RedactionError, match="does not exist"):
        RedactionJob(tmp_path / "nope", tmp_path / "o")
    with pytest.raises(RedactionError, match="unsupported file type"):
        RedactionJob(transcripts / "notes.pdf", tmp_path / "o").files()


def test_tessera_redact_on_the_command_line(transcripts: Path, tmp_path: Path) -> None:
    (transcripts / "broken.jsonl").write_text("not json\n")
    env = {"TESSERA_DATA_DIR": str(tmp_path / "data")}
    command = ["redact", str(transcripts), "--output", str(tmp_path / "out")]
    done = run(command, env, check=False)
    assert done.returncode == 1, done.stderr
    assert "4 redacted" in done.stdout and "1 failed" in done.stdout
    assert "broken.jsonl: line 1 is not JSON" in done.stderr
    assert "Traceback" not in done.stderr
    again = run(command, env, check=False)
    assert "0 redacted" in again.stdout and "4 already done" in again.stdout
    bad = run([*command, "--mode", "shred"], env, check=False)
    assert bad.returncode == 2 and "tag or mask" in bad.stderr


# A card read in groups over three turns, the agent answering between them: the same call in
# the three plain-text shapes transcripts come in.
SPLIT_CARD = [
    ("Client", "ma carte c'est 4970 1012"),
    ("Agent", "oui"),
    ("Client", "3456"),
    ("Agent", "oui je note"),
    ("Client", "7893 voilà"),
]
SHAPES = {
    "labels": "".join(f"{s}: {t}\n" for s, t in SPLIT_CARD),
    "timed": "".join(f"[00:00:{2 * i:02d}] {s}: {t}\n" for i, (s, t) in enumerate(SPLIT_CARD)),
    "diarized": "".join(f"SPEAKER_{0 if s == 'Client' else 1:02d}: {t}\n" for s, t in SPLIT_CARD),
}


@pytest.mark.parametrize("shape", sorted(SHAPES))
def test_speaker_lines_are_read_as_a_conversation(redactor: Redactor, shape: str) -> None:
    """`Speaker: text` lines (a time before them, or diarization labels) are a conversation:
    the card split over the customer's turns is one card; as one free text it leaks."""
    text = SHAPES[shape]
    done, found = redact_file_text(redactor, text, ".txt", language="fr", mode=RedactionMode.TAG)
    assert "4970" not in done and "3456" not in done and "7893" not in done, done
    assert found == 3 and done.count("<CARD>") == 3
    assert done.splitlines()[1].endswith(": oui")  # labels, times and other turns as they were
    assert len(done.splitlines()) == len(SPLIT_CARD)
    as_text, _ = redact_file_text(
        redactor, text, ".txt", language="fr", mode=RedactionMode.TAG, reading=Reading.TEXT
    )
    assert "3456" in as_text  # read as one free text, the groups are short numbers


def test_what_is_not_a_conversation_stays_free_text_and_forcing_one_is_checked(
    redactor: Redactor,
) -> None:
    prose = "Compte rendu de l'appel.\nLe client veut changer d'offre: il rappellera.\nFin.\n"
    assert speaker_turns(prose) is None  # one line in three has a colon: prose
    assert speaker_turns("https://exemple.fr/aide\nA: b\n") is None
    with pytest.raises(MalformedTranscript, match="line 1 is not `Speaker: text`"):
        speaker_turns(prose, Reading.CONVERSATION)
    # A label with no text is an empty turn; a line without a label continues the turn above.
    turns = speaker_turns("Agent:\nClient: ma carte\n  4970 1012 3456 7893\n")
    assert turns is not None and [t.speaker for t in turns] == ["Agent", "Client"]
    text = "Agent:\nClient: ma carte\n  4970 1012 3456 7893\n"
    done, found = redact_file_text(redactor, text, ".txt", language="fr", mode=RedactionMode.TAG)
    assert done == "Agent:\nClient: ma carte\n  <CARD>\n" and found == 1


def test_a_turn_of_a_megabyte_is_refused_whole_and_mixed_files_fall_back_to_text(
    redactor: Redactor, tmp_path: Path
) -> None:
    root = tmp_path / "in"
    root.mkdir()
    (root / "huge.txt").write_text("Agent: bonjour\nClient: " + "a" * 1_000_000 + "\n")
    mixed = '{"speaker": "a", "text": "x"}\nAgent: ma carte 4970 1012 3456 7893\nnote\nfin\n'
    (root / "mixed.txt").write_text(mixed)
    outcomes = {o.source: o for o in RedactionJob(root, tmp_path / "out").run()}
    assert outcomes["huge.txt"].status == "failed"
    assert "line 2 holds a turn of more than" in outcomes["huge.txt"].error
    assert not (tmp_path / "out" / "huge.txt").exists()
    # Mostly not speaker lines: read as one free text (the documented fallback), still redacted.
    assert outcomes["mixed.txt"].status == "redacted"
    assert CARD not in (tmp_path / "out" / "mixed.txt").read_text()


def test_an_unknown_language_on_one_turn_fails_the_file_and_writes_nothing(
    tmp_path: Path,
) -> None:
    root = tmp_path / "in"
    root.mkdir()
    turns = [{"speaker": "a", "text": "hallo"}, {"speaker": "b", "text": "x", "language": "de"}]
    (root / "de.jsonl").write_text("".join(json.dumps(t) + "\n" for t in turns))
    (outcome,) = RedactionJob(root, tmp_path / "out").run()
    assert outcome.status == "failed" and "unknown language 'de'" in outcome.error
    assert not (tmp_path / "out" / "de.jsonl").exists()


def test_tessera_redact_reads_plain_conversations_and_can_be_told_not_to(tmp_path: Path) -> None:
    root = tmp_path / "in"
    root.mkdir()
    (root / "call.txt").write_text(SHAPES["timed"])
    env = {"TESSERA_DATA_DIR": str(tmp_path / "data")}
    run(["redact", str(root), "--output", str(tmp_path / "out")], env)
    assert "3456" not in (tmp_path / "out" / "call.txt").read_text()
    run(["redact", str(root), "--output", str(tmp_path / "free"), "--reading", "text"], env)
    assert "3456" in (tmp_path / "free" / "call.txt").read_text()
    bad = run(["redact", str(root), "-o", str(tmp_path / "x"), "--reading", "x"], env, check=False)
    assert bad.returncode == 2 and "auto, text or conversation" in bad.stderr
