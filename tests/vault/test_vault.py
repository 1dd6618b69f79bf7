from __future__ import annotations

import threading

import pytest
from sqlalchemy import func, select, update
from stdnum import luhn

from tessera.vault import (
    DataCategory,
    InvalidToken,
    InvalidValue,
    LocalKeyring,
    MalformedToken,
    SensitiveAuthenticationData,
    TokenizeRequest,
    UnknownSubject,
    ValueTooLarge,
    Vault,
    VaultLimits,
)
from tessera.vault._models import DataKey, SubjectErasure, VaultItem

CARD = "4970101234567893"

SAMPLES = [
    ("4970 1012 3456 7893", "card_pan", CARD, "•••• 7893"),
    ("jean.dupont@example.fr", "email", "jean.dupont@example.fr", "j•••@example.fr"),
    ("06 12 34 56 78", "phone", "+33612345678", "+33 •••••••78"),
    ("FR14 2004 1010 0505 0001 3M02 606", "iban", "FR1420041010050500013M02606", "FR14 •••• 2606"),
    ("Jean Dupont", "person_name", "Jean Dupont", "J••• D•••••"),
    (
        "12 rue de la Paix, 75002 Paris",
        "postal_address",
        "12 rue de la Paix, 75002 Paris",
        "••••••",
    ),
    ("1985-04-12", "date_of_birth", "1985-04-12", "••/••/••••"),
    ("185047512345678", "national_id", "185047512345678", "••••••"),
    ("anything", "generic", "anything", "••••••"),
]


def rows(vault: Vault, tenant: str) -> int:
    return vault.count_items(tenant)


@pytest.mark.parametrize(("value", "category", "stored", "masked"), SAMPLES)
def test_round_trip_per_category(
    vault: Vault, tenant: str, value: str, category: str, stored: str, masked: str
) -> None:
    record = vault.tokenize(tenant, value, category=category, subject="cust-1")
    assert record.category == DataCategory(category)
    vault.clear_cache()  # go through the key store, not the cache
    detok = vault.detokenize(tenant, record.token)
    assert (detok.value, detok.subject, detok.category.value) == (stored, "cust-1", category)
    assert vault.reveal_masked(tenant, record.token) == masked


def test_card_tokens_keep_bin_and_last_four_and_fail_luhn(vault: Vault, tenant: str) -> None:
    token = vault.tokenize(tenant, CARD, category="card_pan").token
    assert token[:8] == CARD[:8] and token[-4:] == CARD[-4:]
    assert token != CARD and not luhn.is_valid(token)


def test_ciphertext_never_contains_the_value(vault: Vault, tenant: str, shared_stores) -> None:
    vault.tokenize(tenant, "jean.dupont@example.fr", category="email", subject="s")
    t = VaultItem.__table__
    with shared_stores.data.begin() as conn:
        blob = conn.execute(select(t.c.ciphertext).where(t.c.tenant_id == tenant)).scalar_one()
    assert b"jean" not in bytes(blob)


def test_same_value_same_owner_keeps_its_token(vault: Vault, tenant: str) -> None:
    a = vault.tokenize(tenant, "Jean.Dupont@example.fr", category="email", subject="c1")
    b = vault.tokenize(tenant, "jean.dupont@EXAMPLE.fr", category="email", subject="c1")
    assert a.token == b.token
    assert rows(vault, tenant) == 1


def test_same_value_for_two_subjects_gets_two_tokens(vault: Vault, tenant: str) -> None:
    """Each subject's copy dies with its own key: erasing one must not touch the other."""
    a = vault.tokenize(tenant, CARD, category="card_pan", subject="c1")
    b = vault.tokenize(tenant, CARD, category="card_pan", subject="c2")
    assert a.token != b.token
    vault.erase_subject(tenant, "c1")
    assert vault.detokenize(tenant, b.token).value == CARD


def test_batch_returns_tokens_in_order_and_dedupes_within_the_batch(
    vault: Vault, tenant: str
) -> None:
    items = [TokenizeRequest(f"v{i % 50}", "generic", f"s{i % 5}") for i in range(500)]
    records = vault.tokenize_batch(tenant, items)
    assert len(records) == 500
    assert rows(vault, tenant) == 50  # v{i%50} with s{i%5}: 50 distinct pairs
    values = vault.detokenize_batch(tenant, [r.token for r in records])
    assert [v.value for v in values] == [item.value for item in items]


def test_invalid_item_rejects_the_whole_batch_and_names_it(vault: Vault, tenant: str) -> None:
    vault.tokenize(tenant, "kept", subject="c1")
    items = [TokenizeRequest("ok", "generic"), TokenizeRequest("4242 4242 4242 4241", "card_pan")]
    with pytest.raises(InvalidValue, match="item 1: card number fails the Luhn check"):
        vault.tokenize_batch(tenant, items)
    assert rows(vault, tenant) == 1


