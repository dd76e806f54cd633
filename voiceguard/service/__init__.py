"""``voiceguard serve``: the call-centre service (AudioSocket and HTTP, one model in memory).

Modules: :mod:`.config` (settings), :mod:`.core` (shared state and worker threads),
:mod:`.audiosocket_server` (live calls), :mod:`.http_api` (FastAPI), :mod:`.events`
(JSON Lines log and webhooks). :func:`run_service` starts everything in one event loop;
:class:`RunningService` does the same inside an existing loop (tests, embedding).
"""

from __future__ import annotations

import asyncio
import logging
import signal
from typing import Any

from voiceguard.service.config import ServiceConfig, load_config
from voiceguard.service.core import Service
from voiceguard.service.listen import ListenError

__all__ = ["ServiceConfig", "load_config", "Service", "RunningService", "run_service", "ListenError",
           "missing_modules"]

log = logging.getLogger("voiceguard.service")


class RunningService:
    """Start and stop the listeners of a :class:`Service` inside the running event loop.

    Parameters
    ----------
    config : ServiceConfig
    detector : Detector, optional
        Share an already loaded detector.
    sockets : Listeners, optional
        Already bound listening sockets (:func:`voiceguard.service.listen.bind_listeners`);
        default: bind them in :meth:`start`.

    Attributes
    ----------
    service : Service
    audiosocket_port, http_port : int or None
        The bound ports (useful with port 0).
    """

    def __init__(self, config: ServiceConfig, *, detector: Any = None, sockets: Any = None) -> None:
        self.config = config
        self._sockets = sockets
        self.service = Service(config, detector=detector)
        self._as_servers: list[asyncio.base_events.Server] = []
        self._http: Any = None
        self._http_task: asyncio.Task | None = None
        self.audiosocket_port: int | None = None
        self.http_port: int | None = None

    async def start(self) -> RunningService:
        """Bind the listeners; returns once they accept connections."""
        from voiceguard.service.audiosocket_server import start_audiosocket
        from voiceguard.service.listen import bind_listeners

        cfg = self.config
        # both listeners are bound before anything starts: a taken port is one clear error
        socks, self._sockets = self._sockets or bind_listeners(cfg), None
        as_socks, http_socks = socks.audiosocket, socks.http
        await self.service.start()
        for sock in as_socks:
            self._as_servers.append(await start_audiosocket(self.service, sock=sock))
        if as_socks:
            self.audiosocket_port = as_socks[0].getsockname()[1]
        if cfg.http is not None:
            import uvicorn

            from voiceguard.service.http_api import create_app

            ucfg = uvicorn.Config(create_app(self.service), host=cfg.http[0], port=cfg.http[1], log_level="warning",
                                  access_log=False, timeout_keep_alive=5, lifespan="off",
                                  limit_concurrency=max(64, 4 * cfg.workers))
            self._http = uvicorn.Server(ucfg)
            self._http.install_signal_handlers = lambda: None  # the caller owns signals
            self._http_task = asyncio.create_task(self._http.serve(sockets=http_socks), name="http")
            while not self._http.started:
                if self._http_task.done():
                    try:
                        self._http_task.result()
                    except (Exception, SystemExit) as exc:  # noqa: BLE001 - uvicorn exits on a failed start
                        why = f" ({exc})" if not isinstance(exc, SystemExit) else ""
                    else:
                        why = ""
                    for server in self._as_servers:
                        server.close()
                    raise ListenError(f"the HTTP API on {cfg.http[0]}:{cfg.http[1]} stopped at start{why}")
                await asyncio.sleep(0.01)
            self.http_port = http_socks[0].getsockname()[1]
        return self

    async def stop(self, grace_s: float = 5.0) -> None:
        """Stop accepting, let live calls end (up to ``grace_s``), cancel the rest, close."""
        for server in self._as_servers:
            server.close()  # no new connections
        loop = asyncio.get_running_loop()
        end = loop.time() + grace_s
        while self.service.handlers and loop.time() < end:
            await asyncio.sleep(0.05)
        handlers = list(self.service.handlers)
        for t in handlers:  # calls still running after the grace period: their final verdicts are still reported
            t.cancel()
        await asyncio.gather(*handlers, return_exceptions=True)
        self._as_servers = []
        if self._http is not None:
            self._http.should_exit = True
            if self._http_task is not None:
                await self._http_task
            self._http = self._http_task = None
        await self.service.close()

    async def __aenter__(self) -> RunningService:
        return await self.start()

    async def __aexit__(self, *exc: object) -> None:
        await self.stop()


def missing_modules(config: ServiceConfig) -> list[str]:
    """Python modules of the ``serve`` extra that this configuration needs and lacks.

    The HTTP API needs fastapi, uvicorn and python-multipart; webhooks need httpx; an
    AudioSocket listener alone needs none of them.
    """
    import importlib

    need: list[tuple[str, ...]] = []
    if config.http is not None:
        need += [("fastapi",), ("uvicorn",), ("python_multipart", "multipart")]
    if config.webhook_url:
        need.append(("httpx",))
    missing = []
    for names in need:
        for name in names:
            try:
                importlib.import_module(name)
                break
            except ImportError:
                continue
        else:
            missing.append(names[0].replace("_", "-"))
    return missing


def run_service(config: ServiceConfig) -> int:
    """Run until SIGINT/SIGTERM (the ``voiceguard serve`` command)."""
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    logging.getLogger("httpx").setLevel(logging.WARNING)  # not one line per webhook delivery

    async def main() -> None:
        stop = asyncio.Event()
        loop = asyncio.get_running_loop()
        for sig in (signal.SIGINT, signal.SIGTERM):
            loop.add_signal_handler(sig, stop.set)
        from voiceguard.service.listen import bind_listeners

        socks = bind_listeners(config)  # before the model loads: a taken port fails at once
        try:
            rs = RunningService(config, sockets=socks)
        except BaseException:
            socks.close()
            raise
        await rs.start()
        cfg = config
        if not cfg.token:
            log.warning("no token configured: the HTTP API is open to anyone who can reach this host's "
                        "loopback interface")
        if rs.audiosocket_port is not None and cfg.audiosocket is not None:
            log.info("AudioSocket listening on %s:%d", cfg.audiosocket[0], rs.audiosocket_port)
        if rs.http_port is not None and cfg.http is not None:
            log.info("HTTP API on http://%s:%d (docs at /docs)", cfg.http[0], rs.http_port)
        log.info("model %s, %d scoring workers", rs.service.detector.name, cfg.workers)
        await stop.wait()
        log.info("shutting down")
        await rs.stop()

    asyncio.run(main())
    return 0
