from __future__ import annotations

import datetime as dt

import pytest

from tessera.auth import Authenticator, Observation, Outbox
from tessera.policies import Assurance
from tessera.vault import DataCategory, Vault
from tests.conftest import Clock, Stores

ORIGIN = "https://shop.example"
RP_ID = "shop.example"

IPHONE = (
    "Mozilla/5.0 (iPhone; CPU iPhone OS 17_1 like Mac OS X) AppleWebKit/605.1.15 "
    "(KHTML, like Gecko) Version/17.1 Mobile/15E148 Safari/604.1"
)
FIREFOX_LINUX = "Mozilla/5.0 (X11; Linux x86_64; rv:128.0) Gecko/20100101 Firefox/128.0"
ORANGE_FR = "86.200.12.34"  # Orange, France
OVH_FR = "51.38.12.34"  # OVH, a hosting network in France
GOOGLE_US = "8.8.8.8"


@pytest.fixture
def clock() -> Clock:
    """Yesterday at 13:00 UTC: mid-way in a 4-hour band, so that the habits `learn_home`
    teaches and the sign-in an hour later share a time of day whenever the suite runs."""
    clock = Clock()
    clock.now = (clock.now - dt.timedelta(days=1)).replace(hour=13, minute=0, second=0)
    return clock


@pytest.fixture
def outbox() -> Outbox:
    return Outbox()


@pytest.fixture
def authenticator(
    shared_stores: Stores, vault: Vault, outbox: Outbox, clock: Clock
) -> Authenticator:
    from tessera.auth import AuthSettings

    return Authenticator(
        db=shared_stores.data,
        vault=vault,
        notifier=outbox,
        settings=AuthSettings(rp_id=RP_ID, origins=(ORIGIN,)),
        clock=clock,
    )


def at_home(clock: Clock, **changes: object) -> Observation:
    values: dict[str, object] = {
        "channel": "app",
        "at": clock(),
        "ip": ORANGE_FR,
        "user_agent": IPHONE,
        "device_id": "install-1234",
    }
    values.update(changes)
    return Observation(**values)  # type: ignore[arg-type]


def risky(clock: Clock, n: int = 0) -> Observation:
    """A new phone on a new home network: unusual enough to ask for a step-up."""
    return at_home(
        clock,
        device_id=f"new-phone-{n}",
        user_agent="Mozilla/5.0 (Linux; Android 14)",
        ip=f"88.160.{n % 250}.5",
    )


def with_phone(authenticator: Authenticator, tenant: str, subject: str) -> str:
    """Register the subject's vaulted mobile number as a one-time-code destination."""
    token = authenticator.vault.tokenize(
        tenant, "+33612345678", category=DataCategory.PHONE, subject=subject
    ).token
    authenticator.register_destination(tenant, subject, "sms", token)
    return token


def learn_home(
    authenticator: Authenticator, tenant: str, subject: str, clock: Clock, *, days: int = 20
) -> None:
    """A customer's usual evenings at home, and a population of other customers."""
    for i in range(40):
        other = f"other-{i}"
        with_phone(authenticator, tenant, other)
        first = authenticator.assess(
            tenant,
            other,
            Observation(
                channel=["app", "web", "chat"][i % 3],
                at=clock(),
                ip=["86.200.1.1", "82.64.1.1", "109.0.0.1", "80.12.0.1"][i % 4],
                user_agent=[IPHONE, FIREFOX_LINUX][i % 2],
                device_id=f"device-{i}",
            ),
        )
        with_otp_pass(authenticator, tenant, first.decision_id)
    for day in range(days):
        clock.advance(days=1)
        if day == 0:  # the first sign-in has no history: a step-up teaches it
            first = authenticator.assess(tenant, subject, at_home(clock))
            with_otp_pass(authenticator, tenant, first.decision_id)
        else:  # then the history the bank's own sign-in reports (strong, with a passkey)
            authenticator.report_strong_authentication(
                tenant, subject, at_home(clock), method="passkey"
            )
    clock.advance(hours=1)


def with_otp_pass(authenticator: Authenticator, tenant: str, decision_id: str) -> None:
    outbox = authenticator.notifier
    challenge = authenticator.begin_step_up(tenant, "otp", decision_id=decision_id)
    code = outbox.last().message.split(": ")[1][:6]  # type: ignore[union-attr]
    authenticator.complete_step_up(tenant, challenge.id, code=code)


def later(clock: Clock, **delta: float) -> dt.datetime:
    clock.advance(**delta)
    return clock()


def strong_session(auth: Authenticator, tenant: str, subject: str, clock: Clock) -> str:
    """A fresh substantial session, got with a one-time code."""
    if not any(f.kind == "otp" for f in auth.factors(tenant, subject)):
        with_phone(auth, tenant, subject)
    first = auth.assess(tenant, subject, risky(clock, 7))
    if first.session is not None:  # usual enough: raise the silent session instead
        challenge = auth.begin_step_up(tenant, "otp", session_id=first.session.id)
    else:
        challenge = auth.begin_step_up(tenant, "otp", decision_id=first.decision_id)
    code = auth.notifier.last().message.split(": ")[1][:6]
    issued, info = auth.complete_step_up(tenant, challenge.id, code=code)
    assert info.assurance is Assurance.SUBSTANTIAL
    return issued.id if issued is not None else first.session.id
