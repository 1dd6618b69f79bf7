"""Invisible authentication, simulated: how many genuine sessions pass without a step-up, how
many attacks are stopped by a factor the attacker cannot hold, for Tessera's risk engine and two
baselines, in one run.

Genuine customers have stable devices and networks, commute on mobile data (and sometimes change
mobile operator), travel abroad with their phone (the app proves its device key), change phones
now and then, and call from their own number, registered or not. Attackers stuff credentials
from hosting networks, target one customer from the same country with the same browser family
on a residential network, call after a SIM swap, take over a messaging account, or replay a
stolen session cookie from another network. Profiles learn from 60 days of history (only strong
sessions), then 30 days are judged.

An attack counts as stopped when it is denied, or stepped up with factors none of which the
attacker holds: a SIM-swap caller receives the SMS codes, a messaging takeover the codes sent
over messaging. Baselines: always ask for MFA (an SMS code); ask it only on a device never seen
for the customer.

Also: scoring latency per decision in-process (target ≤ 100 µs), against an HMAC-SHA256 of a
device id measured in the same run (the cheapest step of the signal pipeline).
"""

from __future__ import annotations

import argparse
import dataclasses
import hashlib
import hmac
import random
import sys
import time
from collections import Counter
from dataclasses import dataclass

from _report import judge

from tessera.auth import (
    DEFAULT_THRESHOLDS,
    Population,
    Profile,
    RiskAction,
    RiskDecision,
    Signals,
    assess,
)
from tessera.auth._offer import offered_factors, withheld_channels

HOME_ISPS = ["Orange", "Free SAS", "SFR", "Bouygues Telecom"]
MOBILE_ISPS = ["Orange Mobile", "Free Mobile", "SFR Mobile", "Bouygues Mobile"]
HOSTING = ["OVH SAS", "Hetzner Online GmbH", "DIGITALOCEAN-ASN", "AMAZON-02"]
ABROAD = [("ES", "Telefonica"), ("IT", "Vodafone Italia"), ("IT", "TIM"), ("CH", "Swisscom")]
BROWSERS = [
    ("Chrome", "Windows"),
    ("Safari", "Mac OS X"),
    ("Firefox", "Linux"),
    ("Edge", "Windows"),
]
PHONES = [("Mobile Safari", "iOS"), ("Chrome Mobile", "Android"), ("Tessera App", "iOS")]


@dataclass
class Customer:
    id: int
    country: str
    home_isp: str
    home_prefix: str
    mobile_isp: str
    phone: tuple[str, str, str]  # device, ua, os
    laptop: tuple[str, str, str]
    hours: tuple[int, int]  # usual evening and morning hours
    typing_ms: float
    app_share: float
    weekend_share: float  # some sign in on any day, some almost only on workdays
    factors: tuple[str, ...]  # what they can step up with (every one has SMS codes)
    registered_line: bool  # the bank knows their calling number
    profile: Profile = dataclasses.field(default_factory=Profile)
    devices: set[str] = dataclasses.field(default_factory=set)


def _customer(rng: random.Random, i: int) -> Customer:
    country = rng.choices(["FR", "BE", "DE"], [0.9, 0.06, 0.04])[0]
    isp = rng.choice(HOME_ISPS)
    ua, os_ = rng.choice(PHONES)
    laptop_ua, laptop_os = rng.choice(BROWSERS)
    factors = ["otp"]
    if rng.random() < 0.6:
        factors.append("device")  # the app, with its device-bound key
    if rng.random() < 0.2:
        factors.append(rng.choice(["totp", "webauthn"]))
    return Customer(
        i,
        country,
        isp,
        f"{rng.randint(80, 95)}.{rng.randint(0, 255)}.{rng.randint(0, 255)}.0/24",
        rng.choice(MOBILE_ISPS),
        (f"phone-{i}", ua, os_),
        (f"laptop-{i}", laptop_ua, laptop_os),
        (rng.choice([18, 19, 20, 21, 22]), rng.choice([7, 8, 9, 12, 13])),
        rng.lognormvariate(5.0, 0.35),
        rng.uniform(0.4, 0.9),
        rng.choice([0.03, 0.1, 2 / 7, 2 / 7, 0.4]),
        tuple(factors),
        rng.random() < 0.8,
    )


