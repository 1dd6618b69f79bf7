from __future__ import annotations

import json
from pathlib import Path

import pytest

from tessera.vault import InvalidValue, Vault, tokenize_file


class Crash(Exception):
    pass


def write_jsonl(path: Path, n: int) -> Path:
    with path.open("w") as fh:
        for i in range(n):
            fh.write(
                json.dumps(
                    {
                        "value": f"user{i}@example.fr",
                        "category": "email",
                        "subject": f"s{i % 7}",
                        "ref": f"crm-{i}",
                    }
                )
                + "\n"
            )
    return path


def read_out(path: Path) -> list[dict]:
    return [json.loads(line) for line in path.read_text().splitlines()]


def test_jsonl_file_is_tokenized_line_by_line(vault: Vault, tenant: str, tmp_path: Path) -> None:
    source = write_jsonl(tmp_path / "in.jsonl", 25)
    report = tokenize_file(vault, tenant, source, tmp_path / "out.jsonl", batch_size=10)
    assert (report.lines, report.tokenized, report.rejected) == (25, 25, 0)
    out = read_out(tmp_path / "out.jsonl")
    assert [o["ref"] for o in out] == [f"crm-{i}" for i in range(25)]
    assert "example.fr" not in (tmp_path / "out.jsonl").read_text()  # tokens, never values
    assert vault.detokenize(tenant, out[3]["token"]).value == "user3@example.fr"
    assert not (tmp_path / "out.jsonl.checkpoint").exists()


def test_bad_records_are_reported_per_line_and_the_rest_goes_on(
    vault: Vault, tenant: str, tmp_path: Path
) -> None:
    source = tmp_path / "in.jsonl"
    source.write_text(
        "\n".join(
            [
                json.dumps({"value": "4970101234567893", "category": "card_pan", "subject": "c1"}),
                "{not json",
                json.dumps({"value": "123", "category": "cvv"}),
                json.dumps({"value": 42}),
                json.dumps(["a", "list"]),
                "",
                json.dumps({"value": "kept"}),
            ]
        )
        + "\n"
    )
    report = tokenize_file(vault, tenant, source, tmp_path / "out.jsonl")
    assert (report.tokenized, report.rejected) == (2, 4)
    out = read_out(tmp_path / "out.jsonl")
    assert [o.get("error") for o in out] == [
        None,
        "malformed",
        "invalid-value",
        "invalid-value",
        "malformed",
        None,
    ]
    assert [o["line"] for o in out] == [1, 2, 3, 4, 5, 7]
    assert "PCI DSS" in out[2]["detail"]


def test_csv_with_quoted_multiline_values(vault: Vault, tenant: str, tmp_path: Path) -> None:
    source = tmp_path / "in.csv"
    source.write_text(
        'value,category,subject\n"12 rue de la Paix\n75002 Paris",postal_address,c1\n'
        '"Dupont, Jean",person_name,c1\n'
    )
    tokenize_file(vault, tenant, source, tmp_path / "out.jsonl")
    out = read_out(tmp_path / "out.jsonl")
    values = vault.detokenize_batch(tenant, [o["token"] for o in out])
    assert [v.value for v in values] == ["12 rue de la Paix\n75002 Paris", "Dupont, Jean"]


def test_a_crash_mid_way_resumes_with_each_line_once(
    vault: Vault, tenant: str, tmp_path: Path
) -> None:
    source = write_jsonl(tmp_path / "in.jsonl", 100)
    output = tmp_path / "out.jsonl"
    calls = 0

    def crash_after_three_batches(done: int, total: int) -> None:
        nonlocal calls
        calls += 1
        if calls == 4:  # the first call reports the start
            with output.open("ab") as fh:
                fh.write(b'{"line": 999, "half-written')  # as if killed mid-write
            raise Crash

    with pytest.raises(Crash):
        tokenize_file(
            vault, tenant, source, output, batch_size=10, on_progress=crash_after_three_batches
        )
    assert (tmp_path / "out.jsonl.checkpoint").exists()
    report = tokenize_file(vault, tenant, source, output, batch_size=10)
    assert report.resumed_at_line == 30
    out = read_out(output)
    assert [o["line"] for o in out] == list(range(1, 101))
    assert vault.count_items(tenant) == 100


def test_an_existing_output_without_checkpoint_is_not_overwritten(
    vault: Vault, tenant: str, tmp_path: Path
) -> None:
    source = write_jsonl(tmp_path / "in.jsonl", 3)
    (tmp_path / "out.jsonl").write_text("precious\n")
    with pytest.raises(InvalidValue, match="refusing to overwrite"):
        tokenize_file(vault, tenant, source, tmp_path / "out.jsonl")
    assert (tmp_path / "out.jsonl").read_text() == "precious\n"


def test_a_checkpoint_of_another_input_is_refused(
    vault: Vault, tenant: str, tmp_path: Path
) -> None:
    source = write_jsonl(tmp_path / "in.jsonl", 3)
    (tmp_path / "out.jsonl.checkpoint").write_text(json.dumps({"fingerprint": "other"}))
    with pytest.raises(InvalidValue, match="another input"):
        tokenize_file(vault, tenant, source, tmp_path / "out.jsonl")


@pytest.mark.parametrize(
    ("name", "content", "error"),
    [
        ("in.txt", "x", "unsupported input"),
        ("in.csv", "name,category\nx,generic\n", "'value' column"),
    ],
)
def test_unusable_inputs_are_refused(
    vault: Vault, tenant: str, tmp_path: Path, name: str, content: str, error: str
) -> None:
    (tmp_path / name).write_text(content)
    with pytest.raises(InvalidValue, match=error):
        tokenize_file(vault, tenant, tmp_path / name, tmp_path / "out.jsonl")
