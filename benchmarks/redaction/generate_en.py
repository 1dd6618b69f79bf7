"""The English set: presidio-evaluator's own templates and generator (the package ships both),
with a fixed seed, so the set is the same on every machine and is the one Presidio's authors
evaluate against. Each generated sentence is a one-turn conversation with gold spans in the
same shape as the French set's.

Only the types Tessera redacts are scored; the others the generator marks (organizations,
places, ages, titles, IPs, any date, a ZIP code alone) are left out of the gold
and out of both sides' findings, and counted in `LEFT_OUT`.

    python benchmarks/redaction/generate_en.py --out en.jsonl
"""

from __future__ import annotations

import contextlib
import io
import random
import warnings
from collections import Counter
from collections.abc import Iterator

import generate_fr
import numpy
from generate_fr import SEED, Sample

# presidio-evaluator's types → ours.
SCORED = {
    "PERSON": "PERSON",
    "CREDIT_CARD": "CARD",
    "IBAN_CODE": "IBAN",
    "EMAIL_ADDRESS": "EMAIL",
    "PHONE_NUMBER": "PHONE",
    "STREET_ADDRESS": "ADDRESS",
    "US_SSN": "SSN",
    "US_DRIVER_LICENSE": "DRIVING_LICENCE",
}
LEFT_OUT: Counter[str] = Counter()


def generate(n: int = 300, seed: int = SEED) -> Iterator[Sample]:
    """`n` sentences from presidio-evaluator's templates, the same for the same seed."""
    with warnings.catch_warnings(), contextlib.redirect_stderr(io.StringIO()):
        warnings.simplefilter("ignore")  # its hospital list would be fetched: the default
        from presidio_evaluator.data_generator import PresidioSentenceFaker

        # Its seed reaches Faker, not the `random` and NumPy draws it also makes (middle
        # initials): seed those too, or the set changes from run to run. Only the times of
        # day in some dates still move (Faker draws them relative to now; dates are not scored).
        random.seed(seed)
        numpy.random.seed(seed)
        faker = PresidioSentenceFaker(locale="en_US", lower_case_ratio=0.05, random_seed=seed)
        records = faker.generate_new_fake_sentences(n)
    LEFT_OUT.clear()
    for i, record in enumerate(records):
        sample = Sample(f"en-{i:04d}", "template")
        sample.turns.append({"speaker": "customer", "text": _unescaped(record.full_text)})
        for span in record.spans:
            if span.entity_type not in SCORED:
                LEFT_OUT[span.entity_type] += 1
                continue
            sample.spans.append(
                {"turn": 0, "start": span.start_position, "end": span.end_position,
                 "entity": SCORED[span.entity_type]}
            )  # fmt: skip
        yield sample


def _unescaped(text: str) -> str:
    """The templates write some line breaks and commas escaped ("\\n", "\\,"), and the
    generator leaves them so: a space then the character itself keeps every span's offsets."""
    return text.replace("\\n", " \n").replace("\\,", " ,")


if __name__ == "__main__":
    generate_fr.main(generate, __doc__)
