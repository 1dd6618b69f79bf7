"""HTTP API of the vault: `/v1/tokens` (tokenize, in batches, search on the blind index) and a
subject's tokens and erasure under `/v1/subjects`."""

from __future__ import annotations

from fastapi import APIRouter, Header, Query, status
from pydantic import BaseModel, ConfigDict, Field, StrictStr

from tessera.policies import Action
from tessera.trust.gateway import AccessRequest, refused
from tessera.trust.http._dependencies import CallerDep, ServicesDep, Strict
from tessera.trust.http._models import AuthContextIn, SubjectPath, auth_context_of, one_of
from tessera.trust.identity import Scope
from tessera.vault import DataCategory, TokenizeRequest, TokenRecord, UnknownSubject

__all__ = ["router"]

router = APIRouter(prefix="/v1")


class TokenizeIn(Strict):
    model_config = ConfigDict(
        json_schema_extra={
            "examples": [
                {"value": "jean.dupont@example.fr", "category": "email", "subject": "cust_12345"},
                {"value": "+33612345678", "category": "phone", "subject": "cust_12345"},
            ]
        }
    )

    value: StrictStr = Field(description="The value to vault (at most 4 KiB).")
    category: StrictStr = Field(
        default="generic", description="Data category", json_schema_extra=one_of(DataCategory)
    )
    subject: StrictStr | None = Field(default=None, description="Pseudonymous subject id.")


class TokenOut(BaseModel):
    token: str
    category: str
    subject: str | None

    @classmethod
    def of(cls, record: TokenRecord) -> TokenOut:
        return cls(token=record.token, category=record.category.value, subject=record.subject)


class BatchTokenizeIn(Strict):
    items: list[TokenizeIn]


class TokensOut(BaseModel):
    tokens: list[TokenOut]


class SearchIn(Strict):
    value: StrictStr
    category: StrictStr = Field(json_schema_extra=one_of(DataCategory))


class ErasureOut(BaseModel):
    subject: str
    erased_at: str
    keys_destroyed: int
    items_destroyed: int
    audit_seq: int | None = None  # the audit entry of the decision, written before the erasure


@router.post(
    "/tokens", status_code=status.HTTP_201_CREATED, response_model=TokenOut, tags=["vault"]
)
def tokenize(body: TokenizeIn, who: CallerDep, services: ServicesDep) -> TokenOut:
    """Vault one value; the same value for the same subject returns the same token."""
    who.require(Scope.TOKENIZE)
    return TokenOut.of(
        services.vault.tokenize(
            who.tenant, body.value, category=body.category, subject=body.subject
        )
    )


@router.post("/tokens/batch", response_model=TokensOut, tags=["vault"])
def tokenize_batch(body: BatchTokenizeIn, who: CallerDep, services: ServicesDep) -> TokensOut:
    """Vault up to 10,000 values; one invalid item rejects the batch and names its index."""
    who.require(Scope.TOKENIZE)
    records = services.vault.tokenize_batch(
        who.tenant, [TokenizeRequest(i.value, i.category, i.subject) for i in body.items]
    )
    return TokensOut(tokens=[TokenOut.of(r) for r in records])


@router.post("/tokens/search", response_model=TokensOut, tags=["vault"])
def search(body: SearchIn, who: CallerDep, services: ServicesDep) -> TokensOut:
    """Tokens holding this value, matched on the blind index (nothing is decrypted)."""
    who.require(Scope.SEARCH)
    found = services.vault.find(who.tenant, body.value, category=body.category)
    return TokensOut(tokens=[TokenOut.of(r) for r in found])


@router.get("/subjects/{subject_id}/tokens", response_model=TokensOut, tags=["subjects"])
def subject_tokens(subject_id: SubjectPath, who: CallerDep, services: ServicesDep) -> TokensOut:
    """Every token held for a subject."""
    who.require(Scope.SEARCH)
    return TokensOut(
        tokens=[TokenOut.of(r) for r in services.vault.subject_tokens(who.tenant, subject_id)]
    )


@router.delete(
    "/subjects/{subject_id}",
    response_model=ErasureOut,
    tags=["subjects"],
    responses={403: {"description": "refused by policy, or a step-up is needed"}},
)
def erase_subject(
    subject_id: SubjectPath,
    who: CallerDep,
    services: ServicesDep,
    purpose: str = Query(default="dsr", max_length=64),
    channel: str = Query(default="web", max_length=32),
    session_id: str | None = Header(default=None, alias="Tessera-Session", max_length=128),
    assurance: str | None = Header(default=None, alias="Tessera-Assurance", max_length=16),
) -> ErasureOut:
    """Crypto-shred a subject: its data key is destroyed, every copy becomes unreadable.

    The gateway's `erase`: decided by policy (the DPO at high assurance, the customer from
    their own session) and recorded before the key is destroyed. The end user's session (or an
    identity provider's asserted assurance) travels in a header, never in the URL."""
    who.require(Scope.ERASE)
    held = sorted({t.category.value for t in services.vault.subject_tokens(who.tenant, subject_id)})
    if not held:
        raise UnknownSubject(f"nothing is held for subject {subject_id[:64]!r}")
    given = session_id is not None or assurance is not None
    result = services.gateway.access(
        who,
        AccessRequest(
            action=Action.ERASE,
            purpose=purpose,
            channel=channel,
            subject=subject_id,
            categories=tuple(held),
            auth=auth_context_of(AuthContextIn(session_id=session_id, assurance=assurance))
            if given
            else None,
        ),
    )
    if not result.allowed:
        raise refused(result)
    if not result.erasures:
        raise UnknownSubject(f"nothing is held for subject {subject_id[:64]!r}")
    erasure = result.erasures[0]
    return ErasureOut(
        subject=erasure.subject,
        erased_at=erasure.erased_at.isoformat(),
        keys_destroyed=erasure.keys_destroyed,
        items_destroyed=erasure.items_destroyed,
        audit_seq=result.audit_seq,
    )
