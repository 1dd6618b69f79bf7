"""An English contact-centre set of our own, with gold spans: US and UK callers in chat,
messaging and speech-to-text calls, in the forms the redaction issue lists: Social Security
numbers written and said digit by digit, UK National Insurance numbers, ITINs and EINs named,
passports and driving licences, US and UK addresses written and said in lower case, the many
ways callers introduce themselves and the relatives they call for, US phone formats, and a card
read in groups over a speaker's turns with the agent's "yes" between them.

Values come from Faker's en_US and en_GB providers; NINOs are drawn with HMRC's prefix rules
(Faker's all start with the unallocated ZZ); spoken digits from num2words. The seed is fixed,
so the set is the same on every machine.

    python benchmarks/redaction/generate_en_calls.py --out en_calls.jsonl
"""

from __future__ import annotations

import random
import re
from collections.abc import Callable, Iterator

import generate_fr
from faker import Faker
from generate_fr import SEED, Sample
from num2words import num2words

DOMAINS = ("gmail.com", "yahoo.com", "outlook.com", "aol.com", "icloud.com", "comcast.net")
_NINO_FIRST = "ABCEGHJKLMNOPRSTWXYZ"
_NINO_SECOND = "ABCEGHJKLMNPRSTWXYZ"
_NINO_NEVER = {"BG", "GB", "KN", "NK", "NT", "TN", "ZZ"}
RELATIVES = ("mother", "mom", "father", "dad", "husband", "wife", "son", "daughter",
             "grandmother", "brother", "sister", "partner")  # fmt: skip


def _digits_said(digits: str) -> str:
    return " ".join("oh" if d == "0" and i % 3 else num2words(int(d)) for i, d in
                    enumerate(digits))  # fmt: skip


def _lower_asr(text: str) -> str:
    return re.sub(r"[?!.,]", "", text).lower()


class Values:
    """One caller's values (US or UK), written and spoken."""

    def __init__(self, us: Faker, uk: Faker, rng: random.Random) -> None:
        self.rng = rng
        self.first, self.last = us.first_name(), us.last_name()
        self.name = f"{self.first} {self.last}"
        self.other_first, self.other_last = us.first_name(), us.last_name()
        self.relative = rng.choice(RELATIVES)
        self.agent = us.first_name()
        self.email = f"{self.first}.{self.last}@{rng.choice(DOMAINS)}".lower()
        self.ssn = us.ssn()
        self.itin = us.itin()
        self.ein = us.ein()
        self.passport = us.passport_number()
        self.card = us.credit_card_number(rng.choice(["visa16", "mastercard", "amex"]))
        area = rng.choice(["212", "312", "415", "617", "702", "404", "503", "713", "305"])
        self.phone = f"{area}{rng.randint(200, 999)}{rng.randint(0, 9999):04d}"
        self.us_street = f"{rng.randint(1, 9899)} {us.street_name()}"
        self.us_unit = rng.choice(
            ["", f" Apt {rng.randint(1, 40)}", f" Suite {rng.randint(100, 900)}",
             f" Unit {rng.randint(1, 20)}B"]
        )  # fmt: skip
        self.us_city = f"{us.city()}, {us.state_abbr()} {us.zipcode()}"
        self.uk_street = f"{rng.randint(1, 240)} {uk.street_name()}"
        self.uk_city = uk.city()
        self.uk_postcode = uk.postcode()
        while True:
            prefix = rng.choice(_NINO_FIRST) + rng.choice(_NINO_SECOND)
            if prefix not in _NINO_NEVER:
                break
        self.nino = f"{prefix}{rng.randint(0, 999999):06d}{rng.choice('ABCD')}"
        self.licence = (
            f"{rng.choice('ABCDFGHJKLMNPRSTW')}{rng.randint(100, 999)}-"
            f"{rng.randint(1000, 9999)}-{rng.randint(1000, 9999)}"
        )

    def phone_written(self) -> str:
        p = self.phone
        return self.rng.choice([
            f"({p[:3]}) {p[3:6]}-{p[6:]}", f"{p[:3]}-{p[3:6]}-{p[6:]}", f"{p[:3]}.{p[3:6]}.{p[6:]}",
            f"+1 {p[:3]} {p[3:6]} {p[6:]}", f"1-{p[:3]}-{p[3:6]}-{p[6:]}", p,
        ])  # fmt: skip

    def phone_said(self) -> str:
        return _digits_said(self.phone)

    def card_groups(self) -> list[str]:
        c = self.card
        if len(c) == 15:
            return [c[:4], c[4:10], c[10:]]
        return [c[i : i + 4] for i in range(0, len(c), 4)]

    def ssn_written(self) -> str:
        s = self.ssn
        return self.rng.choice([s, s.replace("-", " "), s.replace("-", "")])

    def nino_written(self) -> str:
        n = self.nino
        return self.rng.choice([n, f"{n[:2]} {n[2:4]} {n[4:6]} {n[6:8]} {n[8]}"])

    def email_spelled(self) -> str:
        local, domain = self.email.split("@")
        return f"{local.replace('.', ' dot ')} at {domain.replace('.', ' dot ')}"