def _weekday(rng: random.Random, c: Customer) -> int:
    return rng.randint(5, 6) if rng.random() < c.weekend_share else rng.randint(0, 4)


def _on_phone(c: Customer, **values: object) -> Signals:
    """A session on the customer's phone; the app proves its device key when they have one."""
    device, ua, os_ = c.phone
    return Signals(
        device=device,
        ua_family=ua,
        os_family=os_,
        channel="app",
        device_key=True if "device" in c.factors else None,
        **values,  # type: ignore[arg-type]
    )


def genuine(rng: random.Random, c: Customer) -> tuple[str, Signals]:
    """One of the customer's own sessions; returns its scenario and its signals."""
    hour = rng.choice(c.hours) + rng.choice([-1, 0, 0, 0, 1])
    weekday = _weekday(rng, c)
    typing = c.typing_ms * rng.uniform(0.88, 1.12)
    roll = rng.random()
    if roll < 0.03:  # a call to the contact centre, from their own number
        registered = c.registered_line
        return ("call from own number" if registered else "call, no number on file"), Signals(
            device=f"line-{c.id}",  # a call has no location: a number's country is not one
            hour=hour,
            weekday=weekday,
            channel="voice_agent",
            caller_id_matches=True if registered else None,
            attestation="A",
            sim_swapped=False,
        )
    if roll < 0.045:  # a new phone: new device, maybe a new OS, the same home network
        ua, os_ = rng.choice(PHONES)
        c.phone = (f"phone-{c.id}-{rng.randint(0, 10**6)}", ua, os_)
        device, ua, os_ = c.phone
        return "new phone", Signals(
            device=device,
            ua_family=ua,
            os_family=os_,
            network=c.home_prefix,
            asn=c.home_isp,
            country=c.country,
            hour=hour,
            weekday=weekday,
            channel="app",
            typing_ms=typing,
        )
    if roll < 0.06:  # travelling: their own phone, a network abroad
        country, asn = rng.choice(ABROAD)
        return "abroad, own phone", _on_phone(
            c,
            network=f"{rng.randint(2, 79)}.{rng.randint(0, 255)}.{rng.randint(0, 255)}.0/24",
            asn=asn,
            country=country,
            hour=hour,
            weekday=weekday,
            travel_kmh=rng.uniform(0, 120),
            typing_ms=typing,
        )
    if roll < 0.07:  # a new mobile operator: first sessions on its network
        c.mobile_isp = rng.choice([m for m in MOBILE_ISPS if m != c.mobile_isp])
        return "first mobile-network login", _on_phone(
            c,
            network=f"10.{c.id % 200}.{rng.randint(0, 3)}.0/24",
            asn=c.mobile_isp,
            mobile_network=True,
            country=c.country,
            hour=hour,
            weekday=weekday,
            typing_ms=typing,
        )
    on_phone = rng.random() < c.app_share
    commuting = on_phone and rng.random() < 0.3
    network = {
        "network": f"10.{c.id % 200}.{rng.randint(0, 3)}.0/24" if commuting else c.home_prefix,
        "asn": c.mobile_isp if commuting else c.home_isp,
        "mobile_network": commuting,
        "country": c.country,
        "hour": hour,
        "weekday": weekday,
        "typing_ms": typing,
    }
    if on_phone:
        return ("commuting" if commuting else "usual"), _on_phone(c, **network)
    device, ua, os_ = c.laptop
    return "usual", Signals(
        device=device,
        ua_family=ua,
        os_family=os_,
        channel=rng.choice(["web", "web", "chat"]),
        **network,  # type: ignore[arg-type]
    )


