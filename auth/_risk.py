"""Risk scoring as pure functions: how usual is each signal for this customer, against the
population (a likelihood ratio in the style of Freeman et al., NDSS 2016)?

For each feature, `ratio = P(value | customer) / P(value | population)`. The customer's estimate
is smoothed toward the population's, so a value never seen for the customer counts as new, not
impossible; the population's uses add-one smoothing, so a value never seen anywhere is rare, not
undefined. The score adds `-log(ratio)` over features (higher = riskier) plus hard signals that
no habit excuses (a hosting network, impossible travel, recent failures). A missing signal is
unknown: it weighs like a rare value, never like a familiar one.
"""

from __future__ import annotations

import enum
import math
from collections.abc import Mapping
from dataclasses import dataclass, field

from ._errors import InvalidThresholds

__all__ = [
    "DEFAULT_THRESHOLDS",
    "FEATURES",
    "Population",
    "Profile",
    "RiskAction",
    "RiskAssessment",
    "RiskDecision",
    "Signals",
    "Thresholds",
    "assess",
    "explain",
    "thresholds_table",
]

# The habits a profile learns, with the words an explanation uses for an unusual value.
FEATURES: dict[str, str] = {
    "device": "new device",
    "ua_family": "new browser or app",
    "os_family": "new operating system",
    "network": "new network",
    "asn": "new internet provider",
    "country": "new country",
    "hour_band": "unusual time of day",
    "week_part": "unusual day of the week",
    "channel": "unusual channel",
    "typing": "unusual typing rhythm",
}
# What each kind of channel can observe at all: a phone call has no browser and no IP. A feature
# the channel cannot give is not "missing" (that weighs as rare); it is simply not judged.
_CALL_FEATURES = frozenset({"device", "hour_band", "week_part", "channel"})
# Channels whose caller is a phone line, and whose device is that line (no device id of their
# own).
LINES = frozenset({"voice_ivr", "voice_agent", "voice_assistant", "sms"})
CHANNEL_FEATURES: dict[str, frozenset[str]] = {
    "voice_ivr": _CALL_FEATURES,
    "voice_agent": _CALL_FEATURES,
    "voice_assistant": _CALL_FEATURES,
    "sms": _CALL_FEATURES,
    "messaging": _CALL_FEATURES,
}
# Typing rhythm is a bonus: clients that can't measure it (a screen reader, no script) are not
# penalized, and its absence is neutral, never familiar. The day of the week is always known to
# the service (its own clock); a caller scoring without it loses that habit, nothing more.
_OPTIONAL = frozenset({"typing", "week_part"})
_SMOOTHING = 2.0  # pseudo-sessions pulling a customer's estimate toward the population's
_MISSING = math.log(8.0)  # a missing signal weighs like a value 8× rarer than usual
# Familiarity lowers the risk, but one familiar signal can't cancel another's novelty:
# an attacker who copies a customer's browser and channel gains little.
_FAMILIAR_FLOOR = -0.5
# A value no customer of the tenant ever used (a scripted client, an exotic network) costs
# more than one that is merely new to this customer; judged once the population is known.
_NEVER_SEEN = math.log(4.0)
_POPULATION_KNOWN = 100
_NO_HISTORY = 8.0
_NONE: Mapping[str, int] = {}


class RiskAction(enum.StrEnum):
    LOGIN = "login"
    READ = "read"
    DETOKENIZE = "detokenize"
    PAY = "pay"


class RiskDecision(enum.StrEnum):
    ALLOW = "allow"
    STEP_UP = "step_up"
    DENY = "deny"