# --------------------------------------------------------------------------- templates
INTROS: tuple[Callable[[Values], tuple[str, str, str]], ...] = (
    lambda v: ("Hi, my name is ", v.name, ", I have a question about my bill"),
    lambda v: ("Hello, this is ", v.name, " calling about my account"),
    lambda v: ("hi it's ", _lower_asr(v.name), " i'm calling about a charge"),
    lambda v: ("", v.name, " here, I can't log in"),
    lambda v: ("yeah hi you're speaking with ", _lower_asr(v.name), ""),
    lambda v: ("The account is under ", v.name, "."),
    lambda v: ("the name on the account is ", _lower_asr(v.name), ""),
    lambda v: ("Good morning, I'm ", v.name, " and I need help with my card"),
    lambda v: ("hey there my name's ", _lower_asr(v.first), " and my card got declined"),
)


def chat_identity(s: Sample, v: Values) -> None:
    before, name, after = v.rng.choice(INTROS)(v)
    s.say("customer", before, ("PERSON", name), after)
    s.say("agent", "Thanks, can you confirm the email address on file?")
    s.say("customer", "sure, it's ", ("EMAIL", v.email))
    s.say("agent", "And the best number to reach you?")
    s.say("customer", ("PHONE", v.phone_written()))


def chat_ssn(s: Sample, v: Values) -> None:
    s.say("agent", "To verify your identity I need the last four of your social, or the full "
          "number if you are opening an account.")  # fmt: skip
    s.say("customer", "I'm opening one. My SSN is ", ("SSN", v.ssn_written()))
    s.say("agent", "Thank you ", ("PERSON", v.first), ", that's verified.")


def call_ssn_spoken(s: Sample, v: Values) -> None:
    s.say("agent", "can i get your social security number please")
    s.say("customer", "yeah it's ", ("SSN", _digits_said(v.ssn.replace("-", ""))))
    s.say("agent", "thank you mister ", ("PERSON", _lower_asr(v.last)))


def chat_tax(s: Sample, v: Values) -> None:
    s.say("customer", "I don't have a social, my ITIN is ", ("ITIN", v.itin))
    s.say("agent", "That works. Is the business account's EIN on the form?")
    s.say("customer", "yes, our EIN is ", ("EIN", v.ein))


def chat_uk(s: Sample, v: Values) -> None:
    s.say("customer", "Hiya, I'm ", ("PERSON", v.name), ", I need to update my details")
    s.say("agent", "Of course. What's your National Insurance number?")
    s.say("customer", "it's ", ("NINO", v.nino_written()))
    s.say("agent", "And your address?")
    s.say("customer", ("ADDRESS", f"{v.uk_street}, {v.uk_city} {v.uk_postcode}"))


def call_uk_address(s: Sample, v: Values) -> None:
    s.say("agent", "and can you confirm the first line of the address and the postcode")
    s.say("customer", "yeah it's ", ("ADDRESS", _lower_asr(f"{v.uk_street} {v.uk_postcode}")))
    s.say("agent", "lovely thank you")


def chat_us_address(s: Sample, v: Values) -> None:
    s.say("customer", "I moved, please send the new card to ",
          ("ADDRESS", f"{v.us_street}{v.us_unit}, {v.us_city}"))  # fmt: skip
    s.say("agent", "Done. It should arrive in 5 to 7 business days.")