def attack(rng: random.Random, victim: Customer) -> tuple[str, Signals, RiskAction, set[str]]:
    """One attack: its scenario, signals, action, and the factors the attacker holds."""
    roll = rng.random()
    if roll < 0.35:  # credential stuffing from a data centre
        return (
            "credential stuffing",
            Signals(
                device=f"bot-{rng.randint(0, 10**9)}",
                ua_family=rng.choice(["Python Requests", "HeadlessChrome", "Chrome"]),
                os_family=rng.choice(["Linux", "Windows"]),
                network=f"51.{rng.randint(0, 255)}.{rng.randint(0, 255)}.0/24",
                asn=rng.choice(HOSTING),
                country=rng.choice(["FR", "DE", "NL", "US"]),
                hour=rng.randint(0, 23),
                weekday=rng.randint(0, 6),
                channel="web",
                hosting_network=True,
                typing_ms=rng.choice([None, 30.0]),
            ),
            RiskAction.LOGIN,
            set(),
        )
    if roll < 0.6:  # targeted: same country and browser family, a residential network
        ua, os_ = victim.laptop[1:]
        return (
            "targeted, same country",
            Signals(
                device=f"attacker-{rng.randint(0, 10**9)}",
                ua_family=ua,
                os_family=os_,
                network=f"{rng.randint(80, 95)}.{rng.randint(0, 255)}.{rng.randint(0, 255)}.0/24",
                asn=rng.choice(HOME_ISPS),
                country=victim.country,
                hour=rng.randint(8, 23),
                weekday=rng.randint(0, 6),
                channel="web",
                typing_ms=rng.lognormvariate(5.0, 0.35),
            ),
            RiskAction.LOGIN,
            set(),
        )
    if roll < 0.75:  # SIM swap: the victim's own number, now on the attacker's SIM
        return (
            "SIM-swap caller",
            Signals(
                device=f"line-{victim.id}",
                hour=rng.randint(0, 23),
                weekday=rng.randint(0, 6),
                channel="voice_agent",
                caller_id_matches=True if victim.registered_line else None,
                attestation="A",
                sim_swapped=True,
            ),
            RiskAction.READ,
            {"otp"},  # the codes to the line, and what is reset from it
        )
    if roll < 0.85:  # a messaging account taken over (or the attacker's, bound days ago)
        bound = rng.random() < 0.5
        return (
            "messaging takeover",
            Signals(
                device=f"sender-{rng.randint(0, 10**9)}",
                hour=rng.randint(0, 23),
                weekday=rng.randint(0, 6),
                channel="messaging",
                sender_bound=bound,
                sender_recent=True if bound else None,
            ),
            RiskAction.READ,
            {"otp"},  # codes sent over messaging reach the account they hold
        )
    # A stolen session cookie replayed from another network for a sensitive action.
    device, ua, os_ = victim.laptop
    return (
        "stolen session replayed",
        Signals(
            device=device,
            ua_family=ua,
            os_family=os_,
            network=f"{rng.randint(100, 200)}.{rng.randint(0, 255)}.{rng.randint(0, 255)}.0/24",
            asn=rng.choice([*HOSTING, "Vodafone", "Telia", *HOME_ISPS]),
            country=rng.choice([victim.country, "NL", "GB"]),
            hour=rng.randint(0, 23),
            weekday=rng.randint(0, 6),
            channel="web",
            hosting_network=rng.random() < 0.5,
            travel_kmh=rng.uniform(0, 2000),
        ),
        RiskAction.DETOKENIZE,
        set(),
    )


@dataclass(frozen=True)
class Judged:
    scenario: str
    score: float
    new_device: bool
    action: RiskAction = RiskAction.LOGIN
    decision: RiskDecision = RiskDecision.ALLOW
    offered: tuple[str, ...] = ()
    holds: frozenset[str] = frozenset()


