"""Render a report in headless Chromium and say what the browser saw.

Used by the tests (the report renders, logs no console error, loads nothing from the
network, fits a phone's width) and by ``scripts/make-report-screenshot`` (the README's
screenshot). Chromium is driven over the DevTools protocol with a minimal WebSocket
client written here from RFC 6455 (client frames masked, text frames, ping/pong), so
nothing beyond the standard library and a ``chromium`` binary is needed.
"""

from __future__ import annotations

import base64
import json
import os
import shutil
import socket
import struct
import subprocess
import tempfile
import time
import urllib.request
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

__all__ = ["find_chromium", "render", "Rendered", "BrowserError", "CHROMIUM_FLAGS"]

#: Flags for a quiet, offline, throw-away headless Chromium (without the background-networking
#: ones it tries to reach Google and logs failures).
CHROMIUM_FLAGS = ("--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
                  "--disable-background-networking", "--disable-component-update", "--disable-sync",
                  "--disable-extensions", "--disable-default-apps", "--mute-audio", "--hide-scrollbars",
                  "--no-default-browser-check", "--disable-features=Translate,MediaRouter,OptimizationHints")


class BrowserError(RuntimeError):
    """Chromium could not be started or driven."""


def find_chromium() -> str | None:
    """Path of a Chromium/Chrome binary (``$CHROMIUM`` first), or ``None``."""
    env = os.environ.get("CHROMIUM")
    if env and os.access(env, os.X_OK):
        return env
    for name in ("chromium", "chromium-browser", "google-chrome", "google-chrome-stable"):
        p = shutil.which(name)
        if p:
            return p
    return None


@dataclass
class Rendered:
    """What Chromium saw of a page.

    Attributes
    ----------
    screenshot : bytes
        PNG of the whole page (or of the viewport).
    console : list of str
        Every console message, ``'level: text'``.
    errors : list of str
        Console errors, uncaught exceptions and browser log errors (failed loads...).
    requests : list of str
        URLs the page requested other than itself and ``data:`` URIs.
    info : dict
        The value of the ``evaluate`` expression (JSON).
    """

    screenshot: bytes
    console: list[str] = field(default_factory=list)
    errors: list[str] = field(default_factory=list)
    requests: list[str] = field(default_factory=list)
    info: Any = None


class _WebSocket:
    """A blocking WebSocket client, enough for the DevTools protocol."""

    def __init__(self, url: str, timeout: float) -> None:
        assert url.startswith("ws://")
        hostport, _, path = url[5:].partition("/")
        host, _, port = hostport.rpartition(":")
        self.sock = socket.create_connection((host, int(port)), timeout=timeout)
        key = base64.b64encode(os.urandom(16)).decode()
        self.sock.sendall((f"GET /{path} HTTP/1.1\r\nHost: {hostport}\r\nUpgrade: websocket\r\n"
                           f"Connection: Upgrade\r\nSec-WebSocket-Key: {key}\r\nSec-WebSocket-Version: 13\r\n\r\n")
                          .encode())
        head = b""
        while b"\r\n\r\n" not in head:
            chunk = self.sock.recv(4096)
            if not chunk:
                raise BrowserError("DevTools closed the connection during the WebSocket handshake")
            head += chunk
        status, _, self._buf = head.partition(b"\r\n\r\n")
        if b" 101 " not in status.split(b"\r\n", 1)[0] + b" ":
            raise BrowserError(f"DevTools refused the WebSocket: {status.splitlines()[0]!r}")

    def _read(self, n: int) -> bytes:
        while len(self._buf) < n:
            chunk = self.sock.recv(max(65536, n - len(self._buf)))
            if not chunk:
                raise BrowserError("DevTools closed the connection")
            self._buf += chunk
        out, self._buf = self._buf[:n], self._buf[n:]
        return out

    def _send_frame(self, opcode: int, payload: bytes) -> None:
        n = len(payload)
        head = bytes([0x80 | opcode])
        if n < 126:
            head += bytes([0x80 | n])
        elif n < 65536:
            head += bytes([0x80 | 126]) + struct.pack(">H", n)
        else:
            head += bytes([0x80 | 127]) + struct.pack(">Q", n)
        mask = os.urandom(4)
        body = bytes(b ^ mask[i % 4] for i, b in enumerate(payload))
        self.sock.sendall(head + mask + body)

    def send(self, text: str) -> None:
        self._send_frame(0x1, text.encode())

    def recv(self) -> str:
        parts: list[bytes] = []
        while True:
            b0, b1 = self._read(2)
            opcode, n = b0 & 0x0F, b1 & 0x7F
            if n == 126:
                n = struct.unpack(">H", self._read(2))[0]
            elif n == 127:
                n = struct.unpack(">Q", self._read(8))[0]
            mask = self._read(4) if b1 & 0x80 else b""
            data = self._read(n)
            if mask:
                data = bytes(b ^ mask[i % 4] for i, b in enumerate(data))
            if opcode == 0x9:  # ping
                self._send_frame(0xA, data)
                continue
            if opcode == 0x8:
                raise BrowserError("DevTools closed the WebSocket")
            if opcode in (0x1, 0x2, 0x0):
                parts.append(data)
                if b0 & 0x80:
                    return b"".join(parts).decode("utf-8")

    def close(self) -> None:
        try:
            self._send_frame(0x8, b"")
        except OSError:
            pass
        self.sock.close()


