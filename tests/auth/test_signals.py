"""Signal extraction: minimized (prefix, operator, country, keyed hashes), offline, and garbage
in means unknown out."""

from __future__ import annotations

import datetime as dt
import socket

import pytest

from tessera.auth import NetworkIntel, Observation, extract
from tessera.auth._signals import keyed, travel_kmh
from tests.auth.conftest import GOOGLE_US, IPHONE, ORANGE_FR, OVH_FR

KEY = b"k" * 32
NOW = dt.datetime(2026, 11, 23, 19, 30, tzinfo=dt.UTC)


@pytest.fixture(scope="module")
def intel() -> NetworkIntel:
    return NetworkIntel()


def test_an_observation_is_minimized(intel: NetworkIntel) -> None:
    signals = extract(
        Observation(channel="app", at=NOW, ip=ORANGE_FR, user_agent=IPHONE, device_id="install-1"),
        key=KEY,
        intel=intel,
    )
    assert signals.network == "86.200.12.0/24"
    assert signals.asn == "Orange" and signals.country == "FR"
    assert not signals.hosting_network
    assert (signals.ua_family, signals.os_family) == ("Mobile Safari", "iOS")
    assert signals.device == keyed(KEY, "device", "install-1") != "install-1"
    assert signals.hour == 19
    assert "install-1" not in repr(signals) and ORANGE_FR not in repr(signals)


def test_hosting_networks_and_private_addresses(intel: NetworkIntel) -> None:
    assert intel.lookup(OVH_FR).hosting
    assert not intel.lookup(ORANGE_FR).hosting
    assert intel.lookup("192.168.1.2").prefix == "private"
    assert intel.lookup("2a01:cb00::1").country == "FR"
    assert intel.lookup("not an ip").prefix is None


def test_a_mobile_operators_addresses_are_known_as_mobile(intel: NetworkIntel) -> None:
    """A mobile operator NATs whole regions: its new addresses tell nothing (`_risk`)."""
    seen = Observation(channel="app", at=dt.datetime(2026, 5, 4, 9, tzinfo=dt.UTC), ip="37.165.1.1")
    mobile = extract(seen, key=b"k" * 32, intel=intel)
    assert mobile.mobile_network and mobile.asn == "Free Mobile SAS"
    home = extract(Observation(channel="app", at=seen.at, ip=ORANGE_FR), key=b"k" * 32, intel=intel)
    assert not home.mobile_network


def test_the_lookup_works_with_the_network_blocked(
    monkeypatch: pytest.MonkeyPatch, intel: NetworkIntel
) -> None:
    def refuse(*args: object, **kwargs: object) -> None:
        raise AssertionError("a signal lookup tried to reach the network")

    monkeypatch.setattr(socket.socket, "connect", refuse)
    monkeypatch.setattr(socket, "getaddrinfo", refuse)
    fresh = NetworkIntel()  # loads its database file now, with the network blocked
    assert fresh.lookup("90.84.1.1").country == "FR"
    assert (
        extract(
            Observation(channel="web", at=NOW, ip=GOOGLE_US, user_agent=IPHONE),
            key=KEY,
            intel=fresh,
        ).country
        == "US"
    )


def test_calls_use_the_number_never_its_region_as_a_place(intel: NetworkIntel) -> None:
    registered = keyed(KEY, "phone", "+33612345678")
    call = extract(
        Observation(channel="voice_ivr", at=NOW, caller_number="06 12 34 56 78", attestation="a"),
        key=KEY,
        intel=intel,
        registered_number=registered,
    )
    assert call.caller_id_matches is True and call.attestation == "A"
    # Where a line was issued is not where its caller is (a French mobile roams).
    assert call.country is None
    unregistered = extract(
        Observation(channel="voice_ivr", at=NOW, caller_number="06 12 34 56 78"),
        key=KEY,
        intel=intel,
    )
    assert unregistered.caller_id_matches is None  # no registered number: unknown, not a mismatch
    garbage = extract(
        Observation(channel="voice_ivr", at=NOW, caller_number="not a number", attestation="Z"),
        key=KEY,
        intel=intel,
        registered_number=registered,
    )
    assert garbage.caller_id_matches is None and garbage.attestation is None


def test_impossible_travel_between_countries() -> None:
    an_hour_ago = NOW - dt.timedelta(hours=1)
    assert travel_kmh("FR", an_hour_ago, "FR", NOW) == 0
    assert travel_kmh("FR", an_hour_ago, "BE", NOW) == 0  # within the border slack
    assert travel_kmh("FR", an_hour_ago, "US", NOW) > 1000
    assert travel_kmh("FR", NOW - dt.timedelta(days=2), "US", NOW) < 1000
    assert travel_kmh(None, an_hour_ago, "US", NOW) is None


@pytest.mark.parametrize("channel", ["telepathy", "Web", "voice"])
def test_an_unknown_channel_is_an_invalid_signal_not_a_web_session(
    intel: NetworkIntel, channel: str
) -> None:
    from tessera.auth import InvalidSignal

    with pytest.raises(InvalidSignal, match="unknown channel; expected one of app, chat"):
        extract(Observation(channel=channel, at=NOW), key=KEY, intel=intel)
    assert extract(Observation(channel="voice_agent", at=NOW), key=KEY, intel=intel).channel