def tessera(signals: Signals, c: Customer, population: Population, action: RiskAction) -> Judged:
    """The engine's decision and what it would offer, as `Authenticator.assess` does."""
    result = assess(signals, c.profile, population, action=action)
    withheld = withheld_channels(signals)
    offered = offered_factors(c.factors, withheld)
    decision = result.decision
    if decision is RiskDecision.STEP_UP and withheld and not offered:
        decision = RiskDecision.DENY
    return Judged("", result.score, False, action, decision, offered)


def simulate(customers: int, seed: int) -> dict:
    rng = random.Random(seed)
    people = [_customer(rng, i) for i in range(customers)]
    population = Population()
    for _day in range(60):  # history: profiles learn only from strong sessions
        for c in people:
            if rng.random() < 0.6:
                _, signals = genuine(rng, c)
                c.profile = c.profile.learn(signals)
                c.devices.add(signals.device or "")
                population = population.learn(signals)
    genuine_runs: list[Judged] = []
    for _day in range(30):
        for c in people:
            if rng.random() < 0.6:
                scenario, signals = genuine(rng, c)
                judged = tessera(signals, c, population, RiskAction.LOGIN)
                new_device = signals.device not in c.devices
                genuine_runs.append(
                    dataclasses.replace(judged, scenario=scenario, new_device=new_device)
                )
                if judged.decision is not RiskDecision.ALLOW:  # stepped up: proven, learnt
                    c.profile = c.profile.learn(signals)
                c.devices.add(signals.device or "")
    attacks: list[Judged] = []
    for _ in range(customers * 5):
        victim = rng.choice(people)
        scenario, signals, action, holds = attack(rng, victim)
        judged = tessera(signals, victim, population, action)
        attacks.append(
            dataclasses.replace(
                judged,
                scenario=scenario,
                new_device=signals.device not in victim.devices,
                holds=frozenset(holds),
            )
        )
    return {"genuine": genuine_runs, "attacks": attacks, "population": population, "people": people}


def silent(j: Judged, shift: float = 0.0) -> bool:
    return j.score < DEFAULT_THRESHOLDS[RiskAction.LOGIN].step_up + shift


def stopped(j: Judged, shift: float = 0.0) -> bool:
    """Denied, or stepped up with factors none of which the attacker holds."""
    limits = DEFAULT_THRESHOLDS[j.action]
    if j.decision is RiskDecision.DENY or j.score >= limits.deny + shift:
        return True
    if j.score < limits.step_up + shift:
        return False
    return not (set(j.offered) & j.holds)


def mfa_stops(j: Judged) -> bool:
    """An SMS code asked for: it stops whoever does not receive it."""
    return "otp" not in j.holds


def rates(run: dict, shift: float = 0.0) -> tuple[float, float]:
    """Share of genuine sessions passing silently; share of attacks stopped; thresholds + shift."""
    passed = sum(silent(j, shift) for j in run["genuine"]) / len(run["genuine"])
    caught = sum(stopped(j, shift) for j in run["attacks"]) / len(run["attacks"])
    return passed, caught


