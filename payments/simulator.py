"""A simulated card processor: a separate HTTP server on 127.0.0.1 for the tests and the demo.

It approves any Luhn-valid card except these, which behave on demand:

| card number        | outcome                                                        |
|--------------------|----------------------------------------------------------------|
| 4000 0000 0000 0002 | declined: `card_declined`                                     |
| 4000 0000 0000 9995 | declined: `insufficient_funds`                                |
| 4000 0000 0000 0119 | the processor fails: HTTP 500, nothing charged                 |
| 4000 0000 0000 0259 | slow: the charge is made, the first answer comes after `--slow` s |

Idempotency keys are honoured as a real processor does: the same key returns the first answer
(even for the slow card, whose charge is then not made twice); the same key with another body
is refused. It keeps only the last four digits of a card. Run it with
`python -m tessera.payments.simulator --port 8701`.
"""

from __future__ import annotations

import argparse
import asyncio
import hashlib
import json
import secrets
import threading
from collections.abc import Callable
from typing import Any

from fastapi import FastAPI, Header, HTTPException, Request

__all__ = ["DECLINED", "FAILING", "INSUFFICIENT", "SLOW", "create_simulator"]

DECLINED = "4000000000000002"
INSUFFICIENT = "4000000000009995"
FAILING = "4000000000000119"
SLOW = "4000000000000259"


def create_simulator(*, slow_seconds: float = 2.0) -> FastAPI:
    app = FastAPI(title="Simulated card processor")
    lock = threading.Lock()
    charges: dict[str, dict[str, Any]] = {}
    answers: dict[str, tuple[str, dict[str, Any]]] = {}  # key → (body digest, answer)

    def once(
        key: str | None, body: dict[str, Any], make: Callable[[], dict[str, Any]]
    ) -> tuple[dict[str, Any], bool]:
        """The first answer for `key`, and whether it was made just now."""
        if not key:
            raise HTTPException(400, "an Idempotency-Key header is required")
        digest = hashlib.sha256(json.dumps(body, sort_keys=True).encode()).hexdigest()
        with lock:
            if key in answers:
                seen, answer = answers[key]
                if seen != digest:
                    raise HTTPException(422, "this idempotency key was used for another request")
                return answer, False
            answer = make()
            answers[key] = (digest, answer)
            return answer, True

    @app.post("/v1/authorizations")
    async def authorize(request: Request, idempotency_key: str = Header(None)) -> dict[str, Any]:
        body = await request.json()
        pan = str(body.get("pan", ""))
        if pan == FAILING:
            raise HTTPException(500, "processor failure")

        def make() -> dict[str, Any]:
            if pan in (DECLINED, INSUFFICIENT):
                code = "card_declined" if pan == DECLINED else "insufficient_funds"
                return {"approved": False, "id": None, "code": code}
            charge = f"ch_{secrets.token_hex(8)}"
            charges[charge] = {
                "id": charge,
                "last4": pan[-4:],
                "amount": int(body["amount"]),
                "currency": body["currency"],
                "payee": body.get("payee"),
                "captured": 0,
                "refunded": 0,
                "key": idempotency_key,
            }
            return {"approved": True, "id": charge, "code": "approved"}

        answer, fresh = once(idempotency_key, body, make)
        if pan == SLOW and fresh:
            await asyncio.sleep(slow_seconds)  # the charge is made; the answer is late
        return answer

    def _charge(charge: str) -> dict[str, Any]:
        if charge not in charges:
            raise HTTPException(404, "no such charge")
        return charges[charge]

    @app.post("/v1/charges/{charge}/capture")
    async def capture(
        charge: str, request: Request, idempotency_key: str = Header(None)
    ) -> dict[str, Any]:
        body = await request.json()

        def make() -> dict[str, Any]:
            c = _charge(charge)
            if c["captured"] or int(body["amount"]) > c["amount"]:
                return {"approved": False, "id": charge, "code": "invalid_capture"}
            c["captured"] = int(body["amount"])
            return {"approved": True, "id": charge, "code": "captured"}

        return once(idempotency_key, {"charge": charge, **body}, make)[0]

    @app.post("/v1/charges/{charge}/refunds")
    async def refund(
        charge: str, request: Request, idempotency_key: str = Header(None)
    ) -> dict[str, Any]:
        body = await request.json()

        def make() -> dict[str, Any]:
            c = _charge(charge)
            if c["refunded"] + int(body["amount"]) > c["captured"]:
                return {"approved": False, "id": None, "code": "refund_exceeds_capture"}
            c["refunded"] += int(body["amount"])
            return {"approved": True, "id": f"re_{secrets.token_hex(8)}", "code": "refunded"}

        return once(idempotency_key, {"charge": charge, **body}, make)[0]

    @app.get("/v1/charges/{charge}")
    def get_charge(charge: str) -> dict[str, Any]:
        with lock:
            return dict(_charge(charge))

    @app.get("/v1/charges")
    def list_charges() -> list[dict[str, Any]]:
        """For tests and the demo: every charge made, by its last four digits only."""
        with lock:
            return list(charges.values())

    return app


def main() -> None:
    import uvicorn

    parser = argparse.ArgumentParser(description="Simulated card processor (tests, demo).")
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=8701)
    parser.add_argument("--slow", type=float, default=2.0, help="seconds the slow card takes")
    args = parser.parse_args()
    uvicorn.run(create_simulator(slow_seconds=args.slow), host=args.host, port=args.port)


if __name__ == "__main__":
    main()
