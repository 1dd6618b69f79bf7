"""Properties of risk scoring over generated habits and sessions: the score is a finite number
within the bounds its parts allow, and a signal the customer never showed (a random device id,
a made-up network) never lowers it for a customer with a history: sending garbage must not look
better than sending nothing. (A first sign-in is stepped up whatever it sends.)"""

from __future__ import annotations

import math
from dataclasses import replace

from hypothesis import assume, given, settings
from hypothesis import strategies as st

from tessera.auth import FEATURES, Population, Profile, Signals, assess

VALUES = st.sampled_from(["a", "b", "c", "d"])
SIGNAL_FIELDS = {
    "device": VALUES,
    "ua_family": VALUES,
    "os_family": VALUES,
    "network": VALUES,
    "asn": VALUES,
    "country": st.sampled_from(["FR", "BE", "US"]),
    "hour": st.integers(0, 23),
    "weekday": st.integers(0, 6),
    "typing_ms": st.floats(20, 2000),
}
UNKNOWN = {  # values no generated habit holds
    "device": "never-seen-device",
    "ua_family": "never-seen-ua",
    "os_family": "never-seen-os",
    "network": "203.0.113.0/24",
    "asn": "AS64511",
    "country": "ZZ",
}


@st.composite
def signals(draw: st.DrawFn) -> Signals:
    chosen = {name: draw(st.none() | strategy) for name, strategy in SIGNAL_FIELDS.items()}
    return Signals(
        channel=draw(st.sampled_from(["web", "app", "chat", "voice_ivr", "voice_agent", None])),
        hosting_network=draw(st.booleans()),
        travel_kmh=draw(st.none() | st.floats(0, 20_000)),
        recent_failures=draw(st.integers(0, 50)),
        caller_id_matches=draw(st.none() | st.booleans()),
        attestation=draw(st.sampled_from([None, "A", "B", "C"])),
        sim_swapped=draw(st.none() | st.booleans()),
        sender_bound=draw(st.none() | st.booleans()),
        device_key=draw(st.none() | st.booleans()),
        **chosen,
    )


@st.composite
def histories(draw: st.DrawFn) -> tuple[Profile, Population]:
    """A tenant's population and a customer's profile: a few kinds of sessions, each seen
    some number of times (drawing every session anew would cost more than it finds)."""
    population = Population()
    for kind in draw(st.lists(signals(), max_size=3)):
        for _ in range(draw(st.integers(0, 60))):
            population = population.learn(kind)
    profile = Profile()
    for kind in draw(st.lists(signals(), max_size=2)):
        for _ in range(draw(st.integers(0, 6))):
            profile, population = profile.learn(kind), population.learn(kind)
    return profile, population


@settings(max_examples=150, deadline=None)
@given(signals(), histories())
def test_the_score_is_finite_and_within_the_bounds_of_its_parts(
    observed: Signals, history: tuple[Profile, Population]
) -> None:
    profile, population = history
    result = assess(observed, profile, population)
    assert math.isfinite(result.score)
    assert result.score >= -(2.0 + 1.5 + 2.0)  # the most a caller id, sender and device key lower
    most_per_feature = math.log((profile.sessions + 2.0) / 2.0) + math.log(8.0) + math.log(4.0)
    hard = 8.0 + 6.0 + 10.0 + 7.5 + 3.0 + 10.0 + 3.0 + 25.0
    assert result.score <= len(FEATURES) * most_per_feature + hard


@settings(max_examples=200, deadline=None)
@given(signals(), histories(), st.sampled_from(sorted(UNKNOWN)))
def test_a_signal_never_seen_for_the_customer_never_lowers_the_score(
    observed: Signals, history: tuple[Profile, Population], field: str
) -> None:
    profile, population = history
    # A customer with a history: a first sign-in is stepped up (or refused) whatever it sends.
    assume(profile.sessions > 0)
    without = replace(observed, **{field: None})
    with_unknown = replace(observed, **{field: UNKNOWN[field]})
    assert assess(with_unknown, profile, population).score >= (
        assess(without, profile, population).score - 1e-9
    )