def call_us_address(s: Sample, v: Values) -> None:
    s.say("agent", "what's the address we should send it to")
    s.say("customer", "it's ", ("ADDRESS", _lower_asr(f"{v.us_street}{v.us_unit} {v.us_city}")))
    s.say("agent", "got it")


def call_card_split(s: Sample, v: Values) -> None:
    groups = v.card_groups()
    s.say("agent", "go ahead with the card number when you're ready")
    for i, group in enumerate(groups):
        s.say("customer", ("CARD", " ".join(num2words(int(d)) for d in group)))
        if i < len(groups) - 1:
            s.say("agent", v.rng.choice(["yes", "uh huh", "okay", "mhm"]))
    s.say("agent", "thank you")


def call_phone(s: Sample, v: Values) -> None:
    s.say("agent", "what's a good callback number")
    s.say("customer", "it's ", ("PHONE", v.phone_said()))
    s.say("agent", "and an email for the confirmation")
    s.say("customer", ("EMAIL", v.email_spelled()))


def call_relative(s: Sample, v: Values) -> None:
    s.say("customer", "hi i'm calling on behalf of my ", v.relative, " ",
          ("PERSON", _lower_asr(f"{v.other_first} {v.other_last}")),
          " she's in the hospital")  # fmt: skip
    s.say("agent", "i'm sorry to hear that are you on the account")
    s.say("customer", "yes i'm ", ("PERSON", _lower_asr(v.name)), " her ",
          v.rng.choice(["son", "daughter", "husband"]))  # fmt: skip


def chat_relative(s: Sample, v: Values) -> None:
    s.say("customer", "My ", v.relative, ", ", ("PERSON", v.other_first),
          ", set up this account for me.")  # fmt: skip
    s.say("agent", "No problem. Could you ask ", ("PERSON", v.other_first),
          " to call us, or add you as an authorized user?")  # fmt: skip


def chat_ids(s: Sample, v: Values) -> None:
    s.say("customer", "For the wire I was asked for ID. My passport number is ",
          ("PASSPORT", v.passport))  # fmt: skip
    s.say("agent", "Thank you. We also accept a driver's license.")
    s.say("customer", "my driver's license number is ", ("DRIVING_LICENCE", v.licence))


def chat_agent(s: Sample, v: Values) -> None:
    s.say("agent", "Hi, this is ", ("PERSON", v.agent), " from customer care, how can I help?")
    s.say("customer", "Hi ", ("PERSON", v.agent), ", my order hasn't arrived.")
    s.say("agent", "I see it shipped on the 12th, order 118-553, for $49.90.")


def chat_no_pii(s: Sample, v: Values) -> None:
    """Nothing to find: numbers and words that are not personal data."""
    s.say("customer", "My internet has been down since Monday, the router light is red")
    s.say("agent", "Sorry about that. Have you tried restarting it? Order 2024-118-553.")
    s.say("customer", "Yes, 2 times. I pay $79.99 a month for 500 Mbps and got 3 days off.")
    s.say("agent", "A technician will come Thursday between 8 and 12, ticket 7734219.")


TEMPLATES: dict[str, list[Callable[[Sample, Values], None]]] = {
    "chat": [chat_identity, chat_ssn, chat_tax, chat_uk, chat_us_address, chat_relative,
             chat_ids, chat_agent, chat_no_pii],
    "call": [call_ssn_spoken, call_uk_address, call_us_address, call_card_split, call_phone,
             call_relative],
}  # fmt: skip


def generate(n: int = 300, seed: int = SEED) -> Iterator[Sample]:
    """`n` conversations, the same for the same seed; every template in turn within a kind."""
    rng = random.Random(seed)
    us, uk = Faker("en_US"), Faker("en_GB")
    us.seed_instance(seed)
    uk.seed_instance(seed + 1)
    kinds = sorted(TEMPLATES)
    for i in range(n):
        kind = kinds[i % len(kinds)]
        template = TEMPLATES[kind][(i // len(kinds)) % len(TEMPLATES[kind])]
        sample = Sample(f"en-call-{i:04d}", kind)
        template(sample, Values(us, uk, rng))
        yield sample


if __name__ == "__main__":
    generate_fr.main(generate, __doc__)