class _DevTools:
    def __init__(self, ws: _WebSocket) -> None:
        self.ws = ws
        self.next_id = 0
        self.events: list[dict] = []

    def call(self, method: str, **params: Any) -> dict:
        self.next_id += 1
        my_id = self.next_id
        self.ws.send(json.dumps({"id": my_id, "method": method, "params": params}))
        while True:
            msg = json.loads(self.ws.recv())
            if msg.get("id") == my_id:
                if "error" in msg:
                    raise BrowserError(f"{method}: {msg['error']}")
                return msg.get("result", {})
            if "method" in msg:
                self.events.append(msg)

    def wait_for(self, method: str, timeout: float) -> dict:
        end = time.monotonic() + timeout
        for ev in self.events:
            if ev["method"] == method:
                return ev
        while time.monotonic() < end:
            msg = json.loads(self.ws.recv())
            if "method" in msg:
                self.events.append(msg)
                if msg["method"] == method:
                    return msg
        raise BrowserError(f"no {method} within {timeout:g} s")


def _devtools_port(profile: Path, proc: subprocess.Popen, timeout: float) -> int:
    f = profile / "DevToolsActivePort"
    end = time.monotonic() + timeout
    while time.monotonic() < end:
        if proc.poll() is not None:
            raise BrowserError(f"chromium exited at start (status {proc.returncode})")
        try:
            return int(f.read_text().split()[0])
        except (OSError, ValueError, IndexError):
            time.sleep(0.05)
    raise BrowserError(f"chromium did not open its DevTools port within {timeout:g} s")


def _page_ws(port: int, timeout: float) -> str:
    opener = urllib.request.build_opener(urllib.request.ProxyHandler({}))  # loopback, never a proxy
    end = time.monotonic() + timeout
    while time.monotonic() < end:
        try:
            with opener.open(f"http://127.0.0.1:{port}/json/list", timeout=5) as r:
                pages = [t for t in json.load(r) if t.get("type") == "page"]
            if pages:
                return pages[0]["webSocketDebuggerUrl"]
        except OSError:
            pass
        time.sleep(0.05)
    raise BrowserError("chromium opened no page target")