def test_cvv_in_a_batch_is_refused_and_nothing_is_stored(vault: Vault, tenant: str) -> None:
    with pytest.raises(SensitiveAuthenticationData):
        vault.tokenize_batch(
            tenant, [TokenizeRequest(CARD, "card_pan"), TokenizeRequest("123", "cvv")]
        )
    assert rows(vault, tenant) == 0


def test_batch_over_the_limit_is_refused(shared_stores, shared_keyring, tenant: str) -> None:
    small = Vault(
        data=shared_stores.data,
        keys=shared_stores.keys,
        key_provider=shared_keyring,
        limits=VaultLimits(max_batch_items=3),
    )
    with pytest.raises(ValueTooLarge, match="at most 3"):
        small.tokenize_batch(tenant, [TokenizeRequest(str(i)) for i in range(4)])
    with pytest.raises(ValueTooLarge):
        small.detokenize_batch(tenant, ["tok_" + "a" * 32] * 4)


def test_unknown_token_is_invalid(vault: Vault, tenant: str) -> None:
    with pytest.raises(InvalidToken):
        vault.detokenize(tenant, "tok_" + "a" * 32)


def test_another_tenants_token_answers_exactly_like_an_unknown_one(
    vault: Vault, tenant: str, other_tenant: str
) -> None:
    record = vault.tokenize(tenant, "secret", subject="c1")
    with pytest.raises(InvalidToken) as theirs:
        vault.detokenize(other_tenant, record.token)
    with pytest.raises(InvalidToken) as unknown:
        vault.detokenize(other_tenant, "tok_" + "b" * 32)
    assert str(theirs.value) == str(unknown.value)
    assert vault.find(other_tenant, "secret", category="generic") == []


def test_malformed_tokens_are_refused(vault: Vault, tenant: str) -> None:
    with pytest.raises(MalformedToken, match="item 1"):
        vault.detokenize_batch(tenant, ["tok_" + "a" * 32, "nope"])
    with pytest.raises(MalformedToken, match="card number"):
        vault.detokenize(tenant, CARD)


def test_a_ciphertext_moved_to_another_row_does_not_decrypt(
    vault: Vault, tenant: str, shared_stores
) -> None:
    a = vault.tokenize(tenant, "alpha", subject="c1")
    b = vault.tokenize(tenant, "bravo", subject="c1")
    t = VaultItem.__table__
    with shared_stores.data.begin() as conn:
        blob_a = conn.execute(
            select(t.c.ciphertext).where(t.c.tenant_id == tenant, t.c.token == a.token)
        ).scalar_one()
        conn.execute(
            update(t).where(t.c.tenant_id == tenant, t.c.token == b.token).values(ciphertext=blob_a)
        )
    assert vault.detokenize(tenant, a.token).value == "alpha"
    with pytest.raises(InvalidToken):
        vault.detokenize(tenant, b.token)


def test_a_row_moved_to_another_subject_does_not_decrypt(
    vault: Vault, tenant: str, shared_stores
) -> None:
    a = vault.tokenize(tenant, "alpha", subject="c1")
    vault.tokenize(tenant, "other", subject="c2")
    t = VaultItem.__table__
    with shared_stores.data.begin() as conn:
        conn.execute(
            update(t).where(t.c.tenant_id == tenant, t.c.token == a.token).values(subject_id="c2")
        )
    with pytest.raises(InvalidToken):
        vault.detokenize(tenant, a.token)


def test_blind_index_matches_equal_values_only_within_a_tenant(
    vault: Vault, tenant: str, other_tenant: str
) -> None:
    one = vault.blind_index(tenant, "Jean@Example.fr", category="email")
    assert one == vault.blind_index(tenant, "jean@example.FR", category="email")
    assert one != vault.blind_index(other_tenant, "jean@example.fr", category="email")
    assert one != vault.blind_index(tenant, "jean@example.fr", category="generic")
    assert len(one) == 64


def test_find_by_value_without_decrypting(vault: Vault, tenant: str) -> None:
    a = vault.tokenize(tenant, "+33 6 12 34 56 78", category="phone", subject="c1")
    b = vault.tokenize(tenant, "06 12 34 56 78", category="phone", subject="c2")
    found = vault.find(tenant, "0612345678", category="phone")
    assert {r.token for r in found} == {a.token, b.token}


def test_many_cards_sharing_bin_and_last_four_get_distinct_tokens(
    vault: Vault, tenant: str
) -> None:
    """Few middle digits are free (4 with BIN 8 on 16 digits): collisions must be handled."""
    # Every valid card with BIN 49701012 and last four 7893: about 1,000 cards for 9,000 tokens.
    pans = [p for m in range(10_000) if luhn.is_valid(p := f"49701012{m:04d}7893")]
    assert len(pans) > 900
    half = len(pans) // 2
    batch = vault.tokenize_batch(tenant, [TokenizeRequest(p, "card_pan") for p in pans[:half]])
    singles = [vault.tokenize(tenant, p, category="card_pan") for p in pans[half:]]
    tokens = [r.token for r in batch + singles]
    assert len(set(tokens)) == len(pans)
    assert [d.value for d in vault.detokenize_batch(tenant, tokens)] == pans


