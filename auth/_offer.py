"""Which second factors a step-up may offer, given what the risk is about.

Stepping up is not stopping when the factor travels over the channel under attack: after a SIM
swap, a code sent by SMS reaches the swapped SIM; a messaging account bound days ago may be the
attacker's. When the risk involves a channel, no one-time code is offered at all (each of them
reaches the customer over a line or an account that can be moved or reset from that line), only
factors held in the customer's hand: a passkey, a TOTP seed, or the approval on their app signed
by its device-bound key. With none of those enrolled, the answer is a refusal with its reason
and a route to an agent's stronger checks, never the compromised channel.
"""

from __future__ import annotations

from collections.abc import Iterable

from ._risk import Signals

__all__ = [
    "FACTORS",
    "SAFE_FROM_CHANNELS",
    "channel_words",
    "offered_factors",
    "withheld_channels",
]

# The factors a customer can step up with (`device` rows are the app's keys: "app").
FACTORS = ("app", "otp", "totp", "webauthn")
SAFE_FROM_CHANNELS = frozenset({"app", "totp", "webauthn"})
_CALLS = frozenset({"voice_ivr", "voice_agent", "voice_assistant"})


def withheld_channels(signals: Signals) -> frozenset[str]:
    """The channels this session's risk involves: a recent SIM change on the line, a call whose
    caller id has only partial or gateway attestation (B or C), a messaging account that is not
    bound to the customer or was bound only days ago."""
    channels = set()
    if signals.sim_swapped:
        channels.add("phone")
    if signals.channel in _CALLS and signals.attestation in ("B", "C"):
        channels.add("phone")
    if signals.sender_bound is False or signals.sender_recent:
        channels.add("messaging")
    return frozenset(channels)


def offered_factors(
    enrolled: Iterable[str], withheld: frozenset[str] = frozenset()
) -> tuple[str, ...]:
    """The factor kinds to offer, from the kinds of the customer's active factors."""
    kinds = {"app" if kind == "device" else kind for kind in enrolled}
    allowed = SAFE_FROM_CHANNELS if withheld else frozenset(FACTORS)
    return tuple(sorted(kinds & allowed))


def channel_words(withheld: frozenset[str]) -> str:
    """The withheld channels in the words of an explanation."""
    words = {"phone": "the phone line", "messaging": "the messaging account"}
    return " and ".join(words[c] for c in sorted(withheld) if c in words)