def latency(run: dict, n: int = 20_000) -> dict[str, float]:
    people, population = run["people"], run["population"]
    rng = random.Random(7)
    samples = [genuine(rng, rng.choice(people)) for _ in range(1000)]
    owners = [rng.choice(people).profile for _ in range(1000)]
    timings = []
    for i in range(n):
        signals, profile = samples[i % 1000][1], owners[i % 1000]
        t0 = time.perf_counter_ns()
        assess(signals, profile, population)
        timings.append(time.perf_counter_ns() - t0)
    key = b"k" * 32
    floor = []
    for i in range(n):
        t0 = time.perf_counter_ns()
        hmac.new(key, f"device\x1finstall-{i}".encode(), hashlib.sha256).hexdigest()
        floor.append(time.perf_counter_ns() - t0)
    timings.sort()
    floor.sort()
    return {
        "p50_us": timings[n // 2] / 1000,
        "p99_us": timings[int(n * 0.99)] / 1000,
        "floor_p50_us": floor[n // 2] / 1000,
    }


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--customers", type=int, default=1000)
    parser.add_argument("--seed", type=int, default=2026)
    parser.add_argument("--strict", action="store_true", help="exit 1 when a target is missed")
    args = parser.parse_args()
    run = simulate(args.customers, args.seed)
    genuine_n, attacks_n = len(run["genuine"]), len(run["attacks"])
    print(f"{args.customers} customers, {genuine_n} genuine sessions, {attacks_n} attacks\n")

    passed, caught = rates(run)
    genuine, attacks = run["genuine"], run["attacks"]
    baselines = {
        "always ask for MFA (SMS code)": (0.0, sum(mfa_stops(j) for j in attacks) / attacks_n),
        "MFA on a new device only": (
            sum(not j.new_device for j in genuine) / genuine_n,
            sum(j.new_device and mfa_stops(j) for j in attacks) / attacks_n,
        ),
    }
    print(f"{'policy':34}{'genuine, no step-up':>22}{'attacks stopped':>18}")
    print(f"{'Tessera (risk engine)':34}{passed:>22.2%}{caught:>18.2%}")
    for name, (p, c) in baselines.items():
        print(f"{name:34}{p:>22.2%}{c:>18.2%}")

    print(f"\nper scenario{'':26}{'n':>7}{'Tessera':>10}{'MFA always':>12}{'MFA new dev':>13}")
    for scenario, n in Counter(j.scenario for j in genuine).most_common():
        rows = [j for j in genuine if j.scenario == scenario]
        print(
            f"  genuine {scenario:28} {n:>7}{sum(map(silent, rows)) / n:>10.2%}{0.0:>12.2%}"
            f"{sum(not j.new_device for j in rows) / n:>13.2%}  pass silently"
        )
    for scenario, n in Counter(j.scenario for j in attacks).most_common():
        rows = [j for j in attacks if j.scenario == scenario]
        print(
            f"  attack  {scenario:28} {n:>7}{sum(map(stopped, rows)) / n:>10.2%}"
            f"{sum(map(mfa_stops, rows)) / n:>12.2%}"
            f"{sum(j.new_device and mfa_stops(j) for j in rows) / n:>13.2%}  stopped"
        )

    print("\nthe curve as every threshold moves together (shift in score units):")
    print(f"{'shift':>8}{'genuine pass':>16}{'attacks stopped':>18}")
    for shift in (-3, -2, -1, -0.5, 0, 0.5, 1, 2, 3, 4, 6):
        p, s = rates(run, shift)
        print(f"{shift:>+8.1f}{p:>16.2%}{s:>18.2%}")

    timing = latency(run)
    print(
        f"\nscoring latency: p50 {timing['p50_us']:.1f} µs, p99 {timing['p99_us']:.1f} µs "
        f"(one HMAC-SHA256 in the same run: {timing['floor_p50_us']:.2f} µs, "
        f"ratio {timing['p50_us'] / timing['floor_p50_us']:.1f}×)\n"
    )
    best_baseline = max(c for _, c in baselines.values())
    return judge(
        [
            ("genuine sessions without step-up ≥ 99% (%)", passed * 100, passed >= 0.99),
            (
                "attacks stopped by a factor they can't hold ≥ 99.5% (%)",
                caught * 100,
                caught >= 0.995,
            ),
            ("scoring p99 ≤ 100 µs", timing["p99_us"], timing["p99_us"] <= 100),
            (
                "beats the best baseline on attacks stopped (points)",
                (caught - best_baseline) * 100,
                caught > best_baseline,
            ),
        ],
        strict=args.strict,
    )


if __name__ == "__main__":
    sys.exit(main())