def render(page: str | os.PathLike, *, width: int = 1000, height: int = 800, mobile: bool = False,
           full_page: bool = True, until: str | None = None, evaluate: str | None = None,
           chromium: str | None = None, timeout: float = 60.0) -> Rendered:
    """Load a page in a fresh headless Chromium and capture what happened.

    Parameters
    ----------
    page : str or os.PathLike
        A local file (opened as ``file://``) or a URL.
    width, height : int
        Viewport in CSS pixels.
    mobile : bool
        Emulate a phone (touch viewport, ``width`` as the device width).
    full_page : bool
        Screenshot the whole page rather than the viewport.
    until : str, optional
        A CSS selector: the screenshot ends 16 px below that element (from the top).
    evaluate : str, optional
        A JavaScript expression evaluated after load; its JSON value is ``info``.
    chromium : str, optional
        Binary (default: :func:`find_chromium`).
    timeout : float
        Seconds for each step.

    Returns
    -------
    Rendered

    Raises
    ------
    BrowserError
    """
    binary = chromium or find_chromium()
    if binary is None:
        raise BrowserError("no chromium binary found (apt-get install chromium, or set $CHROMIUM)")
    url = str(page)
    if "://" not in url:
        url = Path(page).resolve().as_uri()
    profile = Path(tempfile.mkdtemp(prefix="voiceguard-chromium-"))
    log = open(profile / "chromium.log", "wb")  # closed below
    proc = subprocess.Popen([binary, *CHROMIUM_FLAGS, f"--user-data-dir={profile}", "--remote-debugging-port=0",
                             f"--window-size={width},{height}", "about:blank"],
                            stdin=subprocess.DEVNULL, stdout=log, stderr=log)
    ws = None
    try:
        port = _devtools_port(profile, proc, timeout)
        ws = _WebSocket(_page_ws(port, timeout), timeout)
        dt = _DevTools(ws)
        for domain in ("Page", "Runtime", "Log", "Network"):
            dt.call(f"{domain}.enable")
        dt.call("Emulation.setDeviceMetricsOverride", width=width, height=height, deviceScaleFactor=1,
                mobile=mobile)
        dt.call("Page.navigate", url=url)
        dt.wait_for("Page.loadEventFired", timeout)
        info = None
        if evaluate is not None:
            r = dt.call("Runtime.evaluate", expression=evaluate, returnByValue=True)
            if "exceptionDetails" in r:
                raise BrowserError(f"evaluate failed: {r['exceptionDetails'].get('text')}")
            info = r.get("result", {}).get("value")
        shot: dict[str, Any] = {"format": "png"}
        if full_page or until:
            m = dt.call("Page.getLayoutMetrics")
            size = m.get("cssContentSize") or m["contentSize"]
            bottom = max(height, size["height"])
            if until:
                r = dt.call("Runtime.evaluate", returnByValue=True,
                            expression=f"document.querySelector({json.dumps(until)}).getBoundingClientRect().bottom")
                bottom = min(bottom, float(r["result"]["value"]) + 16 + float(m["cssLayoutViewport"]["pageY"]))
            shot.update(captureBeyondViewport=True,
                        clip={"x": 0, "y": 0, "width": width, "height": bottom, "scale": 1})
        png = base64.b64decode(dt.call("Page.captureScreenshot", **shot)["data"])
        out = Rendered(png, info=info)
        for ev in dt.events:
            method, p = ev["method"], ev.get("params", {})
            if method == "Runtime.consoleAPICalled":
                text = " ".join(str(a.get("value", a.get("description", ""))) for a in p.get("args", []))
                out.console.append(f"{p.get('type')}: {text}")
                if p.get("type") in ("error", "assert"):
                    out.errors.append(f"console.{p.get('type')}: {text}")
            elif method == "Runtime.exceptionThrown":
                d = p.get("exceptionDetails", {})
                out.errors.append(f"exception: {d.get('exception', {}).get('description') or d.get('text')}")
            elif method == "Log.entryAdded":
                e = p.get("entry", {})
                out.console.append(f"{e.get('level')}: {e.get('text')}")
                if e.get("level") == "error":
                    out.errors.append(f"log: {e.get('text')} {e.get('url', '')}".strip())
            elif method == "Network.requestWillBeSent":
                u = p.get("request", {}).get("url", "")
                if u != url and not u.startswith("data:"):
                    out.requests.append(u)
            elif method == "Network.loadingFailed":
                out.errors.append(f"load failed: {p.get('errorText')}")
        return out
    finally:
        if ws is not None:
            ws.close()
        proc.terminate()
        try:
            proc.wait(10)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()
        log.close()
        shutil.rmtree(profile, ignore_errors=True)
