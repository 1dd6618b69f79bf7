"""A French contact-centre set with gold spans: chat, messaging and speech-to-text call
transcripts, with numbers said as words, numbers split over turns and spelled e-mails.

Values come from Faker's fr_FR provider (NIR with its key, SIRET, IBAN, cards, phones, names,
streets), spoken forms from num2words; the seed is fixed, so the set is the same on every
machine. `python benchmarks/redaction/generate_fr.py --out fr.jsonl` writes it; the benchmark
builds it in memory.
"""

from __future__ import annotations

import argparse
import json
import random
import re
import unicodedata
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path

import phonenumbers
from faker import Faker
from num2words import num2words

SEED = 2026
DOMAINS = ("orange.fr", "gmail.com", "free.fr", "laposte.net", "sfr.fr", "outlook.fr")


@dataclass
class Sample:
    id: str
    kind: str  # chat, messaging, call
    turns: list[dict[str, str]] = field(default_factory=list)
    spans: list[dict[str, object]] = field(default_factory=list)  # turn, start, end, entity

    def say(self, speaker: str, *parts: str | tuple[str, str]) -> None:
        """A turn from plain strings and (entity, text) pieces, recording each piece's span."""
        text = ""
        for part in parts:
            if isinstance(part, tuple):
                entity, value = part
                self.spans.append(
                    {"turn": len(self.turns), "start": len(text), "end": len(text) + len(value),
                     "entity": entity}
                )  # fmt: skip
                text += value
            else:
                text += part
        self.turns.append({"speaker": speaker, "text": text})


def _ascii(text: str) -> str:
    decomposed = unicodedata.normalize("NFKD", text)
    return "".join(c for c in decomposed if not unicodedata.combining(c)).lower()


class Values:
    """One customer's values, in written and spoken forms."""

    def __init__(self, fake: Faker, rng: random.Random) -> None:
        self.rng = rng
        self.first, self.last = fake.first_name(), fake.last_name()
        self.name = f"{self.first} {self.last}"
        self.other_first = fake.first_name()
        self.other = f"{self.other_first} {fake.last_name()}"
        self.agent = fake.first_name()
        self.phone = _mobile(rng)
        self.email = (
            f"{_ascii(self.first).replace(' ', '')}.{_ascii(self.last).replace(' ', '')}"
            f"@{rng.choice(DOMAINS)}"
        )
        self.street = f"{rng.randint(1, 180)} {fake.street_name()}"
        self.city = f"{fake.postcode()} {fake.city()}"
        self.card = fake.credit_card_number(rng.choice(["visa16", "mastercard"]))
        self.cvv = f"{rng.randint(0, 999):03d}"
        self.expiry = f"{rng.randint(1, 12):02d}/{rng.randint(27, 33)}"
        self.iban = fake.iban()
        self.nir = fake.ssn()
        self.siret = fake.siret().replace(" ", "")
        self.dob = fake.date_of_birth(minimum_age=18, maximum_age=90).strftime("%d/%m/%Y")

    # written forms
    def phone_written(self) -> str:
        return " ".join(self.phone[i : i + 2] for i in range(0, 10, 2))

    def card_written(self) -> str:
        return " ".join(self.card[i : i + 4] for i in range(0, len(self.card), 4))

    def iban_written(self) -> str:
        return " ".join(self.iban[i : i + 4] for i in range(0, len(self.iban), 4))

    def nir_written(self) -> str:
        n = self.nir
        return f"{n[0]} {n[1:3]} {n[3:5]} {n[5:7]} {n[7:10]} {n[10:13]} {n[13:]}"

    # spoken forms (speech-to-text writes the words)
    def phone_spoken(self) -> str:
        pairs = [self.phone[i : i + 2] for i in range(0, 10, 2)]
        return " ".join(_pair(p) for p in pairs)

    def card_spoken(self, digits: str | None = None) -> str:
        return " ".join(num2words(int(d), lang="fr") for d in (digits or self.card))

    def email_spelled(self) -> str:
        local, domain = self.email.split("@")
        return f"{local.replace('.', ' point ')} arobase {domain.replace('.', ' point ')}"

    def cvv_spoken(self) -> str:
        return " ".join(num2words(int(d), lang="fr") for d in self.cvv)


