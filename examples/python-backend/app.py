"""The Python backend example: mints Ithaca client credentials with the Python SDK (the API key
never leaves this process) and serves the same vanilla page as examples/express-vanilla, plus
the JS SDK's browser files unbundled at /sdk/.

    ITHACA_API_KEY=... ITHACA_API_URL=http://127.0.0.1:8080 python app.py   # then open :3001

create_app() is what tests/e2e/python_backend.test.mjs runs (through this file's __main__).
"""

from __future__ import annotations

import os
import re
import sys
from pathlib import Path

from aiohttp import web
from ithaca import Ithaca
from ithaca.errors import AuthError, IthacaError, UsageError

REPO_ROOT = Path(__file__).resolve().parents[2]
# One page for both backends: the Express example's public/ folder, served as is.
PUBLIC_DIR = REPO_ROOT / "examples" / "express-vanilla" / "public"
# The JS SDK's src/ folder (index.js, client.js, ...): the page imports /sdk/index.js.
SDK_DIR = REPO_ROOT / "sdks" / "js" / "src"

ITHACA_KEY = web.AppKey("ithaca", Ithaca)
_SDK_FILE = re.compile(r"[A-Za-z0-9_.-]+\.js")


def status_for(error: IthacaError) -> int:
    """The HTTP status for an SDK error: its own when the API gave one, else one by class."""
    if error.code in ("CONCURRENT_LIMIT_REACHED", "RATE_LIMITED"):
        return 429
    if error.status is not None and error.status >= 400:
        return error.status
    if isinstance(error, AuthError):
        return 401
    if isinstance(error, UsageError):
        return 429
    return 502  # the API could not be reached or failed


async def credentials(request: web.Request) -> web.Response:
    client = request.app[ITHACA_KEY]
    try:
        # Attach whatever your app knows about the user; the session carries it.
        creds = await client.create_client_credentials(metadata={"app": "python-backend"})
    except IthacaError as error:
        return web.json_response(
            {"code": error.code, "message": error.message, "retryable": error.retryable},
            status=status_for(error),
        )
    except Exception as error:  # a bug or a missing ITHACA_API_URL: not the API's answer
        print(f"credentials: {error!r}", file=sys.stderr)
        return web.json_response({"code": "internal", "message": str(error)}, status=500)
    return web.json_response(creds.to_dict())


async def sdk_file(request: web.Request) -> web.StreamResponse:
    # The SDK's browser modules (no bundler: the page imports /sdk/index.js as is); .js only.
    name = request.match_info["name"]
    path = SDK_DIR / name
    if not _SDK_FILE.fullmatch(name) or name.startswith(".") or not path.is_file():
        raise web.HTTPNotFound()
    return web.FileResponse(path, headers={"Content-Type": "text/javascript; charset=utf-8"})


async def page_file(request: web.Request) -> web.StreamResponse:
    # The static root: public/ (index.html for a folder); nothing outside it.
    root = PUBLIC_DIR.resolve()
    path = (root / request.match_info["path"]).resolve()
    if path.is_dir():
        path = path / "index.html"
    if not path.is_relative_to(root) or not path.is_file():
        raise web.HTTPNotFound()
    return web.FileResponse(path)


def create_app(api_key: str | None = None, api_url: str | None = None) -> web.Application:
    """The aiohttp app. api_key and api_url default to ITHACA_API_KEY and ITHACA_API_URL."""
    app = web.Application()
    app[ITHACA_KEY] = Ithaca(api_key, api_url)
    app.router.add_post("/api/credentials", credentials)
    app.router.add_get("/sdk/{name}", sdk_file)
    app.router.add_get("/{path:.*}", page_file)
    return app


if __name__ == "__main__":
    # Run directly: listen on PORT (default 3001), on every interface like the Express example.
    port = int(os.environ.get("PORT", "3001"))
    url = os.environ.get("ITHACA_API_URL")
    print(f"example on http://localhost:{port} (Ithaca at {url})", flush=True)
    web.run_app(create_app(), port=port, print=None)
