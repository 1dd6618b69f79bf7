"""Quality and speed of transcript redaction in one run: vanilla Presidio (its default recognizers
for French, the same spaCy model) against Tessera's redactor, on the same French contact-centre
conversations (`generate_fr.py`, fixed seed, gold spans).

Prints per-entity precision, recall and F2 (recall weighs more: a leak costs more than a mask),
then utterances per second (vanilla text by text, as its `AnalyzerEngine` is used; Tessera by
conversation, each language's segments read by the model in one `nlp.pipe` batch, and through
the stream one utterance at a time) and p50/p99 latency per utterance, and judges the targets of
issue 6. A finding matches a gold span of the same type when it covers at least half of it
(recall) or overlaps it (precision): spoken numbers and addresses have no single right border.

    .venv/bin/python benchmarks/redaction/redaction_bench.py [-n 300] [--check]
"""

from __future__ import annotations

import argparse
import statistics
import sys
import time
from collections import defaultdict
from collections.abc import Iterable, Sequence
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
sys.path.insert(0, str(Path(__file__).resolve().parent))

from _report import judge
from generate_fr import SEED, Sample, generate

from tessera.trust._redactor import FRENCH_MODEL, Turn, _offline_tldextract, shared_redactor

# Vanilla Presidio's names for what we call the same thing.
VANILLA = {
    "CREDIT_CARD": "CARD",
    "IBAN_CODE": "IBAN",
    "EMAIL_ADDRESS": "EMAIL",
    "PHONE_NUMBER": "PHONE",
    "PERSON": "PERSON",
    "LOCATION": "ADDRESS",
    "DATE_TIME": "DATE_OF_BIRTH",
}
CHECKSUM = ("CARD", "IBAN", "NIR", "SIRET")
PEOPLE = ("PERSON", "PHONE", "ADDRESS")
Span = tuple[int, int, int, str]  # turn, start, end, entity


def vanilla_analyzer(model: str):
    from presidio_analyzer import AnalyzerEngine, RecognizerRegistry
    from presidio_analyzer.nlp_engine import NlpEngineProvider

    engine = NlpEngineProvider(
        nlp_configuration={
            "nlp_engine_name": "spacy",
            "models": [{"lang_code": "fr", "model_name": model}],
        }
    ).create_engine()
    registry = RecognizerRegistry(supported_languages=["fr"])
    registry.load_predefined_recognizers(languages=["fr"], nlp_engine=engine)
    return AnalyzerEngine(registry=registry, nlp_engine=engine, supported_languages=["fr"])


def run_vanilla(analyzer, samples: Sequence[Sample]) -> tuple[list[list[Span]], list[float]]:
    found, latencies = [], []
    for sample in samples:
        spans: list[Span] = []
        for i, turn in enumerate(sample.turns):
            t0 = time.perf_counter()
            results = analyzer.analyze(turn["text"], language="fr")
            latencies.append(time.perf_counter() - t0)
            spans += [(i, r.start, r.end, VANILLA[r.entity_type]) for r in results
                      if r.entity_type in VANILLA]  # fmt: skip
        found.append(spans)
    return found, latencies


def run_tessera(redactor, samples: Sequence[Sample]) -> tuple[list[list[Span]], list[float]]:
    """Quality from the conversation path (what the product runs); latency per utterance from
    the stream, as a live call feeds it."""
    found, latencies = [], []
    for sample in samples:
        turns = [Turn(t["speaker"], t["text"]) for t in sample.turns]
        done = redactor.redact_conversation(turns)
        found.append(
            [(i, f.start, f.end, f.entity) for i, d in enumerate(done) for f in d.findings]
        )
        stream = redactor.stream()
        for turn in turns:
            t0 = time.perf_counter()
            stream.feed(turn)
            latencies.append(time.perf_counter() - t0)
        t0 = time.perf_counter()
        stream.close()
        latencies[-1] += time.perf_counter() - t0
    return found, latencies