def _mobile(rng: random.Random) -> str:
    """A French mobile number that exists in the numbering plan (06, 073 to 079)."""
    while True:
        number = "0" + rng.choice("67") + "".join(rng.choice("0123456789") for _ in range(8))
        if phonenumbers.is_valid_number(phonenumbers.parse(number, "FR")):
            return number


def _pair(two: str) -> str:
    """How a French caller says a pair of phone digits: "06" is "zéro six", "12" "douze"."""
    if two[0] == "0":
        return f"zéro {num2words(int(two[1]), lang='fr')}"
    return num2words(int(two), lang="fr")


def _lower_asr(text: str) -> str:
    return re.sub(r"[?!.,]", "", text).lower()


# --------------------------------------------------------------------------- templates
def chat_identity(s: Sample, v: Values) -> None:
    s.say("client", "Bonjour, je m'appelle ", ("PERSON", v.name), " et j'ai un souci de facture")
    s.say("agent", "Bonjour, pouvez-vous me donner votre adresse mail ?")
    s.say("client", "oui c'est ", ("EMAIL", v.email))
    s.say("agent", "Merci. Et votre numéro de téléphone ?")
    s.say("client", ("PHONE", v.phone_written()))


def chat_address(s: Sample, v: Values) -> None:
    s.say("client", "Bonjour, j'ai déménagé, ma nouvelle adresse est ", ("ADDRESS", v.street),
          ", ", v.city)  # fmt: skip
    s.say("agent", "C'est noté. Pouvez-vous confirmer votre date de naissance ?")
    s.say("client", "je suis née le ", ("DATE_OF_BIRTH", v.dob))


def chat_iban(s: Sample, v: Values) -> None:
    s.say("client", "Je voudrais changer de RIB pour le prélèvement")
    s.say("agent", "Bien sûr, quel est le nouvel IBAN ?")
    s.say("client", ("IBAN", v.iban_written()))
    s.say("agent", "Merci Madame ", ("PERSON", v.last), ", c'est enregistré")


def chat_company(s: Sample, v: Values) -> None:
    s.say("client", "Bonjour, je gère la société de ", ("PERSON", v.name),
          ", notre SIRET est ", ("SIRET", v.siret))  # fmt: skip
    s.say("agent", "Merci, je regarde votre dossier")


def chat_card(s: Sample, v: Values) -> None:
    s.say("client", "ma carte ", ("CARD", v.card_written()), " a été débitée deux fois")
    s.say("agent", "Je vérifie. Quelle est sa date d'expiration ?")
    s.say("client", "elle expire le ", ("CARD_EXPIRY", v.expiry))


def messaging_short(s: Sample, v: Values) -> None:
    s.say("client", "slt c ", ("PERSON", v.first), " mon num a changé c ", ("PHONE", v.phone))
    s.say("bot", "Merci ! Votre nouveau numéro est enregistré.")
    s.say("client", "et mon mail c ", ("EMAIL", v.email), " merci")


def messaging_nir(s: Sample, v: Values) -> None:
    s.say("client", "pour la mutuelle mon numéro de sécu c'est ", ("NIR", v.nir_written()))
    s.say("bot", "Merci, un conseiller revient vers vous.")


def call_phone(s: Sample, v: Values) -> None:
    s.say("agent", "service client bonjour je vous écoute")
    s.say("client", "oui bonjour c'est ", ("PERSON", _lower_asr(v.name)),
          " je vous appelle pour mon forfait")  # fmt: skip
    s.say("agent", "très bien vous pouvez me rappeler votre numéro de téléphone")
    s.say("client", "c'est le ", ("PHONE", v.phone_spoken()))


def call_card_split(s: Sample, v: Values) -> None:
    half = len(v.card) // 2
    s.say("agent", "je vais prendre votre numéro de carte")
    s.say("client", "alors c'est ", ("CARD", v.card_spoken(v.card[:half])))
    s.say("agent", "oui")
    s.say("client", ("CARD", v.card_spoken(v.card[half:])))
    s.say("agent", "et le cryptogramme au dos")
    s.say("client", "le cryptogramme c'est ", ("CVV", v.cvv_spoken()))


