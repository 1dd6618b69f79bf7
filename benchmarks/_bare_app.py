"""The framework floor: a bare FastAPI endpoint, sync like Tessera's, on the same server."""

from __future__ import annotations

from typing import Any

from fastapi import FastAPI

app = FastAPI()


@app.post("/v1/access")
def access(body: dict[str, Any]) -> dict[str, Any]:
    return {"outcome": "allow", "items": []}
