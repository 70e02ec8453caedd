"""The baseline of bench/rest.py: the barest Starlette JSON POST endpoint, on the same uvicorn."""

from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.routing import Route


async def endpoint(request: Request) -> JSONResponse:
    body = await request.json() if request.method == "POST" else {}
    return JSONResponse({"result": {"ID": "1", "echo": bool(body)}})


app = Starlette(routes=[Route("/json", endpoint, methods=["GET", "POST"])])
