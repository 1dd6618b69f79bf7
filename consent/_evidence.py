"""What proves a consent on each channel (GDPR Art. 7(1): the controller must be able to show
that the person consented, and how). Pure: the vocabulary and the rule per channel.

An event carries references only, never the recording or the message itself. A channel asks for
one reference of each group it lists: a call its recording (or the utterance) and, with an
agent, the agent; a chat, messaging, SMS or e-mail the message; the web and the app the form and
the session; a voice assistant the skill or device session; in person the signed form and the
agent. A choice made through a data-subject request (`dsr_id`) or a browser signal (`signal`,
Global Privacy Control) is proven by that reference, whatever the channel.
"""

from __future__ import annotations

from collections.abc import Mapping

from tessera import Channel

__all__ = ["EVIDENCE_FIELDS", "SELF_PROVING", "missing_evidence"]

EVIDENCE_FIELDS = frozenset(
    {
        "form_id",
        "recording_ref",
        "utterance_ref",
        "agent_id",
        "message_id",
        "ivr_menu",
        "session_id",
        "skill_session",
        "device_session",
        "document_ref",
        "signal",
        "notice_url",
        "dsr_id",
    }
)

SELF_PROVING = frozenset({"dsr_id", "signal"})

_REQUIRED: dict[Channel, tuple[frozenset[str], ...]] = {
    Channel.VOICE_IVR: (frozenset({"recording_ref", "utterance_ref"}),),
    Channel.VOICE_AGENT: (frozenset({"recording_ref", "utterance_ref"}), frozenset({"agent_id"})),
    Channel.CHAT: (frozenset({"message_id"}),),
    Channel.MESSAGING: (frozenset({"message_id"}),),
    Channel.SMS: (frozenset({"message_id"}),),
    Channel.EMAIL: (frozenset({"message_id"}),),
    Channel.WEB: (frozenset({"form_id"}), frozenset({"session_id"})),
    Channel.APP: (frozenset({"form_id"}), frozenset({"session_id"})),
    Channel.VOICE_ASSISTANT: (frozenset({"skill_session", "device_session"}),),
    Channel.IN_PERSON: (frozenset({"form_id", "document_ref"}), frozenset({"agent_id"})),
}


def missing_evidence(channel: Channel, evidence: Mapping[str, str]) -> list[str]:
    """What the channel still needs, in words ("recording_ref or utterance_ref"); empty when
    the evidence proves the choice."""
    if SELF_PROVING & set(evidence):
        return []
    return [
        " or ".join(sorted(group))
        for group in _REQUIRED.get(channel, ())
        if not group & set(evidence)
    ]
