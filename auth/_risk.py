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
    "channel": "unusual channel",
}
_SMOOTHING = 2.0  # pseudo-sessions pulling a customer's estimate toward the population's
_MISSING = math.log(8.0)  # a missing signal weighs like a value 8× rarer than usual
# Familiarity lowers the risk, but one familiar signal can't cancel another's novelty:
# an attacker who copies a customer's browser and channel gains little.
_FAMILIAR_FLOOR = -1.0
# A value no customer of the tenant ever used (a scripted client, an exotic network) costs
# more than one that is merely new to this customer; judged once the population is known.
_NEVER_SEEN = math.log(4.0)
_POPULATION_KNOWN = 100


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
    asn: int | None = None
    country: str | None = None
    hour: int | None = None
    channel: str | None = None
    hosting_network: bool = False
    travel_kmh: float | None = None  # speed implied since the last strong authentication
    recent_failures: int = 0
    caller_id_matches: bool | None = None  # voice: the call comes from the registered number

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
            "channel": self.channel,
        }


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
    RiskAction.LOGIN: Thresholds(step_up=6.0, deny=20.0),
    RiskAction.READ: Thresholds(step_up=7.0, deny=22.0),
    RiskAction.DETOKENIZE: Thresholds(step_up=4.0, deny=18.0),
    RiskAction.PAY: Thresholds(step_up=2.0, deny=16.0),
}


@dataclass(frozen=True, slots=True)
class RiskAssessment:
    score: float
    decision: RiskDecision
    contributions: dict[str, float]  # per feature or hard signal; > 0 raised the risk
    explanation: str
    missing: frozenset[str] = frozenset()


def _p_population(population: Population, feature: str, value: str) -> float:
    seen = population.counts.get(feature, {}).get(value, 0)
    distinct = population.distinct.get(feature, 0) + 1  # room for one value never seen
    return (seen + 1.0) / (population.sessions + distinct)


def _p_customer(profile: Profile, feature: str, value: str, p_population: float) -> float:
    seen = profile.counts.get(feature, {}).get(value, 0)
    return (seen + _SMOOTHING * p_population) / (profile.sessions + _SMOOTHING)


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
    for feature, value in signals.values().items():
        if value is None:
            contributions[feature] = _MISSING
            missing.add(feature)
            continue
        p_pop = _p_population(population, feature, value)
        ratio = _p_customer(profile, feature, value, p_pop) / p_pop
        contribution = max(_FAMILIAR_FLOOR, -math.log(ratio))
        never_seen = not population.counts.get(feature, {}).get(value) and not (
            profile.counts.get(feature, {}).get(value)
        )
        if population.sessions >= _POPULATION_KNOWN and never_seen:
            contribution += _NEVER_SEEN
        contributions[feature] = contribution
    if signals.hosting_network:
        contributions["hosting_network"] = 6.0
    if signals.travel_kmh is not None and signals.travel_kmh > 1000:
        contributions["impossible_travel"] = 10.0
    if signals.recent_failures > 0:
        contributions["recent_failures"] = 1.5 * min(signals.recent_failures, 5)
    if signals.caller_id_matches is True:
        contributions["caller_id"] = -2.0
    elif signals.caller_id_matches is False:
        contributions["caller_id"] = 3.0
    # Habits can bring their own part down to zero, never below: familiarity never excuses a
    # hard signal (a hosting network, impossible travel, failures, a foreign caller number).
    habits = sum(contributions[f] for f in FEATURES)
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


_HARD = {
    "hosting_network": "a hosting or data-centre network",
    "impossible_travel": "impossible travel since the last sign-in",
    "recent_failures": "recent failed attempts",
    "caller_id": "a call from a number that is not the registered one",
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