def call_email(s: Sample, v: Values) -> None:
    s.say("agent", "je vous envoie la confirmation par mail à quelle adresse")
    s.say("client", ("EMAIL", v.email_spelled()))
    s.say("agent", "parfait et vous habitez toujours au ", ("ADDRESS", _lower_asr(v.street)))
    s.say("client", "oui c'est ça")


def call_iban_dob(s: Sample, v: Values) -> None:
    s.say("agent", "pour vérifier votre identité votre date de naissance s'il vous plaît")
    s.say("client", "je suis né le ", ("DATE_OF_BIRTH", v.dob))
    s.say("agent", "merci monsieur ", ("PERSON", _lower_asr(v.last)))
    s.say("client", "et pour le remboursement mon iban c'est ", ("IBAN", v.iban_written()))


def chat_parcel(s: Sample, v: Values) -> None:
    s.say("agent", "Bonjour, je suis ", ("PERSON", v.agent), " du service client, que puis-je "
          "faire pour vous ?")  # fmt: skip
    s.say("client", "Bonjour ", ("PERSON", v.agent), ", mon colis n'est pas arrivé, il est au nom "
          "de ", ("PERSON", v.name), ".")  # fmt: skip
    s.say("agent", "Je regarde. Il a été livré au point relais le 12 pour 49,90 €.")


def chat_no_pii(s: Sample, v: Values) -> None:
    """Nothing to find: words and numbers that are not personal data."""
    s.say("client", "Bonjour, j'ai la box Orange et la fibre ne marche plus depuis lundi")
    s.say("agent", "Je vois. Le voyant est-il rouge ? Avez-vous essayé de redémarrer ?")
    s.say("client", "Oui c'est rouge, j'ai redémarré 2 fois, la facture de 39,99 € est payée")
    s.say("agent", "Merci. Un technicien passe jeudi entre 8 h et 12 h, commande 2024-118-553.")


def messaging_relative(s: Sample, v: Values) -> None:
    s.say("client", "bjr je suis ", ("PERSON", v.name), " je vous écris pour ma mère")
    s.say("bot", "Bonjour ! Que puis-je faire pour vous ?")
    s.say("client", "elle s'appelle ", ("PERSON", v.other), " son numéro c'est ",
          ("PHONE", v.phone_written()))  # fmt: skip


def call_relative(s: Sample, v: Values) -> None:
    s.say("agent", "bonjour vous êtes bien monsieur ", ("PERSON", _lower_asr(v.last)))
    s.say("client", "non c'est sa femme ", ("PERSON", _lower_asr(v.other_first)),
          " il est au travail")  # fmt: skip
    s.say("agent", "d'accord je vous appelle pour la facture de quarante-neuf euros")
    s.say("client", "oui on l'a payée le douze")


TEMPLATES: dict[str, list[Callable[[Sample, Values], None]]] = {
    "chat": [chat_identity, chat_address, chat_iban, chat_company, chat_card, chat_parcel,
             chat_no_pii],
    "messaging": [messaging_short, messaging_nir, messaging_relative],
    "call": [call_phone, call_card_split, call_email, call_iban_dob, call_relative],
}  # fmt: skip


def generate(n: int = 300, seed: int = SEED) -> Iterator[Sample]:
    """`n` conversations, the same for the same seed."""
    rng = random.Random(seed)
    fake = Faker("fr_FR")
    fake.seed_instance(seed)
    kinds = sorted(TEMPLATES)
    for i in range(n):
        kind = kinds[i % len(kinds)]
        template = rng.choice(TEMPLATES[kind])
        sample = Sample(f"fr-{i:04d}", kind)
        template(sample, Values(fake, rng))
        yield sample


def main(
    make: Callable[[int, int], Iterator[Sample]] = generate, doc: str | None = __doc__
) -> None:
    """Write a set as JSON lines (this one, or another generator's)."""
    parser = argparse.ArgumentParser(description=doc)
    parser.add_argument("--out", type=Path, required=True)
    parser.add_argument("-n", type=int, default=300)
    parser.add_argument("--seed", type=int, default=SEED)
    args = parser.parse_args()
    with args.out.open("w", encoding="utf-8") as fh:
        for sample in make(args.n, args.seed):
            fh.write(json.dumps(sample.__dict__, ensure_ascii=False) + "\n")


if __name__ == "__main__":
    main()
