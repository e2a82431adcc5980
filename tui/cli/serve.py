"""`tokentop serve`: the live monitor in a browser, through textual-serve (the optional `serve` extra).

Each browser tab that clicks Start runs its own `tokentop` process on this machine, reading the same store. Bound to
127.0.0.1 by default; on any other address anyone who can reach the port could watch the usage, so the server then
asks for a random token (printed once, kept in a cookie after the first visit) on the page and its websocket."""

from __future__ import annotations

import argparse
import hmac
import ipaddress
import secrets
import shlex
import sys
from pathlib import Path

from .common import UserFacingError, context

PAGE_DIR = Path(__file__).resolve().parent / "serve_page"
COOKIE = "tokentop_token"
GUARDED = ("/", "/ws")
"""The page and the websocket that starts a process need the token; the static files are textual-serve's own."""


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("serve", help="serve the live monitor to a browser (needs the serve extra: "
                                     "pip install 'tokentop[serve]')")
    p.add_argument("--host", default="127.0.0.1",
                   help="address to listen on (default 127.0.0.1: this machine only; any other asks for a token)")
    p.add_argument("--port", type=int, default=8000, help="port (default 8000)")
    p.set_defaults(handler=cmd_serve)


def is_loopback(host: str) -> bool:
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host.strip("[]")).is_loopback
    except ValueError:
        return False


def app_command(args) -> str:
    """The command each browser session runs: this Python's tokentop, with the same --db and --config."""
    parts = [sys.executable, "-m", "tokentop.tui.cli"]
    for flag in ("db", "config"):
        value = getattr(args, flag, None)
        if value:
            parts += [f"--{flag}", str(Path(value).expanduser().absolute())]
    return " ".join(shlex.quote(p) for p in parts)


def token_ok(request, token: str | None) -> bool:
    if token is None:
        return True
    given = request.query.get("token") or request.cookies.get(COOKIE) or ""
    return hmac.compare_digest(given.encode(), token.encode())


def make_server(command: str, host: str, port: int, token: str | None):
    """A textual-serve Server with tokentop's page (a start card, no third-party fonts) and the token check."""
    from aiohttp import web
    from textual_serve.server import Server

    class TokentopServer(Server):
        async def _make_app(self) -> web.Application:
            app = await super()._make_app()
            app.middlewares.append(guard)
            return app

        async def handle_index(self, request: web.Request):
            if "go" not in request.query and "delay" not in request.query:
                # Open on the start card: a page load alone (a preview, a prefetch) starts no process.
                query = dict(request.query, delay="1")
                raise web.HTTPFound(request.rel_url.with_query(query))
            # URLs in the page follow the address the browser used (the bind address may be 0.0.0.0).
            self.public_url = f"{request.scheme}://{request.host}"
            response = await Server.handle_index(self, request)
            if token is not None:
                response.set_cookie(COOKIE, token, httponly=True, samesite="Strict")
            return response

        async def on_startup(self, app: web.Application) -> None:
            shown = f"[{host}]" if ":" in host else host
            url = f"http://{shown}:{port}/" + (f"?token={token}" if token else "")
            self.console.print(f"tokentop serving the monitor on {url}  (Ctrl+C to stop)", highlight=False,
                               markup=False)

    @web.middleware
    async def guard(request: web.Request, handler):
        if request.path in GUARDED and not token_ok(request, token):
            return web.Response(status=403, text="tokentop serve: this address needs the token. Open the URL that "
                                                 "`tokentop serve` printed when it started (it ends in ?token=…).\n")
        return await handler(request)

    return TokentopServer(command, host=host, port=port, title="tokentop", templates_path=PAGE_DIR)


def cmd_serve(args) -> int:
    context(args)  # a broken config is one line here, not a blank page per browser tab
    try:
        import textual_serve  # noqa: F401
    except ImportError:
        raise UserFacingError("`tokentop serve` needs textual-serve: pip install 'tokentop[serve]' "
                              "(or pipx inject tokentop textual-serve)") from None
    if not 0 < args.port < 65536:
        raise UserFacingError(f"--port {args.port} is not a port number (1-65535)")
    token = None
    if not is_loopback(args.host):
        token = secrets.token_urlsafe(18)
        print(f"tokentop: WARNING: serving on {args.host}, not only this machine: anyone who can reach port "
              f"{args.port} there could watch your usage. The page asks for this token, part of the URL below; "
              "share it with no one you would not show your screen.", file=sys.stderr)
    server = make_server(app_command(args), args.host, args.port, token)
    try:
        server.serve()
    except OSError as exc:
        raise UserFacingError(f"cannot listen on {args.host}:{args.port} ({exc.strerror or exc})") from None
    return 0
