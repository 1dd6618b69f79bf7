"""Warm from the start: the first redaction a fresh server answers against its steady ones.

Starts `tessera serve --dev` as a real process on 127.0.0.1, waits for `/readyz` (the server
loads the model and runs each language's recognizers before it says ready), then sends the same
kinds of conversation (a French call, an English call: numbers said and written, an address, a
name, an e-mail spelled) once as the first request and then `-n` times. Prints the start-up time,
the first request's latency, the steady median, and their ratio; issue 26's target is a first
request costing at most twice a steady one.

    .venv/bin/python benchmarks/redaction/warm_bench.py [-n 30] [--check]
"""

from __future__ import annotations

import argparse
import os
import shutil
import socket
import statistics
import subprocess
import sys
import threading
import time
from pathlib import Path

import httpx2 as httpx

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from _report import judge

TESSERA = shutil.which("tessera") or str(Path(sys.executable).parent / "tessera")

FRENCH = [
    {"speaker": "agent", "text": "Bonjour, vous êtes bien madame Lefèvre ?"},
    {"speaker": "client", "text": "Oui, Claire Lefèvre, j'habite 12 rue des Lilas à Nantes."},
    {"speaker": "agent", "text": "Votre numéro de carte s'il vous plaît."},
    {"speaker": "client", "text": "quatre neuf sept zéro un zéro un deux"},
    {"speaker": "agent", "text": "oui"},
    {"speaker": "client", "text": "trois quatre cinq six sept huit neuf trois"},
    {"speaker": "client", "text": "mon mail c'est claire point lefevre arobase orange point fr"},
]
ENGLISH = [
    {"speaker": "agent", "text": "Thanks for calling, who am I speaking with?"},
    {"speaker": "caller", "text": "This is Mike Thompson, 742 Evergreen Terrace, Springfield."},
    {"speaker": "agent", "text": "can i get your social security number please"},
    {"speaker": "caller", "text": "yeah it's two one nine zero nine one two three four"},
    {"speaker": "caller", "text": "and my number is (312) 432-5320, card 4970 1012 3456 7893"},
]


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _start(port: int) -> tuple[subprocess.Popen[str], str, float]:
    """The dev server, its API key (read from what it prints once) and its time to ready."""
    began = time.perf_counter()
    env = {k: v for k, v in os.environ.items() if not k.startswith("TESSERA_")}
    proc = subprocess.Popen(
        [TESSERA, "serve", "--dev", "--port", str(port)],
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        env={**env, "COLUMNS": "200"},
    )
    lines: list[str] = []
    assert proc.stdout is not None
    stdout = proc.stdout
    threading.Thread(target=lambda: lines.extend(stdout), daemon=True).start()
    base = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 180
    while time.monotonic() < deadline:
        try:
            if httpx.get(f"{base}/readyz", timeout=2).status_code == 200:
                break
        except httpx.TransportError:
            pass
        time.sleep(0.05)
    else:
        proc.kill()
        raise SystemExit("the dev server did not become ready:\n" + "".join(lines))
    ready = time.perf_counter() - began
    for i, line in enumerate(lines):
        if "API key" in line:
            return proc, lines[i + 1].strip(), ready
    proc.kill()
    raise SystemExit("no API key in the dev server's output")


def _redact(client: httpx.Client, key: str, turns: list[dict[str, str]], language: str) -> float:
    began = time.perf_counter()
    r = client.post(
        "/v1/redact/conversation",
        json={"language": language, "turns": turns},
        headers={"Authorization": f"Bearer {key}"},
    )
    assert r.status_code == 200, r.text
    return time.perf_counter() - began


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("-n", type=int, default=30, help="steady requests per language")
    parser.add_argument("--check", action="store_true", help="exit 1 when a target is missed")
    args = parser.parse_args()
    port = _free_port()
    proc, key, ready = _start(port)
    try:
        with httpx.Client(base_url=f"http://127.0.0.1:{port}", timeout=60) as client:
            first = {
                "fr": _redact(client, key, FRENCH, "fr"),
                "en": _redact(client, key, ENGLISH, "en"),
            }
            steady = {
                lang: statistics.median(_redact(client, key, turns, lang) for _ in range(args.n))
                for lang, turns in (("fr", FRENCH), ("en", ENGLISH))
            }
    finally:
        proc.terminate()
        proc.wait(timeout=30)
    print(f"start-up to ready: {ready:.1f} s")
    print(f"{'language':10}{'first ms':>12}{'steady ms':>12}{'ratio':>8}")
    for lang in ("fr", "en"):
        ratio = first[lang] / steady[lang]
        print(f"{lang:10}{first[lang] * 1000:>12.1f}{steady[lang] * 1000:>12.1f}{ratio:>8.2f}")
    checks = [
        (
            f"first {lang} request ≤ 2× a steady one (ratio)",
            first[lang] / steady[lang],
            first[lang] <= 2 * steady[lang],
        )
        for lang in ("fr", "en")
    ]
    return judge(checks, strict=args.check)


if __name__ == "__main__":
    raise SystemExit(main())
