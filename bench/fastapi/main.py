"""The FastAPI peer of bench/run: the backend widgetgate replaces, written the way OpenBB's docs
teach a custom backend (a FastAPI app serving /widgets.json, one route per widget, CORS
middleware for the Workspace origins, an X-API-KEY check, httpx.AsyncClient for third-party
APIs with the provider's key added on the server).

It serves the same widgets as the benchmark's gateway.yaml, with the same answers byte for byte
(bench/run checks that before measuring):

- GET /widgets.json            the widgets dict, returned as FastAPI returns any dict
- GET /w001 ... /w100          odd ids: markdown rendered from the params with an f-string;
                               even ids: a static table (a list of records)
- GET /up_table, /up_cached    the upstream's quote table via httpx (OpenBB's examples do not
                               cache, so both call the upstream every time)
- GET /healthz                 for the cold-start measurement

Configuration (environment, set by bench/run):
  BENCH_DATA          JSON file {"widgets": {...widgets.json...}, "tables": {"w002": [...], ...}}
  BENCH_KEY           the client key checked in X-API-KEY; empty: no check (auth off)
  BENCH_UPSTREAM      base URL of the upstream stand-in
  BENCH_UPSTREAM_KEY  the upstream's key, sent as X-Upstream-Key

Run: uvicorn main:app --host 127.0.0.1 --port 18781 --workers 2 --no-access-log
"""

import json
import os
from contextlib import asynccontextmanager

import httpx
from fastapi import APIRouter, Depends, FastAPI, HTTPException, Request
from fastapi.middleware.cors import CORSMiddleware

with open(os.environ["BENCH_DATA"], encoding="utf-8") as f:
    DATA = json.load(f)

WIDGETS = DATA["widgets"]
TABLES = DATA["tables"]
API_KEY = os.environ.get("BENCH_KEY", "")
UPSTREAM = os.environ["BENCH_UPSTREAM"]
UPSTREAM_KEY = os.environ["BENCH_UPSTREAM_KEY"]


@asynccontextmanager
async def lifespan(app: FastAPI):
    # One pooled client per worker, as httpx recommends (a client per request would be slower).
    app.state.client = httpx.AsyncClient(base_url=UPSTREAM, timeout=10.0)
    yield
    await app.state.client.aclose()


app = FastAPI(lifespan=lifespan)

# OpenBB's examples: the Workspace origins, credentials, every method and header.
app.add_middleware(
    CORSMiddleware,
    allow_origins=[
        "https://pro.openbb.co",
        "https://pro.openbb.dev",
        "https://excel.openbb.co",
        "https://excel.openbb.dev",
        "http://localhost:1420",
        "http://localhost",
        "http://localhost:5050",
    ],
    allow_credentials=True,
    allow_methods=["*"],
    allow_headers=["*"],
)


def verify_api_key(request: Request):
    """The X-API-KEY check Workspace's "custom header" auth calls for."""
    if API_KEY and request.headers.get("X-API-KEY") != API_KEY:
        raise HTTPException(status_code=401, detail="Invalid or missing API key")


# Every widget route (and widgets.json) needs the key; /healthz does not.
widgets = APIRouter(dependencies=[Depends(verify_api_key)])


@app.get("/healthz")
def healthz():
    return {"status": "ok"}


@widgets.get("/widgets.json")
def get_widgets():
    return WIDGETS


@widgets.get("/w001")
def w001(symbol: str = "AAPL", days: int = 30):
    return f"# {symbol}\n\nLast {days} days of data for **{symbol}**."


def markdown_route(widget_id: str):
    def route(symbol: str = "AAPL", days: int = 30, view: str = "summary"):
        shown = "Detailed view" if view == "detailed" else "Summary"
        return (
            f"# {symbol} ({widget_id})\n\n"
            f"{shown} of the last {days} days.\n\n"
            "| field | value |\n"
            "| --- | --- |\n"
            f"| symbol | {symbol} |\n"
            f"| window | {days} days |"
        )

    return route


def table_route(rows):
    def route(symbol: str = "AAPL", start: str = "2024-01-01"):
        return rows

    return route


# One route per widget (the docs write one decorated function each; a loop registers the same
# routes for the 100 generated widgets).
for widget_id, widget in WIDGETS.items():
    if widget_id == "w001" or not widget_id.startswith("w"):
        continue
    if widget.get("type") == "markdown":
        widgets.add_api_route(f"/{widget_id}", markdown_route(widget_id), methods=["GET"])
    elif widget_id in TABLES:
        widgets.add_api_route(f"/{widget_id}", table_route(TABLES[widget_id]), methods=["GET"])


async def quotes(request: Request, symbol: str):
    response = await request.app.state.client.get(
        "/quotes.json",
        params={"symbol": symbol},
        headers={"X-Upstream-Key": UPSTREAM_KEY},
    )
    if response.status_code != 200:
        raise HTTPException(status_code=502, detail=f"upstream answered {response.status_code}")
    return response.json()


@widgets.get("/up_table")
async def up_table(request: Request, symbol: str = "AAPL"):
    return await quotes(request, symbol)


@widgets.get("/up_cached")
async def up_cached(request: Request, symbol: str = "AAPL"):
    return await quotes(request, symbol)


app.include_router(widgets)
