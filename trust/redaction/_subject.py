"""The conversation's own subject: their vaulted values found in what was said, despite case,
accents and small speech-to-text errors, and added to what the recognizers found, never in
place of it."""

from __future__ import annotations

import difflib
import re
from collections.abc import Iterable, Sequence
from dataclasses import replace

from ._findings import Finding, KnownValue
from ._spoken import Normalized, fold

__all__ = ["known_findings", "with_known"]


def with_known(found: list[Finding], known: Iterable[Finding]) -> list[Finding]:
    """The subject's own values added to what the recognizers found, never in place of it: a
    known value over a finding of another type is left out (an e-mail spelled with the
    subject's name stays an e-mail); over findings of its own type it widens them to cover
    both; elsewhere it is a finding of its own. So giving the subject loses nothing."""
    out = list(found)
    for k in sorted(known, key=lambda f: (-(f.end - f.start), f.start)):
        over = [f for f in out if f.start < k.end and k.start < f.end]
        if any(f.entity != k.entity for f in over):
            continue
        start = min([k.start, *(f.start for f in over)])
        end = max([k.end, *(f.end for f in over)])
        base = max(over, key=lambda f: f.score) if over else k
        out = [f for f in out if f not in over] + [replace(base, start=start, end=end)]
    return sorted(out, key=lambda f: f.start)


_TOKEN = re.compile(r"[^\W_]+", re.UNICODE)


def known_findings(spoken: Normalized, known: Sequence[KnownValue]) -> list[Finding]:
    if not known:
        return []
    found: list[Finding] = []
    original = spoken.original
    words = [(m.start(), m.end(), fold(m[0])) for m in _TOKEN.finditer(original)]
    digits = re.sub(r"\D", "", spoken.text)
    for item in known:
        if item.entity == "PHONE":
            want = re.sub(r"\D", "", item.value)[-9:]
            if len(want) == 9 and want in digits:
                found += _digit_span(spoken, want, item)
            continue
        if item.entity == "EMAIL" and "@" in item.value:
            found += _spelled_address(spoken, item)
        target = [fold(t) for t in _TOKEN.findall(item.value)]
        if not target:
            continue
        n = len(target)
        joined = " ".join(target)
        matches: list[tuple[int, float]] = []
        for i in range(len(words) - n + 1):
            window = " ".join(w[2] for w in words[i : i + n])
            ratio = max(
                difflib.SequenceMatcher(None, window, joined).ratio(),
                difflib.SequenceMatcher(None, _sorted(window), _sorted(joined)).ratio(),
            )
            if ratio >= (1.0 if len(joined) < 5 else 0.84):
                matches.append((i, ratio))
        # Of windows that overlap, the closest: "at ann smith example" is near enough to
        # "ann smith example com", but the window one word on is the value itself.
        for i, ratio in matches:
            if any(abs(j - i) < n and r > ratio for j, r in matches):
                continue
            found.append(
                Finding(
                    words[i][0],
                    words[i + n - 1][1],
                    item.entity,
                    0.99,
                    "tessera_known_subject",
                    f"the subject's own value ({ratio:.2f})",
                )
            )
    return found


def _sorted(words: str) -> str:
    """The words in order, so "Lefèvre Marie" is "Marie Lefèvre"."""
    return " ".join(sorted(words.split()))


def _digit_span(spoken: Normalized, want: str, item: KnownValue) -> list[Finding]:
    """Where the subject's phone number (its last nine digits) is said, spaced or not."""
    prefix = r"(?:(?:\+|00)\d{1,3}[\s.\-]?(?:\(0\)[\s.\-]?)?|0)?"
    pattern = prefix + r"[\s.\-]?".join(want)
    why = "the subject's own value"
    found = []
    for m in re.finditer(pattern, spoken.text):
        start, end = spoken.span(m.start(), m.end())
        found.append(Finding(start, end, item.entity, 0.99, "tessera_known_subject", why))
    return found


def _spelled_address(spoken: Normalized, item: KnownValue) -> list[Finding]:
    """Where the subject's e-mail address is said with its local part's dots as spaces
    ("jean dupont arobase example point fr"), which a spelled address can't tell apart from
    the words before it without knowing the address."""
    local, _, domain = item.value.rpartition("@")
    parts = [p for p in re.split(r"[._\-]+", local) if p]
    if not parts or not domain:
        return []
    pattern = r"[\s._\-]*".join(re.escape(p) for p in parts) + "@" + re.escape(domain)
    why = "the subject's own value"
    found = []
    for m in re.finditer(rf"(?<!\w){pattern}(?!\w)", spoken.text, re.IGNORECASE):
        start, end = spoken.span(m.start(), m.end())
        found.append(Finding(start, end, item.entity, 0.99, "tessera_known_subject", why))
    return found
