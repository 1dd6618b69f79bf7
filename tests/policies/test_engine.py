from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from tessera.policies import (
    DEFAULT_POLICY_DIR,
    AccessContext,
    Action,
    Assurance,
    CallerKind,
    CedarPolicyEngine,
    PolicyLoadError,
    PolicyOutcome,
    Principal,
    Resource,
    load_cases,
    run_cases,
)

CASES = load_cases(DEFAULT_POLICY_DIR / "cases.toml")


@pytest.fixture(scope="module")
def engine() -> CedarPolicyEngine:
    return CedarPolicyEngine()


@pytest.mark.parametrize("case", CASES, ids=[c.name for c in CASES])
def test_default_policies(engine: CedarPolicyEngine, case) -> None:
    [result] = run_cases(engine, [case])
    assert result.passed, result.decision


def test_every_default_policy_decides_at_least_one_case(engine: CedarPolicyEngine) -> None:
    used = {pid for r in run_cases(engine, CASES) for pid in r.decision.policy_ids}
    assert set(engine.policies_for("any").policy_ids) <= used


def test_decisions_name_their_policies(engine: CedarPolicyEngine) -> None:
    agent = Principal("k1", "acme", CallerKind.AGENT)
    allowed, denied = engine.decide(
        agent,
        Action.READ_MASKED,
        [Resource("acme", "s", "email"), Resource("acme", "s", "iban")],
        AccessContext("customer_service", "chat"),
    )
    assert allowed.policy_ids == ("agent-masked-contact",)
    assert (denied.outcome, denied.policy_ids) == (PolicyOutcome.DENY, ("default-deny",))


@pytest.fixture
def policy_dir(tmp_path: Path) -> Path:
    target = tmp_path / "policies"
    shutil.copytree(DEFAULT_POLICY_DIR, target)
    return target


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("permit (principal, action, resource) when {", "syntax error"),
        (
            '@id("x")\npermit (principal, action == Tessera::Action::"fly", resource);',
            "does not match the schema",
        ),
        (
            '@id("x")\npermit (principal, action, resource) when { context.colour == "red" };',
            "does not match the schema",
        ),
        ("permit (principal, action, resource);", "needs an @id"),
        ('@id("tenant-wall")\nforbid (principal, action, resource);', "already used"),
    ],
)
def test_a_bad_file_is_refused_and_the_running_set_stays(
    policy_dir: Path, text: str, message: str
) -> None:
    engine = CedarPolicyEngine(policy_dir)
    before = engine.policies_for("acme")
    (policy_dir / "zz_bad.cedar").write_text(text)
    with pytest.raises(PolicyLoadError, match=message) as err:
        engine.reload()
    assert "zz_bad.cedar" in str(err.value) or "syntax" in str(err.value)
    assert engine.policies_for("acme") is before
    with pytest.raises(PolicyLoadError):
        CedarPolicyEngine(policy_dir)


def test_a_tenant_can_have_its_own_set(policy_dir: Path) -> None:
    (policy_dir / "tenants" / "strict-bank").mkdir(parents=True)
    (policy_dir / "tenants" / "strict-bank" / "only_experts.cedar").write_text(
        '@id("experts-only")\npermit (principal in Tessera::Role::"expert", '
        'action == Tessera::Action::"read_masked", resource);'
    )
    engine = CedarPolicyEngine(policy_dir)
    agent_ctx = AccessContext("customer_service", "chat")
    strict_agent = Principal("k1", "strict-bank", CallerKind.AGENT)
    other_agent = Principal("k2", "acme", CallerKind.AGENT)
    assert not engine.decide(
        strict_agent, Action.READ_MASKED, [Resource("strict-bank", "s", "email")], agent_ctx
    )[0].allowed
    assert engine.decide(
        other_agent, Action.READ_MASKED, [Resource("acme", "s", "email")], agent_ctx
    )[0].allowed


def test_step_up_names_the_lowest_sufficient_level(engine: CedarPolicyEngine) -> None:
    dpo = Principal("k", "acme", CallerKind.DPO)
    [decision] = engine.decide(
        dpo,
        Action.EXPORT,
        [Resource("acme", "s", "email")],
        AccessContext("dsr", "web", assurance=Assurance.LOW),
    )
    assert (decision.outcome, decision.required_assurance) == (
        PolicyOutcome.STEP_UP,
        Assurance.HIGH,
    )


def test_missing_policy_folder_is_a_clear_error(tmp_path: Path) -> None:
    with pytest.raises(PolicyLoadError, match="no policy folder"):
        CedarPolicyEngine(tmp_path / "missing")


@pytest.mark.parametrize(
    ("toml", "message"),
    [
        ("", "no \\[\\[case\\]\\]"),
        (
            '[[case]]\nprincipal = { kind = "wizard" }\naction = "read_masked"\n'
            'resource = { category = "email" }\ncontext = { purpose = "x" }\nexpect = "allow"',
            "case 1",
        ),
        ("[[case", "cannot read"),
    ],
)
def test_bad_case_files_are_refused(tmp_path: Path, toml: str, message: str) -> None:
    path = tmp_path / "cases.toml"
    path.write_text(toml)
    with pytest.raises(PolicyLoadError, match=message):
        load_cases(path)


def test_remembered_decisions_are_the_ones_cedar_gives(engine: CedarPolicyEngine) -> None:
    """Every case twice through a remembering engine (the second time from memory), against
    an engine that remembers nothing; a batch mixing known and new resources too."""
    forgetful = CedarPolicyEngine(remember=0)
    for case in CASES * 2:
        args = (case.principal, case.action, [case.resource], case.context)
        assert engine.decide(*args) == forgetful.decide(*args), case.name
    agent = Principal("k1", "acme", CallerKind.AGENT)
    ctx = AccessContext("customer_service", "chat")
    mixed = [Resource("acme", s, c) for s in ("s", "t") for c in ("email", "iban", "phone")]
    engine.decide(agent, Action.READ_MASKED, mixed[:2], ctx)
    assert engine.decide(agent, Action.READ_MASKED, mixed, ctx) == forgetful.decide(
        agent, Action.READ_MASKED, mixed, ctx
    )


def test_a_reload_forgets_the_decisions_of_the_old_set(policy_dir: Path) -> None:
    engine = CedarPolicyEngine(policy_dir, remember=16)
    agent = Principal("k1", "acme", CallerKind.AGENT)
    args = (
        agent,
        Action.READ_MASKED,
        [Resource("acme", "s", "email")],
        AccessContext("customer_service", "chat"),
    )
    assert engine.decide(*args)[0].allowed
    (policy_dir / "zz_no_agents.cedar").write_text(
        '@id("no-agents")\nforbid (principal in Tessera::Role::"agent", action, resource);'
    )
    engine.reload()
    assert engine.decide(*args)[0].policy_ids == ("no-agents",)


def test_memory_is_bounded(engine: CedarPolicyEngine) -> None:
    small = CedarPolicyEngine(remember=4)
    agent = Principal("k1", "acme", CallerKind.AGENT)
    ctx = AccessContext("customer_service", "chat")
    for i in range(10):
        small.decide(agent, Action.READ_MASKED, [Resource("acme", f"s{i}", "email")], ctx)
    assert len(small._decisions) == 4
