"""The framework floor: bare FastAPI endpoints on the same server as the gateway's.

`/v1/access` is sync, the floor the gateway's target is set against (DESIGN.md's 1,500 req/s
figure); `/v1/access-async` is the async no-op, the framework's own least cost per request,
reported beside it.
"""

from __future__ import annotations

from typing import Any

from fastapi import FastAPI

app = FastAPI()


@app.post("/v1/access")
def access(body: dict[str, Any]) -> dict[str, Any]:
    return {"outcome": "allow", "items": []}


@app.post("/v1/access-async")
async def access_async(body: dict[str, Any]) -> dict[str, Any]:
    return {"outcome": "allow", "items": []}
