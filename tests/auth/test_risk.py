"""The risk engine as pure functions: usual sessions pass silently, unusual ones are explained,
missing signals are never safe, and hard signals weigh whatever the habits."""

from __future__ import annotations

import dataclasses

import pytest

from tessera.auth import Population, Profile, RiskAction, RiskDecision, Signals, assess

HOME = Signals(
    device="dev-A",
    ua_family="Chrome",
    os_family="Android",
    network="90.12.0.0/16",
    asn=3215,
    country="FR",
    hour=19,
    channel="app",
)


def with_(signals: Signals, **changes: object) -> Signals:
    return dataclasses.replace(signals, **changes)


def population() -> Population:
    pop = Population()
    for i in range(400):
        pop = pop.learn(
            Signals(
                device=f"dev-{i}",
                ua_family=["Chrome", "Safari", "Firefox"][i % 3],
                os_family=["Android", "iOS", "Windows"][i % 3],
                network=f"10.{i % 50}.0.0/16",
                asn=[3215, 12322, 5410, 16276][i % 4],
                country=["FR", "FR", "FR", "BE", "DE"][i % 5],
                hour=8 + i % 14,
                channel=["web", "app", "chat"][i % 3],
            )
        )
    return pop


POP = population()


def customer(sessions: int = 30) -> Profile:
    profile = Profile()
    for _ in range(sessions):
        profile = profile.learn(HOME)
    return profile


def test_a_usual_session_passes_silently() -> None:
    result = assess(HOME, customer(), POP)
    assert result.decision is RiskDecision.ALLOW
    assert result.explanation == "usual device, network and habits"
    assert result.score == 0  # familiarity brings the habit part down to zero, not below


def test_a_new_device_abroad_is_stepped_up_not_refused_and_explained() -> None:
    abroad = with_(HOME, device="dev-Z", network="81.2.0.0/16", asn=2856, country="GB")
    result = assess(abroad, customer(), POP)
    assert result.decision is RiskDecision.STEP_UP
    assert "new device" in result.explanation and "new country" in result.explanation


def test_credential_stuffing_from_a_hosting_network_is_denied() -> None:
    attack = Signals(
        device="dev-bot",
        ua_family="python-requests",
        os_family="Linux",
        network="45.9.0.0/16",
        asn=14061,
        country="NL",
        hour=3,
        channel="web",
        hosting_network=True,
        recent_failures=4,
    )
    result = assess(attack, customer(), POP)
    assert result.decision is RiskDecision.DENY
    assert result.explanation.startswith("a hosting or data-centre network")


def test_missing_signals_are_never_safer_than_familiar_ones() -> None:
    blank = assess(Signals(), customer(), POP)
    assert blank.score > assess(HOME, customer(), POP).score
    assert blank.decision is not RiskDecision.ALLOW
    assert blank.missing == {
        "device",
        "ua_family",
        "os_family",
        "network",
        "asn",
        "country",
        "hour_band",
        "channel",
    }
    assert "unknown device" in blank.explanation


@pytest.mark.parametrize("hour", [-1, 24, 99])
def test_garbage_hours_are_missing_not_a_crash(hour: int) -> None:
    assert "hour_band" in assess(with_(HOME, hour=hour), customer(), POP).missing


def test_a_value_no_one_used_costs_more_than_one_new_to_this_customer() -> None:
    profile = customer()
    known_elsewhere = assess(with_(HOME, ua_family="Safari"), profile, POP)
    never_seen = assess(with_(HOME, ua_family="python-requests"), profile, POP)
    assert known_elsewhere.contributions["ua_family"] < never_seen.contributions["ua_family"]


def test_one_familiar_signal_cannot_cancel_another_ones_novelty() -> None:
    result = assess(with_(HOME, device="dev-Q"), customer(), POP)
    assert min(result.contributions.values()) >= -1.0


def test_the_same_signals_may_pass_a_login_but_not_a_payment() -> None:
    new_phone_at_home = with_(HOME, device="dev-B")
    profile = customer()
    assert (
        assess(new_phone_at_home, profile, POP, action=RiskAction.LOGIN).decision
        is RiskDecision.ALLOW
    )
    assert (
        assess(new_phone_at_home, profile, POP, action=RiskAction.PAY).decision
        is RiskDecision.STEP_UP
    )


def test_correlated_signals_count_once() -> None:
    """Network prefix, operator and country are one hierarchy, as are device, browser and
    system: a traveller on their own phone is one surprise (a new country), not three; a new
    device on a new network is more than either; a copied device id in a browser the customer
    never used keeps that novelty."""
    profile = customer()
    abroad = with_(HOME, network="151.12.0.0/16", asn=1267, country="IT")
    result = assess(abroad, profile, POP)
    assert "country" in result.contributions
    assert not {"asn", "network"} & set(result.contributions)
    assert result.decision is RiskDecision.ALLOW
    proven = assess(with_(abroad, device_key=True), profile, POP)
    assert proven.contributions["country"] == pytest.approx(result.contributions["country"] / 2)
    new_isp = assess(with_(HOME, network="212.27.0.0/16", asn=12322), profile, POP)
    assert set(new_isp.contributions) & {"country", "asn", "network"} == {"country", "asn"}
    new_prefix = assess(with_(HOME, network="90.13.0.0/16"), profile, POP)
    assert new_prefix.contributions["network"] <= 1.0
    mobile = assess(with_(HOME, network="10.1.0.0/16", mobile_network=True), profile, POP)
    assert mobile.contributions["network"] == 0.0
    stranger = assess(with_(HOME, device="dev-X", network="212.27.0.0/16", asn=12322), profile, POP)
    assert stranger.contributions["new_device_and_network"] > 0
    assert "a new device on a new network" in stranger.explanation
    copied = with_(HOME, ua_family="Python Requests")
    assert assess(copied, profile, POP).contributions["ua_family"] > 0
    assert assess(copied, profile, POP, action=RiskAction.DETOKENIZE).decision is not (
        RiskDecision.ALLOW
    )