def score(
    samples: Sequence[Sample], predicted: Sequence[Iterable[Span]]
) -> dict[str, dict[str, float]]:
    counts: dict[str, dict[str, int]] = defaultdict(lambda: defaultdict(int))
    for sample, found in zip(samples, predicted, strict=True):
        gold = [(s["turn"], s["start"], s["end"], s["entity"]) for s in sample.spans]
        found = list(found)
        for g in gold:
            counts[g[3]]["gold"] += 1
            covered = max(
                (min(g[2], p[2]) - max(g[1], p[1]) for p in found if p[0] == g[0] and p[3] == g[3]),
                default=0,
            )
            counts[g[3]]["recalled"] += covered * 2 >= g[2] - g[1]
        for p in found:
            counts[p[3]]["predicted"] += 1
            counts[p[3]]["correct"] += any(
                g[0] == p[0] and g[3] == p[3] and min(g[2], p[2]) > max(g[1], p[1]) for g in gold
            )
    out = {}
    for entity, c in sorted(counts.items()):
        precision = c["correct"] / c["predicted"] if c["predicted"] else 1.0
        recall = c["recalled"] / c["gold"] if c["gold"] else 1.0
        f2 = 5 * precision * recall / (4 * precision + recall) if precision + recall else 0.0
        out[entity] = {"gold": c["gold"], "predicted": c["predicted"], "precision": precision,
                       "recall": recall, "f2": f2}  # fmt: skip
    total_pred = sum(c["predicted"] for c in counts.values())
    total_ok = sum(c["correct"] for c in counts.values())
    out["ALL"] = {"precision": total_ok / total_pred if total_pred else 1.0}
    return out


def _pct(values: list[float], q: float) -> float:
    return statistics.quantiles(values, n=100)[int(q) - 1] * 1000 if len(values) > 1 else 0.0


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("-n", type=int, default=300, help="conversations")
    parser.add_argument("--seed", type=int, default=SEED)
    parser.add_argument("--model", default=FRENCH_MODEL)
    parser.add_argument("--check", action="store_true", help="exit 1 when a target is missed")
    args = parser.parse_args()

    _offline_tldextract()  # both sides: nothing is downloaded
    samples = list(generate(args.n, args.seed))
    turns = sum(len(s.turns) for s in samples)
    gold = sum(len(s.spans) for s in samples)
    print(f"French set: {len(samples)} conversations, {turns} utterances, {gold} gold spans, "
          f"seed {args.seed}, {args.model}")  # fmt: skip
    vanilla = vanilla_analyzer(args.model)
    redactor = shared_redactor(args.model)
    vanilla.analyze("échauffement", language="fr")
    redactor.analyze("échauffement")

    v_found, v_lat = run_vanilla(vanilla, samples)
    t0 = time.perf_counter()
    t_found, t_lat = run_tessera(redactor, samples)
    t_time = time.perf_counter() - t0 - sum(t_lat)  # the conversation path alone
    v_score, t_score = score(samples, v_found), score(samples, t_found)

    print(f"\n{'entity':15}{'gold':>6} | {'vanilla P':>10}{'R':>7}{'F2':>7} | "
          f"{'tessera P':>10}{'R':>7}{'F2':>7}")  # fmt: skip
    for entity in sorted(set(v_score) | set(t_score) - {"ALL"}):
        if entity == "ALL":
            continue
        v, t = v_score.get(entity, {}), t_score.get(entity, {})
        gold = int(t.get("gold", v.get("gold", 0)))
        print(f"{entity:15}{gold:>6} | {v.get('precision', 1):>10.3f}{v.get('recall', 0):>7.3f}"
              f"{v.get('f2', 0):>7.3f} | {t.get('precision', 1):>10.3f}{t.get('recall', 0):>7.3f}"
              f"{t.get('f2', 0):>7.3f}")  # fmt: skip
    print(f"{'ALL precision':15}{'':>6} | {v_score['ALL']['precision']:>10.3f}{'':>14} | "
          f"{t_score['ALL']['precision']:>10.3f}")  # fmt: skip

    v_rate, t_rate = turns / sum(v_lat), turns / t_time
    print(f"\n{'speed':32}{'vanilla':>14}{'tessera':>14}")
    print(f"{'utterances/s (conversations)':32}{v_rate:>14,.1f}{t_rate:>14,.1f}")
    print(f"{'utterances/s (stream, one by one)':32}{v_rate:>14,.1f}{turns / sum(t_lat):>14,.1f}")
    print(f"{'p50 ms per utterance':32}{_pct(v_lat, 50):>14.2f}{_pct(t_lat, 50):>14.2f}")
    print(f"{'p99 ms per utterance':32}{_pct(v_lat, 99):>14.2f}{_pct(t_lat, 99):>14.2f}\n")

    checks = [
        (f"recall {e} ≥ 0.98", t_score[e]["recall"], t_score[e]["recall"] >= 0.98)
        for e in CHECKSUM if e in t_score
    ] + [
        (f"recall {e} ≥ 0.90", t_score[e]["recall"], t_score[e]["recall"] >= 0.90)
        for e in PEOPLE if e in t_score
    ] + [
        ("precision overall ≥ 0.90", t_score["ALL"]["precision"],
         t_score["ALL"]["precision"] >= 0.90),
        ("utterances/s ≥ 2× vanilla (ratio)", t_rate / v_rate, t_rate / v_rate >= 2.0),
    ]  # fmt: skip
    return judge(checks, strict=args.check)


if __name__ == "__main__":
    raise SystemExit(main())