def test_concurrent_first_use_of_a_subject_creates_one_key(
    shared_stores, shared_keyring, tenant: str
) -> None:
    vaults = [
        Vault(data=shared_stores.data, keys=shared_stores.keys, key_provider=shared_keyring)
        for _ in range(8)
    ]
    tokens: list[str] = []
    errors: list[BaseException] = []
    barrier = threading.Barrier(8)

    def work(i: int) -> None:
        try:
            barrier.wait()
            tokens.append(vaults[i].tokenize(tenant, f"value {i}", subject="new-subject").token)
        except BaseException as exc:  # pragma: no cover - reported below
            errors.append(exc)

    threads = [threading.Thread(target=work, args=(i,)) for i in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert not errors
    t = DataKey.__table__
    with shared_stores.keys.begin() as conn:
        count = conn.execute(
            select(func.count())
            .select_from(t)
            .where(t.c.tenant_id == tenant, t.c.scope == "subject")
        ).scalar_one()
    assert count == 1
    fresh = Vault(data=shared_stores.data, keys=shared_stores.keys, key_provider=shared_keyring)
    assert sorted(d.value for d in fresh.detokenize_batch(tenant, tokens)) == sorted(
        f"value {i}" for i in range(8)
    )


def test_erasure_makes_every_token_of_the_subject_unreadable(vault: Vault, tenant: str) -> None:
    mine = [vault.tokenize(tenant, v, category=c, subject="c1").token for v, c, *_ in SAMPLES]
    theirs = vault.tokenize(tenant, "kept", subject="c2").token
    erasure = vault.erase_subject(tenant, "c1")
    assert (erasure.keys_destroyed, erasure.items_destroyed) == (1, len(SAMPLES))
    for token in mine:
        with pytest.raises(InvalidToken):
            vault.detokenize(tenant, token)
    assert vault.detokenize(tenant, theirs).value == "kept"
    assert vault.subject_tokens(tenant, "c1") == []


def test_erasure_is_recorded_without_data_and_is_idempotent(
    vault: Vault, tenant: str, shared_stores
) -> None:
    vault.tokenize(tenant, "jean@example.fr", category="email", subject="c1")
    first = vault.erase_subject(tenant, "c1")
    again = vault.erase_subject(tenant, "c1")
    assert again == first
    t = SubjectErasure.__table__
    with shared_stores.data.begin() as conn:
        records = conn.execute(select(t).where(t.c.tenant_id == tenant)).all()
    assert len(records) == 1
    assert "jean" not in repr(records)


def test_erasing_an_unknown_subject_is_an_error(vault: Vault, tenant: str) -> None:
    with pytest.raises(UnknownSubject):
        vault.erase_subject(tenant, "never-seen")


def test_erasing_another_tenants_subject_touches_nothing(
    vault: Vault, tenant: str, other_tenant: str
) -> None:
    record = vault.tokenize(tenant, "mine", subject="c1")
    with pytest.raises(UnknownSubject):
        vault.erase_subject(other_tenant, "c1")
    assert vault.detokenize(tenant, record.token).value == "mine"


def test_a_subject_can_come_back_after_erasure_with_a_new_key(vault: Vault, tenant: str) -> None:
    old = vault.tokenize(tenant, "first life", subject="c1")
    vault.erase_subject(tenant, "c1")
    new = vault.tokenize(tenant, "second life", subject="c1")
    assert vault.detokenize(tenant, new.token).value == "second life"
    with pytest.raises(InvalidToken):
        vault.detokenize(tenant, old.token)


@pytest.mark.parametrize("subject", ["", "has space", "x" * 129, "émile", "a/b"])
def test_bad_subject_ids_are_refused(vault: Vault, tenant: str, subject: str) -> None:
    with pytest.raises(InvalidValue, match="subject"):
        vault.tokenize(tenant, "v", subject=subject) if subject else vault.erase_subject(tenant, "")


@pytest.mark.parametrize("bad", ["", "UPPER", "-lead", "x" * 65, "a b"])
def test_bad_tenant_ids_are_refused(vault: Vault, bad: str) -> None:
    with pytest.raises(InvalidValue, match="tenant"):
        vault.tokenize(bad, "v")


def test_a_fresh_vault_reads_what_another_wrote(
    shared_stores, shared_keyring: LocalKeyring, tenant: str
) -> None:
    writer = Vault(data=shared_stores.data, keys=shared_stores.keys, key_provider=shared_keyring)
    token = writer.tokenize(tenant, "persisted", subject="c9").token
    reader = Vault(data=shared_stores.data, keys=shared_stores.keys, key_provider=shared_keyring)
    assert reader.detokenize(tenant, token).value == "persisted"