def test_a_registered_line_is_a_known_device_from_its_first_call() -> None:
    call = Signals(device="line-new", hour=19, channel="voice_agent", attestation="A")
    unknown = assess(call, customer(), POP)
    registered = assess(with_(call, caller_id_matches=True), customer(), POP)
    assert registered.contributions["device"] < 0 < unknown.contributions["device"]
    # …but not on the web, where the device is a browser's id, not the line.
    web = with_(HOME, device="dev-Y", caller_id_matches=True)
    assert assess(web, customer(), POP).contributions["device"] > 0


def test_impossible_travel_is_stepped_up_whatever_the_habits() -> None:
    result = assess(with_(HOME, travel_kmh=4000), customer(), POP)
    assert result.decision is RiskDecision.STEP_UP
    assert "impossible travel" in result.explanation


def test_a_call_from_the_registered_number_lowers_the_risk() -> None:
    profile = customer()
    voice = with_(HOME, channel="voice_ivr")
    assert (
        assess(with_(voice, caller_id_matches=True), profile, POP).score
        < assess(voice, profile, POP).score
        < assess(with_(voice, caller_id_matches=False), profile, POP).score
    )


def test_a_profile_learns_only_what_it_is_taught() -> None:
    profile = customer(3)
    stranger = with_(HOME, device="dev-new")
    before = assess(stranger, profile, POP).contributions["device"]
    after = assess(stranger, profile.learn(stranger).learn(stranger), POP).contributions["device"]
    assert after < before
    assert profile.sessions == 3  # learning returns a new profile; the old one is unchanged


def test_a_call_is_judged_on_what_a_call_can_show() -> None:
    call = Signals(
        device="line-hash", country="FR", hour=19, channel="voice_agent", caller_id_matches=True
    )
    result = assess(call, customer(), POP)
    # No browser, OS or IP on a phone line: not "missing", simply not judged.
    assert not result.missing & {"ua_family", "os_family", "network", "asn"}
    swapped = assess(with_(call, attestation="A", sim_swapped=True), customer(), POP)
    assert swapped.decision is not RiskDecision.ALLOW
    assert "a recent SIM change on the calling line" in swapped.explanation


def weekday_population() -> Population:
    """A population that signs in every day of the week, weekends included."""
    pop = Population()
    for i in range(400):
        pop = pop.learn(with_(HOME, device=f"dev-{i}", weekday=i % 7))
    return pop


def test_a_workday_customer_on_a_sunday_is_unusual_but_not_stepped_up_for_that_alone() -> None:
    pop = weekday_population()
    profile = Profile()
    for day in range(30):
        profile = profile.learn(with_(HOME, weekday=day % 5))
    sunday = assess(with_(HOME, weekday=6), profile, pop)
    tuesday = assess(with_(HOME, weekday=1), profile, pop)
    assert sunday.contributions["week_part"] > 1.0 > tuesday.contributions["week_part"]
    assert "unusual day of the week" in sunday.explanation
    assert sunday.decision is RiskDecision.ALLOW  # a habit, not a hard signal
    weekend_customer = profile
    for _ in range(10):
        weekend_customer = weekend_customer.learn(with_(HOME, weekday=5))
    assert assess(with_(HOME, weekday=6), weekend_customer, pop).contributions["week_part"] < 1


@pytest.mark.parametrize("weekday", [None, -1, 7, 12])
def test_an_unknown_weekday_is_neutral(weekday: int | None) -> None:
    result = assess(with_(HOME, weekday=weekday), customer(), weekday_population())
    assert "week_part" not in result.contributions
    assert "week_part" not in result.missing


def test_thresholds_are_overridden_per_action_and_validated() -> None:
    from tessera.auth import DEFAULT_THRESHOLDS, InvalidThresholds, Thresholds, thresholds_table

    strict = thresholds_table({"pay": {"step_up": 0.5}, "login": {"step_up": 2, "deny": 9}})
    assert strict[RiskAction.PAY] == Thresholds(0.5, DEFAULT_THRESHOLDS[RiskAction.PAY].deny)
    assert strict[RiskAction.LOGIN] == Thresholds(2.0, 9.0)
    assert strict[RiskAction.READ] == DEFAULT_THRESHOLDS[RiskAction.READ]
    on_top = thresholds_table({"read": {"deny": 30}}, strict)
    assert on_top[RiskAction.LOGIN] == Thresholds(2.0, 9.0)
    assert on_top[RiskAction.READ].deny == 30.0
    # The same session, two tenants: one lets it pass, the stricter one asks for a step-up.
    new_phone = with_(HOME, device="dev-B")
    stricter = thresholds_table({"login": {"step_up": 1.0}})
    assert assess(new_phone, customer(), POP).decision is RiskDecision.ALLOW
    assert assess(new_phone, customer(), POP, thresholds=stricter).decision is RiskDecision.STEP_UP
    for bad in [
        {"refund": {"step_up": 1}},  # unknown action
        {"pay": {"step_up": 5, "deny": 2}},  # step-up above deny
        {"pay": {"step_up": -1}},
        {"pay": {"deny": float("inf")}},
        {"pay": {"deny": float("nan")}},
        {"pay": {"step_up": True}},  # a bool is not a number here
        {"pay": {"step_up": "1"}},
        {"pay": {"stepup": 1}},  # a misspelled key is refused, not ignored
        {"pay": 3},
        ["pay"],
    ]:
        with pytest.raises(InvalidThresholds):
            thresholds_table(bad)  # type: ignore[arg-type]
