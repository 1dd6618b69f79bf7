"""The portal's vocabulary: the domain's codes (channels, choices, legal bases, actions, kinds
of caller, policies) as words a customer reads. English msgids, translated by the catalogue.
Pure data; nothing internal (a token, a policy id) reaches a page without passing through here.
"""

from __future__ import annotations

from ._i18n import N_

__all__ = [
    "ACTIONS",
    "CALLERS",
    "CATEGORIES",
    "CHANNELS",
    "EVENTS",
    "LEGAL_BASES",
    "OUTCOMES",
    "POLICIES",
    "REQUEST_KINDS",
    "REQUEST_STATES",
    "policy_words",
]

CHANNELS = {
    "web": N_("the website"),
    "app": N_("the mobile app"),
    "chat": N_("the web chat"),
    "messaging": N_("a messaging app"),
    "sms": N_("SMS"),
    "voice_ivr": N_("the automated phone line"),
    "voice_agent": N_("a call with an adviser"),
    "voice_assistant": N_("a voice assistant"),
    "email": N_("e-mail"),
    "in_person": N_("in person"),
}

EVENTS = {
    "given": N_("Given"),
    "refused": N_("Refused"),
    "withdrawn": N_("Withdrawn"),
    "expired": N_("Expired"),
    "objected": N_("Objected"),
}

LEGAL_BASES = {
    "consent": N_("Your consent"),
    "contract": N_("Needed for your contract"),
    "legal_obligation": N_("Required by law"),
    "vital_interest": N_("To protect someone's life"),
    "public_task": N_("A task in the public interest"),
    "legitimate_interest": N_("Our legitimate interest (you may object)"),
}

CALLERS = {
    "agent": N_("An adviser"),
    "expert": N_("An expert adviser"),
    "bot": N_("An automated assistant"),
    "analytics": N_("An analytics job"),
    "payments": N_("The payment service"),
    "dpo": N_("The data protection officer"),
    "customer": N_("You, in your privacy space"),
    "service": N_("One of our systems"),
}

ACTIONS = {
    "read_masked": N_("saw a masked view"),
    "detokenize": N_("saw the value in clear"),
    "export": N_("exported your data"),
    "erase": N_("erased your data"),
    "pay": N_("used your card for a payment"),
    "dsr_open": N_("opened a request"),
    "dsr_verify": N_("checked who made a request"),
    "dsr_execute": N_("carried out a request"),
    "dsr_extend": N_("extended a request"),
    "dsr_reject": N_("rejected a request"),
}

OUTCOMES = {
    "allow": N_("Allowed"),
    "deny": N_("Refused"),
    "step_up": N_("Held until identity was confirmed"),
}

CATEGORIES = {
    "person_name": N_("name"),
    "email": N_("e-mail address"),
    "phone": N_("phone number"),
    "postal_address": N_("postal address"),
    "card_pan": N_("card number"),
    "iban": N_("bank account number"),
    "date_of_birth": N_("date of birth"),
    "national_id": N_("identity number"),
    "generic": N_("other data"),
}

# The shipped policies, in words; a tenant's own policy reads as its id made into words.
POLICIES = {
    "agent-masked-contact": N_("advisers see masked contact details"),
    "expert-masked": N_("experts see masked details"),
    "expert-detokenize-stepped-up": N_("experts see details in clear after a strong check"),
    "bot-masked-contact": N_("assistants see masked contact details"),
    "bot-never-clear": N_("assistants never see anything in clear"),
    "analytics-with-consent": N_("analytics only with your consent"),
    "payments-card": N_("the payment service uses your card"),
    "card-clear-only-in-payments": N_("a card number is never shown in clear outside payments"),
    "dpo-data-subject-requests": N_("the data protection officer handles your requests"),
    "customer-own-data": N_("you see your own data"),
    "telephone-orders-on-calls": N_("telephone orders only on calls"),
    "agent-opens-requests": N_("advisers open requests for you"),
    "customer-own-requests": N_("you make your own requests"),
    "dpo-runs-requests": N_("the data protection officer runs requests"),
    "dpo-verifies-identity": N_("the data protection officer checks identity"),
    "tenant-wall": N_("nobody outside this company sees your data"),
    "purpose-limitation": N_("data is used only for the purposes it is kept for"),
    "session-subject": N_("a session is only for its own customer"),
    "identity-by-session": N_("identity is confirmed by signing in"),
    "legal-basis:consent": N_("your consent is needed"),
    "legal-basis:legitimate_interest": N_("your objection is respected"),
    "legal-basis:contract": N_("needed for your contract"),
    "legal-basis:legal_obligation": N_("required by law"),
}

REQUEST_KINDS = {
    "access": N_("A copy of my data"),
    "portability": N_("My data to take elsewhere"),
    "rectification": N_("Correct my data"),
    "erasure": N_("Erase my data"),
    "restriction": N_("Restrict the use of my data"),
    "objection": N_("Object to the use of my data"),
}

REQUEST_STATES = {
    "received": N_("Received"),
    "identity_verified": N_("Identity confirmed"),
    "in_progress": N_("In progress"),
    "completed": N_("Completed"),
    "rejected": N_("Rejected"),
}


def policy_words(policy_id: str) -> str | None:
    """The msgid for a policy, or None when it is a tenant's own (then shown as plain words)."""
    return POLICIES.get(policy_id)


# What a page says of a code it does not know (a tenant's own channel, a newer action).
ANOTHER_CHANNEL = N_("another channel")
A_CHOICE = N_("a choice")
ANOTHER_BASIS = N_("another basis")
SOME_USE = N_("used your data")
RECORDED = N_("Recorded")
OTHER_DATA = N_("other data")
SOME_SYSTEM = N_("One of our systems")