@dataclass(frozen=True, slots=True)
class Signals:
    """What the channel observed, minimized: identifiers as keyed hashes, IP as prefix + ASN."""

    device: str | None = None
    ua_family: str | None = None
    os_family: str | None = None
    network: str | None = None  # IP prefix
    asn: str | int | None = None  # autonomous system (number or registry name)
    country: str | None = None
    hour: int | None = None
    weekday: int | None = None  # 0 = Monday … 6 = Sunday, on the same clock as `hour`
    channel: str | None = None
    hosting_network: bool = False
    mobile_network: bool = False  # the operator's networks are a mobile operator's
    travel_kmh: float | None = None  # speed implied since the last strong authentication
    recent_failures: int = 0
    caller_id_matches: bool | None = None  # voice: the call comes from the registered number
    attestation: str | None = None  # STIR/SHAKEN level of that caller id: A, B or C
    sim_swapped: bool | None = None  # the operator reports a recent SIM change on that line
    sender_bound: bool | None = None  # messaging: the sender id is already bound to them
    sender_recent: bool | None = None  # …but only since a few days (a takeover binds its own)
    device_key: bool | None = None  # app: True = a registered device key signed, False = forged
    typing_ms: float | None = None  # mean interval between keystrokes, from the client

    def values(self) -> dict[str, str | None]:
        band = None if self.hour is None or not 0 <= self.hour <= 23 else str(self.hour // 4)
        return {
            "device": self.device,
            "ua_family": self.ua_family,
            "os_family": self.os_family,
            "network": self.network,
            "asn": None if self.asn is None else str(self.asn),
            "country": self.country,
            "hour_band": band,
            "week_part": _week_part(self.weekday),
            "channel": self.channel,
            "typing": _typing_band(self.typing_ms),
        }

    def judged(self) -> frozenset[str]:
        """The features this session's channel can observe."""
        return CHANNEL_FEATURES.get(self.channel or "", _ALL)


_ALL = frozenset(FEATURES)


def _week_part(weekday: int | None) -> str | None:
    """Workday or weekend: a habit a profile of a few dozen sessions can learn (seven days
    would be too sparse to tell a new day from an unusual one)."""
    if weekday is None or not 0 <= weekday <= 6:
        return None
    return "weekend" if weekday >= 5 else "workday"


def _typing_band(ms: float | None) -> str | None:
    """Keystroke intervals in bands 25 % wide: habits, not exact values."""
    if ms is None or not math.isfinite(ms) or not 20.0 <= ms <= 5000.0:
        return None
    return str(round(math.log(ms) / math.log(1.25)))


def _counted(
    counts: Mapping[str, Mapping[str, int]], signals: Signals
) -> dict[str, dict[str, int]]:
    """New counts: the old ones plus this session's values (the old ones stay unchanged)."""
    updated = {f: dict(counts.get(f, {})) for f in FEATURES}
    for feature, value in signals.values().items():
        if value is not None:
            updated[feature][value] = updated[feature].get(value, 0) + 1
    return updated


@dataclass(frozen=True, slots=True)
class Profile:
    """Counts of feature values over sessions that ended in a successful strong authentication.

    Only those teach it (`learn` is called after a passed step-up or a low-risk login), so
    failed attacks never make themselves look usual.
    """

    sessions: int = 0
    counts: Mapping[str, Mapping[str, int]] = field(default_factory=dict)

    def learn(self, signals: Signals) -> Profile:
        return Profile(self.sessions + 1, _counted(self.counts, signals))


@dataclass(frozen=True, slots=True)
class Population:
    """The same counts over every customer of the tenant: what is common anyway."""

    sessions: int = 0
    counts: Mapping[str, Mapping[str, int]] = field(default_factory=dict)
    distinct: Mapping[str, int] = field(default_factory=dict)

    def learn(self, signals: Signals) -> Population:
        counts = _counted(self.counts, signals)
        return Population(self.sessions + 1, counts, {f: len(counts[f]) for f in FEATURES})


@dataclass(frozen=True, slots=True)
class Thresholds:
    """Scores at or above `step_up` ask for a second factor; at or above `deny`, refuse."""

    step_up: float
    deny: float


DEFAULT_THRESHOLDS: dict[RiskAction, Thresholds] = {
    RiskAction.LOGIN: Thresholds(step_up=5.0, deny=20.0),
    RiskAction.READ: Thresholds(step_up=6.0, deny=22.0),
    RiskAction.DETOKENIZE: Thresholds(step_up=2.0, deny=18.0),
    RiskAction.PAY: Thresholds(step_up=1.0, deny=16.0),
}


def thresholds_table(
    overrides: Mapping[str, object], base: Mapping[RiskAction, Thresholds] | None = None
) -> dict[RiskAction, Thresholds]:
    """`base` (default: DEFAULT_THRESHOLDS) with some actions overridden, as a settings file
    spells them: `{"pay": {"step_up": 0.5, "deny": 14}}`. A half-given pair keeps the other half
    from `base`."""
    table = dict(DEFAULT_THRESHOLDS if base is None else base)
    if not isinstance(overrides, Mapping):
        raise InvalidThresholds("thresholds are a mapping of action to {step_up, deny}")
    for name, limits in overrides.items():
        try:
            action = RiskAction(name)
        except ValueError:
            known = ", ".join(a.value for a in RiskAction)
            raise InvalidThresholds(f"unknown action {str(name)[:40]!r} (known: {known})") from None
        if not isinstance(limits, Mapping) or not set(limits) <= {"step_up", "deny"}:
            raise InvalidThresholds(f"{action}: give step_up and/or deny, nothing else")
        pair = {"step_up": table[action].step_up, "deny": table[action].deny}
        for key, value in limits.items():
            if isinstance(value, bool) or not isinstance(value, int | float):
                raise InvalidThresholds(f"{action}.{key} must be a number")
            pair[key] = float(value)
        if not all(math.isfinite(v) for v in pair.values()) or not (
            0.0 <= pair["step_up"] <= pair["deny"]
        ):
            raise InvalidThresholds(f"{action}: need 0 ≤ step_up ≤ deny, both finite")
        table[action] = Thresholds(**pair)
    return table


@dataclass(frozen=True, slots=True)
class RiskAssessment:
    score: float
    decision: RiskDecision
    contributions: dict[str, float]  # per feature or hard signal; > 0 raised the risk
    explanation: str
    missing: frozenset[str] = frozenset()


def assess(
    signals: Signals,
    profile: Profile,
    population: Population,
    *,
    action: RiskAction = RiskAction.LOGIN,
    thresholds: Mapping[RiskAction, Thresholds] | None = None,
) -> RiskAssessment:
    """Score one session or action; explain it in words a customer or an agent can read."""
    contributions: dict[str, float] = {}
    missing = set()
    judged = signals.judged()
    known_population = population.sessions >= _POPULATION_KNOWN
    mine: dict[str, int] = {}
    # A calling line registered to the customer, or a messaging account bound to them (for a
    # week or more), is a device they declared: familiar from its first use.
    declared = (signals.channel in LINES and signals.caller_id_matches is True) or (
        signals.channel == "messaging"
        and signals.sender_bound is True
        and not signals.sender_recent
    )
    for feature, value in signals.values().items():
        if feature not in judged:
            continue
        if feature == "device" and declared:
            contributions[feature], mine[feature] = _FAMILIAR_FLOOR, 1
            continue
        if value is None:
            if feature not in _OPTIONAL:
                contributions[feature] = _MISSING
                missing.add(feature)
            continue
        # P(value | population), add-one smoothed with room for one value never seen; the
        # customer's estimate is pulled toward it by _SMOOTHING pseudo-sessions.
        seen_anywhere = population.counts.get(feature, _NONE).get(value, 0)
        seen_mine = profile.counts.get(feature, _NONE).get(value, 0)
        mine[feature] = seen_mine
        p_pop = (seen_anywhere + 1.0) / (
            population.sessions + population.distinct.get(feature, 0) + 1
        )
        p_customer = (seen_mine + _SMOOTHING * p_pop) / (profile.sessions + _SMOOTHING)
        contribution = max(_FAMILIAR_FLOOR, -math.log(p_customer / p_pop))
        if not seen_mine and profile.sessions:
            # A value this customer never showed weighs at least what no value does: otherwise
            # a made-up device id or network would look better than sending none. (A first
            # sign-in has nothing to compare with, and is stepped up whatever it sends.)
            contribution = max(contribution, _MISSING)
        if known_population and not seen_anywhere and not seen_mine:
            contribution += _NEVER_SEEN
        contributions[feature] = contribution
    new_network = _network_as_one(contributions, mine, signals)
    _count_once(contributions, mine, _DEVICE_LEVELS)
    if new_network and profile.sessions and "device" in judged and not mine.get("device"):
        # (Unknown counts as new: a session that hides its device and network is never
        # safer than one that shows new ones.)
        # A new device and a new network at once: the customer changes one at a time (a new
        # phone at home, their own phone abroad); whoever holds neither brings both.
        contributions["new_device_and_network"] = _NEW_DEVICE_AND_NETWORK
    if profile.sessions == 0:
        # No history to compare with: the first sign-in teaches the profile, so it must be strong.
        contributions["no_history"] = _NO_HISTORY
    if signals.hosting_network:
        contributions["hosting_network"] = 6.0
    if signals.travel_kmh is not None and signals.travel_kmh > 1000:
        contributions["impossible_travel"] = 10.0
    if signals.recent_failures > 0:
        contributions["recent_failures"] = 1.5 * min(signals.recent_failures, 5)
    if signals.caller_id_matches is True:
        # A number can be spoofed; the operator's attestation says how far to trust it.
        contributions["caller_id"] = {"A": -2.0, "B": -1.0, "C": 1.0}.get(
            signals.attestation or "", -0.5
        )
    elif signals.caller_id_matches is False:
        contributions["caller_id"] = 3.0
    if signals.sim_swapped:
        # The number is right, but the SIM behind it is new: the SIM-swap fraud pattern.
        contributions["sim_swap"] = 10.0
    if signals.sender_bound is True and signals.sender_recent:
        contributions["sender_recent"] = 2.0
    elif signals.sender_bound is True:
        contributions["sender"] = -1.5
    elif signals.sender_bound is False:
        contributions["sender"] = 3.0
    if signals.device_key is True:
        contributions["device_key"] = -2.0
    elif signals.device_key is False:
        contributions["device_key"] = 25.0  # a forgery: deny whatever else
    # Habits can bring their own part down to zero, never below: familiarity never excuses a
    # hard signal (a hosting network, impossible travel, failures, a foreign caller number).
    habits = sum(c for f, c in contributions.items() if f in FEATURES)
    score = max(habits, 0.0) + sum(c for f, c in contributions.items() if f not in FEATURES)
    limits = (thresholds or DEFAULT_THRESHOLDS)[action]
    decision = (
        RiskDecision.DENY
        if score >= limits.deny
        else RiskDecision.STEP_UP
        if score >= limits.step_up
        else RiskDecision.ALLOW
    )
    return RiskAssessment(
        score, decision, contributions, explain(contributions, missing), frozenset(missing)
    )


# Correlated signals are hierarchies, each counted once: network prefix ⊂ operator (ASN) ⊂
# country; device ⊂ browser or app ⊂ operating system.
_NETWORK_LEVELS = ("country", "asn", "network")
_DEVICE_LEVELS = ("os_family", "ua_family", "device")
# A new prefix of an operator the customer uses is weak evidence (addresses are reassigned,
# mobile operators NAT whole regions): at most this much; nothing for a mobile operator.
_NEW_PREFIX_OF_KNOWN_OPERATOR = 1.0
_NEW_DEVICE_AND_NETWORK = 3.0


def _count_once(
    contributions: dict[str, float], mine: Mapping[str, int], levels: tuple[str, ...]
) -> tuple[str | None, str | None]:
    """Counts a hierarchy once, in place: the most specific level the customer is familiar
    with keeps its (familiar) weight, the level just below it says how surprising the rest is,
    and the levels below that are implied by it (a new country brings a new operator and a new
    prefix; a new operating system, a new device). Familiar levels above it are implied too;
    a new one above it is an inconsistency (a known device id in a browser this customer never
    used: a copied cookie) and keeps its weight. A hierarchy missing altogether counts once, at
    its most specific level. Returns (familiar level, first new level)."""
    present = [f for f in levels if f in contributions]
    if len(present) < 2:
        return None, None
    familiar = max((i for i, f in enumerate(present) if mine.get(f, 0) > 0), default=-1)
    if familiar < 0:
        seen = [f for f in present if f in mine]  # given a value (new), not missing
        new: str | None = seen[0] if seen else present[-1]
        kept = {new}
    else:
        new = present[familiar + 1] if familiar + 1 < len(present) else None
        kept = {present[familiar], *([new] if new else [])}
        kept |= {f for f in present[:familiar] if f in mine and not mine[f]}
    for level in present:
        if level not in kept:
            del contributions[level]
    return (present[familiar] if familiar >= 0 else None), new


def _network_as_one(
    contributions: dict[str, float], mine: Mapping[str, int], signals: Signals
) -> bool:
    """The network counted once (`_count_once`). A proven device-bound key halves what a new
    level weighs: the customer's own app, abroad, is the traveller, not a thief. True when the
    network is new to the customer, but for a new address of their mobile operator."""
    familiar, new = _count_once(contributions, mine, _NETWORK_LEVELS)
    if new is None:
        return False
    if new == "network" and familiar == "asn":
        cap = 0.0 if signals.mobile_network else _NEW_PREFIX_OF_KNOWN_OPERATOR
        contributions["network"] = min(contributions["network"], cap)
        return not signals.mobile_network
    if signals.device_key is True and contributions[new] > 0:
        contributions[new] /= 2
    return True


_HARD = {
    "no_history": "no sign-in history yet",
    "hosting_network": "a hosting or data-centre network",
    "impossible_travel": "impossible travel since the last sign-in",
    "recent_failures": "recent failed attempts",
    "caller_id": "a call from a number that is not the registered one",
    "sim_swap": "a recent SIM change on the calling line",
    "new_device_and_network": "a new device on a new network",
    "sender": "a messaging account not bound to this customer",
    "sender_recent": "a messaging account bound only days ago",
    "device_key": "a device key that does not verify",
}


def explain(
    contributions: Mapping[str, float],
    missing: set[str] | frozenset[str] = frozenset(),
    *,
    at_most: int = 4,
) -> str:
    """The signals that raised the risk most, in plain words; or why it is low."""
    order = [*FEATURES, *_HARD]
    raised = sorted(
        (f for f, c in contributions.items() if c > 1.0),
        key=lambda f: (-contributions[f], order.index(f)),
    )
    words = []
    for feature in raised[:at_most]:
        if feature in _HARD:
            words.append(_HARD[feature])
        elif feature in missing:
            words.append(f"unknown {feature.replace('_', ' ')}")
        else:
            words.append(FEATURES[feature])
    if not words:
        return "usual device, network and habits"
    return ", ".join(words)
