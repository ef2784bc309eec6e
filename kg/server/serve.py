"""Running the server: uvicorn with the application, the URL printed once the workers are ready.

Ctrl-C and SIGTERM stop it cleanly (uvicorn's graceful shutdown, then the workers are killed).
"""

from __future__ import annotations

import asyncio
import socket
import sys

from kg.errors import KgError


def _url(host: str, port: int) -> str:
    shown = f"[{host}]" if ":" in host else host
    if host in ("0.0.0.0", "::"):
        shown = "127.0.0.1"
    return f"http://{shown}:{port}/"


def _size(count: int) -> str:
    """``64 MB``, ``512 KB``, ``off`` (for the start-up line).

    >>> _size(64 << 20), _size(0), _size(1000)
    ('64 MB', 'off', '1000 bytes')
    """
    if not count:
        return "off"
    for unit, factor in (("GB", 1 << 30), ("MB", 1 << 20), ("KB", 1 << 10)):
        if count >= factor and count % factor == 0:
            return f"{count // factor} {unit}"
    return f"{count} bytes"


def run(*, host: str, port: int, **options) -> None:
    """Serve until stopped. Raises KgError when the port is taken or the data cannot be loaded."""
    import uvicorn

    from kg.server.app import Settings, create_app, start

    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    # IPPROTO_TCP explicitly: asyncio sets TCP_NODELAY only on sockets that say so (else Nagle
    # and delayed ACKs add 40 ms to every answer).
    listener = socket.socket(family, socket.SOCK_STREAM, socket.IPPROTO_TCP)
    listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    try:
        listener.bind((host, port))
    except OSError as exc:
        listener.close()
        raise KgError(f"cannot listen on {host}:{port}: {exc.strerror or exc}") from exc
    port = listener.getsockname()[1]
    settings = Settings(host=host, port=port, **options)
    app = create_app(settings)

    def ready():
        print(f"kg serve: {_url(host, port)}  (SPARQL endpoint: {_url(host, port)}sparql; "
              f"{settings.workers} workers, time limit {settings.timeout:g} s, answer cache "
              f"{_size(settings.cache_size)}; Ctrl-C to stop)", flush=True)
        if host not in ("127.0.0.1", "::1", "localhost"):
            print("kg serve: warning: listening beyond this machine; anyone who can reach it can query the graph",
                  file=sys.stderr, flush=True)

    config = uvicorn.Config(app, log_level="warning", server_header=False, date_header=True,
                            limit_concurrency=settings.workers + settings.max_queue + 64,
                            timeout_graceful_shutdown=5, access_log=False, lifespan="off")
    server = uvicorn.Server(config)

    async def serve():
        try:
            await start(app)  # workers load the data before the URL is printed
            ready()
            await server.serve(sockets=[listener])
        finally:
            await app.state.pool.close()

    try:
        try:
            import uvloop  # uvicorn's own choice of loop when it is installed; asyncio's otherwise
        except ImportError:
            asyncio.run(serve())
        else:
            uvloop.run(serve())
    except KeyboardInterrupt:
        pass
    finally:
        listener.close()
