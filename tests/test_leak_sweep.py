"""The sweep that ends every run finds what it is there to find, and leaves what is not
Tessera's to keep."""

from __future__ import annotations

import logging
from pathlib import Path

from tests.conftest import log_dir
from tests.leaks import sweep


def test_the_sweep_finds_a_value_in_a_log_or_a_left_file_and_skips_stores_and_inputs(
    tmp_path: Path,
) -> None:
    # Under an `in/` folder, so that the sweep of this very run takes these for a test's input.
    logs, left = tmp_path / "in" / "logs", tmp_path / "in" / "left"
    (left / "in").mkdir(parents=True)
    logs.mkdir()
    (logs / "serve.log").write_text("INFO sent a code to +33612345678\n")
    (logs / "ws.log").write_text("DEBUG < authorization: Bearer tsk_" + "a" * 16 + "_" + "b" * 32)
    (left / "outbox.jsonl").write_text('{"to": "06 •• •• •• 78"}\n')
    (left / "export.json").write_text('{"email": "jean@example.fr"}')
    (left / "in" / "chat.txt").write_text("my card is 4970 1012 3456 7893")  # a test's input
    (left / "data.db").write_text("4970101234567893")  # a store: encrypted in real life
    hits = sweep(logs, left)
    assert [h.split(": ")[0].rsplit("/", 1)[-1] for h in hits] == [
        "serve.log",
        "ws.log",
        "export.json",
    ]


def test_this_run_logs_at_debug_into_the_swept_folder() -> None:
    logging.getLogger("tessera.test").debug("a debug line reaches the sweep")
    for handler in logging.getLogger().handlers:
        handler.flush()
    assert "a debug line reaches the sweep" in (log_dir() / "in-process.log").read_text()
