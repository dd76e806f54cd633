"""Load test of ``voiceguard serve`` on loopback: concurrent AudioSocket calls, then HTTP scoring.

Usage::

    python benchmarks/load_service.py [--calls 50] [--call-s 120] [--http-clients 16] [--http-s 30]
                                      [--out benchmarks/results/load_service.json]

    # a quick smoke run (about 40 s)
    python benchmarks/load_service.py --calls 5 --call-s 15 --http-clients 4 --http-s 5 --out /tmp/load_small.json

Everything runs on 127.0.0.1; nothing is downloaded. The run is time-bounded: about
``call_s`` + 2 s of calls, the time the server needs for the final verdicts (at most
``--drain-s``), ``http_s`` of HTTP load, plus the server's start-up (model load) and
shutdown.

What it does
------------
1. Starts ``python -m voiceguard serve --audiosocket 127.0.0.1:P1 --http 127.0.0.1:P2
   --webhook http://127.0.0.1:P3/hook --log TMP/calls.jsonl`` as a subprocess, with a random
   bearer token in ``VOICEGUARD_TOKEN`` (so every HTTP request below goes through the auth
   check), and waits for ``GET /healthz``. The server is always stopped at the end
   (SIGTERM, then SIGKILL after 20 s).
2. Runs the webhook receiver in this process (a minimal HTTP/1.1 server on
   ``asyncio.start_server``, keep-alive, answers 200): each event is recorded with its
   arrival time (``time.monotonic()``, the same clock the callers use).
3. Places ``--calls`` concurrent calls with :class:`voiceguard.service.audiosocket.AudioSocketClient`,
   exactly as Asterisk's AudioSocket would: UUID frame, 20 ms frames of 8 kHz int16 audio
   paced in real time for ``--call-s`` seconds, then a hangup frame. Starts are staggered
   evenly over the first 2 s. **Call audio**: even-numbered calls are made only of the 3
   bona fide LibriSpeech clips (``examples/bonafide_librispeech_1898.flac`` and the 2 clips
   of ``tests/assets/``), odd-numbered calls only of the 3 synthetic ones
   (``examples/spoof_*.flac``: espeak TTS, Griffin-Lim and WORLD copies); within a call the
   clips are concatenated in a rotated order (call ``i`` starts with clip ``(i // 2) % 3``
   of its class), separated by 0.25 s of silence, and repeated until ``--call-s`` seconds.
   The cyclic order of the bona fide clips (6 s, 3 s, 2.5 s) is chosen so that every call's
   first 4 s hold at least 3 s of speech (the service's ``running_min_speech_s``): the
   first running verdict of every call is then due at 4 s of audio, which is what the
   latency spec assumes (``first_running_audio_s`` shows it).
   Every clip is resampled to 8 kHz with :func:`voiceguard.audio.load_mono` (a narrow-band
   telephone call). So half the calls are bona fide, half synthetic, and the final verdicts
   can be compared with the truth (reported, informative only: 8 kHz audio of 6 clips is no
   accuracy benchmark).
4. After the calls: ``--http-clients`` concurrent ``httpx.AsyncClient`` clients POST a 10 s
   16 kHz WAV (made of the clips in memory; even clients send the bona fide one, odd clients
   the synthetic one) to ``/v1/score`` with the bearer token for ``--http-s`` seconds. Two
   requests without/with a wrong token check that the API refuses them (401).

The numbers
-----------
calls
    ``with_running`` / ``with_final``: calls for which at least one ``running`` webhook
    event, and the ``final`` event, arrived. ``running_events_per_call``: how many running
    verdicts each call got (the service reports on the first verdict, on every change and
    at least every 5 s of audio).
first_running_latency_s
    Per call: arrival time of its first ``running`` webhook minus the time the client had
    sent the 4th second of audio (the 200th frame). The spec: p95 <= 1 s. Includes the
    server's scoring, the event queue, the webhook POST and this process's own event loop
    (which also paces all the calls). ``first_running_audio_s``: the ``duration_s`` of
    that first verdict (4.0 when the first 4 s held >= 3 s of speech; later otherwise, and
    then the latency includes the wait for more speech). ``first_running_processing_s``:
    the same arrival measured from the sending of the audio that verdict covers (equal to
    the latency above when the verdict covers 4 s).
running_lag_s
    For every running event: arrival time minus the time the client had sent the audio the
    verdict covers (its ``duration_s``): the steady-state delay of a live verdict. If the
    server cannot keep up with the calls this grows during the call (see
    ``running_lag_by_call_time``).
final_latency_s
    Arrival of the ``final`` event minus the client's hangup (the final verdict re-scores
    the whole call, so all calls hanging up together queue on the scoring workers).
server memory
    ``VmHWM`` (peak RSS) of the server process from ``/proc/PID/status``, read when the
    server is ready, after the calls and at the end; ``VmRSS`` sampled every second
    (``samples``) to show it stays bounded. The server keeps each call's audio (int16,
    16 KB per second at 8 kHz, up to ``max_call_duration_s``) for the final verdict, so RSS
    is expected to grow linearly during the calls by about calls x call_s x 16 KB (buffers
    grow by doubling, so up to twice that), and to fall back (or at least stop growing)
    when the calls end. ``rss_growth_expected_mb`` is that figure.
server CPU
    utime + stime of the server process (all threads; ``/proc/PID/stat``, ticks divided by
    ``SC_CLK_TCK``) over the call phase (first call start to the last final event),
    divided by calls x call_s: ``cpu_per_call_rt`` is the CPU one call costs as a fraction
    of real time (0.01 = 1 % of one core). ``cores_busy`` is the same CPU divided by the
    phase's wall time (how many cores the server kept busy; compare with ``cpu_count``).
    Also split into the streaming part (running verdicts) and the final scoring part.
events
    Webhook deliveries received, and the JSON Lines log's event counts, including every
    ``error`` event (listed), ``webhook_failed`` and ``webhook_dropped``.
http
    Requests per second over the HTTP phase, latency p50/p95/max of a POST /v1/score of
    10 s of audio, and the count of responses other than 200 (and transport errors).

The script prints PASS/FAIL lines for "every call got running and final verdicts" and
"first running verdict p95 <= 1 s"; a FAIL does not change the exit status (this is a
benchmark). It exits non-zero only when the harness itself fails (the server does not
start or dies, a client cannot connect, ...).
"""

from __future__ import annotations

import argparse
import asyncio
import datetime
import io
import json
import os
import platform
import secrets
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
import traceback
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

import numpy as np

# The cyclic order matters: with it, every rotation (call start) holds >= 3 s of speech in
# its first 4 s at 8 kHz, so each call's first running verdict is due at 4 s of audio (the
# order 1898, 1034, 118 makes the calls that start with the 2.5 s clip wait until 5 s).
BONAFIDE_CLIPS = [
    ROOT / "examples" / "bonafide_librispeech_1898.flac",
    ROOT / "tests" / "assets" / "librispeech_118-121721-0000_3s.flac",
    ROOT / "tests" / "assets" / "librispeech_1034-121119-0000_2.5s.flac",
]
SPOOF_CLIPS = [
    ROOT / "examples" / "spoof_espeak.flac",
    ROOT / "examples" / "spoof_griffinlim_copy.flac",
    ROOT / "examples" / "spoof_world_copy.flac",
]
CALL_SR = 8000
GAP_S = 0.25
STAGGER_S = 2.0
FIRST_VERDICT_AT_S = 4  # the spec: a running verdict within 1 s of 4 s of audio
SPEC_LATENCY_S = 1.0


class HarnessError(RuntimeError):
    """The benchmark itself could not run (not a service verdict)."""


# -- helpers ------------------------------------------------------------------------------


def model_version(model: str | None) -> str | None:
    """``name@digest`` of the model the server loads (read here, without torch work)."""
    try:
        from voiceguard.detect import Detector

        return Detector(model).version
    except Exception as exc:  # noqa: BLE001 - informative only
        return f"unknown ({type(exc).__name__}: {exc})"


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def dist(values: list[float]) -> dict[str, Any]:
    """n, min, mean, p50, p95, max of a list (None when empty)."""
    if not values:
        return {"n": 0, "min": None, "mean": None, "p50": None, "p95": None, "max": None}
    a = np.asarray(values, dtype=np.float64)
    return {"n": int(a.size), "min": round(float(a.min()), 4), "mean": round(float(a.mean()), 4),
            "p50": round(float(np.percentile(a, 50)), 4), "p95": round(float(np.percentile(a, 95)), 4),
            "max": round(float(a.max()), 4)}


def fmt_dist(d: dict[str, Any], unit: str = "s") -> str:
    if not d["n"]:
        return "n=0"
    return (f"p50 {d['p50']:.3f} {unit}, p95 {d['p95']:.3f} {unit}, max {d['max']:.3f} {unit} "
            f"(min {d['min']:.3f}, n={d['n']})")


def proc_cpu_s(pid: int) -> float:
    """utime + stime of a process (all its threads), seconds."""
    with open(f"/proc/{pid}/stat", encoding="ascii") as f:
        rest = f.read().rsplit(")", 1)[1].split()
    # rest[0] is field 3 (state); utime and stime are fields 14 and 15
    return (int(rest[11]) + int(rest[12])) / os.sysconf("SC_CLK_TCK")


def proc_mem_mb(pid: int) -> dict[str, float]:
    """VmRSS and VmHWM of a process, MiB."""
    out = {}
    with open(f"/proc/{pid}/status", encoding="ascii") as f:
        for line in f:
            if line.startswith(("VmRSS:", "VmHWM:")):
                k, v = line.split(":", 1)
                out[k] = int(v.split()[0]) / 1024.0
    return out


def machine_info() -> dict[str, Any]:
    info: dict[str, Any] = {
        "cpu_count": os.cpu_count(),
        "sched_affinity": len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else None,
        "platform": platform.platform(),
        "machine": platform.machine(),
        "processor": platform.processor(),
        "python": sys.version.split()[0],
        "python_implementation": platform.python_implementation(),
        "date": datetime.datetime.now(datetime.timezone.utc).isoformat(timespec="seconds"),
    }
    try:
        with open("/proc/cpuinfo", encoding="utf-8") as f:
            for line in f:
                if line.startswith("model name"):
                    info["cpu_model"] = line.split(":", 1)[1].strip()
                    break
        with open("/proc/meminfo", encoding="utf-8") as f:
            info["mem_total_gb"] = round(int(f.readline().split()[1]) / 1024 ** 2, 1)
        info["loadavg_at_start"] = os.getloadavg()
    except OSError:
        pass
    try:
        import torch

        import voiceguard

        info["voiceguard"] = voiceguard.__version__
        info["torch"] = torch.__version__
    except Exception as exc:  # informative only
        info["versions_error"] = f"{type(exc).__name__}: {exc}"
    return info


# -- audio --------------------------------------------------------------------------------


def load_clips(paths: list[Path], sr: int) -> list[np.ndarray]:
    from voiceguard.audio import load_mono

    return [load_mono(p, sr)[0] for p in paths]


def concat_clips(clips: list[np.ndarray], start: int, seconds: float, sr: int) -> np.ndarray:
    """The clips from index ``start`` (rotated), 0.25 s of silence between, repeated to ``seconds``."""
    order = clips[start:] + clips[:start]
    gap = np.zeros(round(GAP_S * sr))
    n = round(seconds * sr)
    pieces, total, j = [], 0, 0
    while total < n:
        c = order[j % len(order)]
        pieces += [c, gap]
        total += len(c) + len(gap)
        j += 1
    return np.concatenate(pieces)[:n]


def to_pcm16(y: np.ndarray) -> np.ndarray:
    return (np.clip(y, -1.0, 1.0) * 32767.0).round().astype(np.int16)


def make_wav(y: np.ndarray, sr: int) -> bytes:
    import soundfile as sf

    buf = io.BytesIO()
    sf.write(buf, y, sr, format="WAV", subtype="PCM_16")
    return buf.getvalue()


# -- the webhook receiver -----------------------------------------------------------------


class WebhookReceiver:
    """A minimal HTTP/1.1 server for the service's webhook POSTs (keep-alive, 200 to all)."""

    def __init__(self, expected_token: str | None = None) -> None:
        self.events: list[tuple[float, dict[str, Any]]] = []
        self.by_call: dict[str, list[tuple[float, dict[str, Any]]]] = {}
        self.finals: set[str] = set()
        self.bad_requests: list[str] = []
        self.unauthorized = 0
        self.connections = 0
        self.expected_token = expected_token
        self.server: asyncio.base_events.Server | None = None
        self.port: int | None = None
        self._final_seen = asyncio.Event()

    async def start(self) -> None:
        self.server = await asyncio.start_server(self._handle, "127.0.0.1", 0)
        self.port = self.server.sockets[0].getsockname()[1]

    async def close(self) -> None:
        if self.server is not None:
            self.server.close()
            if hasattr(self.server, "close_clients"):
                self.server.close_clients()
            try:
                await asyncio.wait_for(self.server.wait_closed(), 2.0)
            except asyncio.TimeoutError:
                pass

    async def wait_finals(self, uuids: set[str], timeout: float) -> bool:
        end = time.monotonic() + timeout
        while not uuids <= self.finals:
            left = end - time.monotonic()
            if left <= 0:
                return False
            self._final_seen.clear()
            try:
                await asyncio.wait_for(self._final_seen.wait(), min(left, 1.0))
            except asyncio.TimeoutError:
                pass
        return True

    async def _handle(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self.connections += 1
        try:
            while True:
                line = await reader.readline()
                if not line:
                    break
                parts = line.decode("latin-1").split()
                headers: dict[str, str] = {}
                while True:
                    h = await reader.readline()
                    if h in (b"\r\n", b"\n", b""):
                        break
                    k, _, v = h.decode("latin-1").partition(":")
                    headers[k.strip().lower()] = v.strip()
                length = headers.get("content-length")
                if length is None or not length.isdigit():
                    self.bad_requests.append(f"no Content-Length: {line!r} {headers}")
                    writer.write(b"HTTP/1.1 411 Length Required\r\nContent-Length: 0\r\nConnection: close\r\n\r\n")
                    await writer.drain()
                    break
                body = await reader.readexactly(int(length)) if int(length) else b""
                t = time.monotonic()
                status = b"200 OK"
                if len(parts) != 3 or parts[0] != "POST":
                    self.bad_requests.append(f"unexpected request line {line!r}")
                    status = b"405 Method Not Allowed"
                else:
                    try:
                        ev = json.loads(body)
                    except ValueError as exc:
                        ev = f"invalid JSON ({exc})"
                    if isinstance(ev, dict):
                        self._record(t, ev)
                    else:
                        self.bad_requests.append(f"body is not a JSON object: {body[:200]!r}")
                        status = b"400 Bad Request"
                writer.write(b"HTTP/1.1 " + status + b"\r\nContent-Length: 0\r\nConnection: keep-alive\r\n\r\n")
                await writer.drain()
                if headers.get("connection", "").lower() == "close":
                    break
        except (asyncio.IncompleteReadError, ConnectionError):
            pass
        finally:
            writer.close()

    def _record(self, t: float, ev: dict[str, Any]) -> None:
        self.events.append((t, ev))
        call = ev.get("call")
        if call is not None:
            self.by_call.setdefault(str(call).lower(), []).append((t, ev))
            if ev.get("event") == "final":
                self.finals.add(str(call).lower())
                self._final_seen.set()


# -- the server process -------------------------------------------------------------------


class ServerProcess:
    """``python -m voiceguard serve`` as a subprocess."""

    def __init__(self, tmp: Path, token: str, webhook_port: int, model: str | None = None,
                 extra: list[str] | None = None) -> None:
        self.as_port, self.http_port = free_port(), free_port()
        while self.http_port == self.as_port:
            self.http_port = free_port()
        self.log_path = tmp / "calls.jsonl"
        self.stderr_path = tmp / "server.stderr"
        self.cmd = [sys.executable, "-m", "voiceguard", "serve",
                    "--audiosocket", f"127.0.0.1:{self.as_port}", "--http", f"127.0.0.1:{self.http_port}",
                    "--webhook", f"http://127.0.0.1:{webhook_port}/hook", "--log", str(self.log_path)]
        if model is not None:
            self.cmd += ["--model", model]
        self.cmd += list(extra or [])
        self.token = token
        self.proc: subprocess.Popen | None = None
        self.exit_code: int | None = None
        self.stop_s: float | None = None

    @property
    def pid(self) -> int:
        assert self.proc is not None
        return self.proc.pid

    @property
    def base_url(self) -> str:
        return f"http://127.0.0.1:{self.http_port}"

    def start(self) -> None:
        env = dict(os.environ, VOICEGUARD_TOKEN=self.token)
        env["PYTHONPATH"] = os.pathsep.join(p for p in (str(ROOT), env.get("PYTHONPATH")) if p)
        self._err = open(self.stderr_path, "wb")  # closed in stop()
        self.proc = subprocess.Popen(self.cmd, cwd=ROOT, env=env, stdin=subprocess.DEVNULL,
                                     stdout=self._err, stderr=subprocess.STDOUT)

    def alive(self) -> bool:
        return self.proc is not None and self.proc.poll() is None

    def stderr_tail(self, n: int = 40) -> str:
        try:
            return "\n".join(self.stderr_path.read_text(encoding="utf-8", errors="replace").splitlines()[-n:])
        except OSError:
            return ""

    async def wait_ready(self, timeout: float) -> float:
        import httpx

        t0 = time.monotonic()
        async with httpx.AsyncClient(timeout=2.0) as c:
            while time.monotonic() - t0 < timeout:
                if not self.alive():
                    raise HarnessError(f"the server exited with status {self.proc.returncode} before it was "
                                       f"ready:\n{self.stderr_tail()}")
                try:
                    r = await c.get(self.base_url + "/healthz")
                    if r.status_code == 200 and r.json().get("status") == "ok":
                        return time.monotonic() - t0
                except httpx.HTTPError:
                    pass
                await asyncio.sleep(0.2)
        raise HarnessError(f"the server did not answer /healthz within {timeout:g} s:\n{self.stderr_tail()}")

    def stop(self) -> None:
        """SIGTERM, wait up to 20 s, then SIGKILL. Always safe to call."""
        if self.proc is None:
            return
        t0 = time.monotonic()
        if self.proc.poll() is None:
            try:
                self.proc.send_signal(signal.SIGTERM)
                self.proc.wait(20)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait(10)
            self.stop_s = round(time.monotonic() - t0, 2)
        self.exit_code = self.proc.returncode
        self._err.close()


# -- the calls ----------------------------------------------------------------------------


@dataclass
class CallRecord:
    index: int
    label: str
    rotation: int
    uuid: str = ""
    start_delay_s: float = 0.0
    t_connect: float | None = None
    sec_sent: dict[int, float] = field(default_factory=dict)  # whole seconds of audio sent -> monotonic time
    t_stream_end: float | None = None
    t_hangup: float | None = None
    error: str | None = None

    def sent_at(self, duration_s: Any) -> float | None:
        """When the whole second of audio holding ``duration_s`` was sent (None: unknown)."""
        return self.sec_sent.get(self.second_of(duration_s))

    @staticmethod
    def second_of(duration_s: Any) -> int:
        return int(np.floor(float(duration_s or 0.0) + 1e-6))


async def place_call(rec: CallRecord, port: int, pcm: np.ndarray) -> None:
    from voiceguard.service.audiosocket import AudioSocketClient

    await asyncio.sleep(rec.start_delay_s)
    client = AudioSocketClient("127.0.0.1", port)
    rec.uuid = str(client.uuid)
    last = [0]

    def on_frame(samples: int) -> None:
        k = samples // CALL_SR
        if k > last[0]:
            now = time.monotonic()
            for s in range(last[0] + 1, k + 1):
                rec.sec_sent[s] = now
            last[0] = k

    try:
        await client.connect()
        rec.t_connect = time.monotonic()
        await client.stream(pcm, CALL_SR, realtime=True, on_frame=on_frame)
        rec.t_stream_end = time.monotonic()
        await client.hangup()
        rec.t_hangup = rec.t_stream_end
    except Exception as exc:  # recorded, reported as a harness error
        rec.error = f"{type(exc).__name__}: {exc}"
        await client.close()


class Sampler:
    """Every second: server RSS, CPU seconds and active calls (from /healthz)."""

    def __init__(self, server: ServerProcess, t0: float) -> None:
        self.server, self.t0 = server, t0
        self.samples: list[dict[str, Any]] = []
        self.marks: dict[str, float] = {}
        self._task: asyncio.Task | None = None

    def start(self) -> None:
        self._task = asyncio.create_task(self._run())

    def mark(self, name: str) -> None:
        self.marks[name] = round(time.monotonic() - self.t0, 2)

    async def stop(self) -> None:
        if self._task is not None:
            self._task.cancel()
            try:
                await self._task
            except asyncio.CancelledError:
                pass

    async def _run(self) -> None:
        import httpx

        async with httpx.AsyncClient(timeout=1.0) as c:
            while True:
                t = time.monotonic()
                try:
                    s: dict[str, Any] = {"t_s": round(t - self.t0, 2), "cpu_s": round(proc_cpu_s(self.server.pid), 2)}
                    s["rss_mb"] = round(proc_mem_mb(self.server.pid).get("VmRSS", float("nan")), 1)
                except (OSError, IndexError, ValueError):
                    return  # the process is gone
                try:
                    r = await c.get(self.server.base_url + "/healthz")
                    s["active_calls"] = r.json().get("active_calls")
                except (httpx.HTTPError, ValueError):
                    s["active_calls"] = None
                self.samples.append(s)
                await asyncio.sleep(max(0.0, 1.0 - (time.monotonic() - t)))


# -- analysis -----------------------------------------------------------------------------


def analyse_calls(records: list[CallRecord], hook: WebhookReceiver, call_s: float) -> dict[str, Any]:
    first_lat, first_audio, first_proc, lags, final_lat, running_counts = [], [], [], [], [], []
    lag_by_t: dict[int, list[float]] = {}
    per_call = []
    correct = {"bonafide": [0, 0], "spoof": [0, 0]}
    missing_running, missing_final = [], []
    for rec in records:
        evs = sorted(hook.by_call.get(rec.uuid, []), key=lambda x: x[0])
        running = [(t, e) for t, e in evs if e.get("event") == "running"]
        finals = [(t, e) for t, e in evs if e.get("event") == "final"]
        errors = [e for _, e in evs if e.get("event") == "error"]
        running_counts.append(len(running))
        row: dict[str, Any] = {"index": rec.index, "uuid": rec.uuid, "label": rec.label, "rotation": rec.rotation,
                               "running_events": len(running), "client_error": rec.error,
                               "error_events": [e.get("error") for e in errors]}
        if rec.t_connect is not None and rec.t_stream_end is not None:
            row["stream_wall_s"] = round(rec.t_stream_end - rec.t_connect, 3)
        if not running:
            missing_running.append(rec.index)
        else:
            t1, e1 = running[0]
            row["first_running_audio_s"] = e1.get("duration_s")
            row["first_running_verdict"] = e1.get("verdict")
            first_audio.append(float(e1.get("duration_s") or 0.0))
            ts1 = rec.sent_at(e1.get("duration_s"))
            if ts1 is not None:
                first_proc.append(t1 - ts1)
            t4 = rec.sec_sent.get(FIRST_VERDICT_AT_S)
            if t4 is not None:
                row["first_running_latency_s"] = round(t1 - t4, 4)
                first_lat.append(t1 - t4)
            for t, e in running:
                d = e.get("duration_s")
                if d is None:
                    continue
                sec = rec.second_of(d)
                ts = rec.sec_sent.get(sec)
                if ts is not None:
                    lags.append(t - ts)
                    lag_by_t.setdefault(int(sec // 10 * 10), []).append(t - ts)
        if not finals:
            missing_final.append(rec.index)
        else:
            tf, ef = finals[0]
            row["final_verdict"] = ef.get("verdict")
            row["final_spoof_probability"] = ef.get("spoof_probability")
            row["final_duration_s"] = ef.get("duration_s")
            row["final_ended_by"] = ef.get("ended_by")
            row["final_error"] = ef.get("error")
            if rec.t_hangup is not None:
                row["final_latency_s"] = round(tf - rec.t_hangup, 4)
                final_lat.append(tf - rec.t_hangup)
            c = correct[rec.label]
            c[1] += 1
            c[0] += ef.get("verdict") == rec.label
        per_call.append(row)
    pacing = [r["stream_wall_s"] - call_s for r in per_call if "stream_wall_s" in r]
    return {
        "n": len(records),
        "client_errors": [f"call {r.index}: {r.error}" for r in records if r.error],
        "with_running": len(records) - len(missing_running),
        "with_final": len(records) - len(missing_final),
        "missing_running": missing_running,
        "missing_final": missing_final,
        "running_events_per_call": dist([float(x) for x in running_counts]),
        "first_running_latency_s": dist(first_lat),
        "first_running_audio_s": dist(first_audio),
        "first_running_processing_s": dist(first_proc),
        "running_lag_s": dist(lags),
        "running_lag_by_call_time": {f"{k}-{k + 10}s": dist(v) for k, v in sorted(lag_by_t.items())},
        "final_latency_s": dist(final_lat),
        "client_pacing_overrun_s": dist(pacing),
        "final_verdicts_match_label": {k: f"{v[0]}/{v[1]}" for k, v in correct.items()},
        "per_call": per_call,
    }


def read_log(path: Path) -> dict[str, Any]:
    counts: dict[str, int] = {}
    errors, failed, dropped, bad = [], [], [], 0
    try:
        lines = path.read_text(encoding="utf-8").splitlines()
    except OSError as exc:
        return {"error": f"cannot read {path}: {exc}"}
    for line in lines:
        try:
            ev = json.loads(line)
        except ValueError:
            bad += 1
            continue
        kind = ev.get("event", "?")
        counts[kind] = counts.get(kind, 0) + 1
        if kind == "error":
            errors.append(ev)
        elif kind == "webhook_failed":
            failed.append(ev)
        elif kind == "webhook_dropped":
            dropped.append(ev)
    return {"lines": len(lines), "unparsable_lines": bad, "counts": counts, "error_events": errors[:50],
            "webhook_failed": failed[:20], "webhook_dropped": len(dropped)}


def rss_summary(samples: list[dict[str, Any]], t_from: float, t_to: float) -> dict[str, Any]:
    pts = [(s["t_s"], s["rss_mb"]) for s in samples if t_from <= s["t_s"] <= t_to and s.get("rss_mb") == s.get("rss_mb")]
    if len(pts) < 2:
        return {"n": len(pts)}
    t = np.array([p[0] for p in pts])
    r = np.array([p[1] for p in pts])
    half = t >= t[0] + (t[-1] - t[0]) / 2
    slope2 = float(np.polyfit(t[half], r[half], 1)[0]) * 60 if half.sum() >= 2 else None
    return {"n": len(pts), "first_mb": round(float(r[0]), 1), "min_mb": round(float(r.min()), 1),
            "max_mb": round(float(r.max()), 1), "last_mb": round(float(r[-1]), 1),
            "slope_mb_per_min": round(float(np.polyfit(t, r, 1)[0]) * 60, 2),
            "slope_second_half_mb_per_min": None if slope2 is None else round(slope2, 2)}


# -- HTTP phase ---------------------------------------------------------------------------


async def http_phase(base_url: str, token: str, wavs: list[bytes], clients: int, seconds: float,
                     pid: int) -> dict[str, Any]:
    import httpx

    headers = {"Content-Type": "audio/wav", "Authorization": f"Bearer {token}"}
    out: dict[str, Any] = {}
    async with httpx.AsyncClient(base_url=base_url, timeout=120.0,
                                 limits=httpx.Limits(max_connections=clients + 2,
                                                     max_keepalive_connections=clients + 2)) as c:
        # the auth path: no token, wrong token, then one good request (warm-up, not timed)
        r0 = await c.post("/v1/score", content=wavs[0], headers={"Content-Type": "audio/wav"})
        r1 = await c.post("/v1/score", content=wavs[0],
                          headers={"Content-Type": "audio/wav", "Authorization": "Bearer " + "x" * 32})
        r2 = await c.post("/v1/score", content=wavs[0], headers=headers)
        out["auth_check"] = {"no_token": r0.status_code, "wrong_token": r1.status_code, "good_token": r2.status_code,
                             "ok": r0.status_code == 401 and r1.status_code == 401 and r2.status_code == 200}
        if r2.status_code == 200:
            out["sample_response_keys"] = sorted(r2.json())
        else:
            out["sample_response"] = r2.text[:500]
        lat: list[float] = []
        statuses: dict[str, int] = {}
        verdicts: dict[str, int] = {}
        errors: list[str] = []
        cpu0 = proc_cpu_s(pid)
        t0 = time.monotonic()
        end = t0 + seconds
        t_last = [t0]

        async def worker(k: int) -> None:
            body = wavs[k % len(wavs)]
            while time.monotonic() < end:
                ts = time.monotonic()
                try:
                    r = await c.post("/v1/score", content=body, headers=headers)
                    key = str(r.status_code)
                    if r.status_code == 200:
                        v = r.json().get("verdict", "?")
                        verdicts[v] = verdicts.get(v, 0) + 1
                    elif len(errors) < 20:
                        errors.append(f"HTTP {r.status_code}: {r.text[:200]}")
                except httpx.HTTPError as exc:
                    key = type(exc).__name__
                    if len(errors) < 20:
                        errors.append(f"{key}: {exc}")
                te = time.monotonic()
                t_last[0] = max(t_last[0], te)
                statuses[key] = statuses.get(key, 0) + 1
                if key == "200":
                    lat.append(te - ts)

        await asyncio.gather(*(worker(k) for k in range(clients)))
        elapsed = t_last[0] - t0
        cpu = proc_cpu_s(pid) - cpu0
    n = sum(statuses.values())
    out.update({
        "requests": n, "elapsed_s": round(elapsed, 2), "requests_per_s": round(n / elapsed, 2) if elapsed > 0 else None,
        "audio_s_per_request": 10.0, "audio_s_scored_per_s": round(10.0 * lat.__len__() / elapsed, 1) if elapsed else None,
        "latency_s": dist(lat), "statuses": statuses, "non_200": n - statuses.get("200", 0), "errors": errors,
        "verdicts": verdicts, "server_cpu_s": round(cpu, 2),
        "server_cores_busy": round(cpu / elapsed, 2) if elapsed > 0 else None,
    })
    return out


# -- main ---------------------------------------------------------------------------------


async def run(args: argparse.Namespace) -> dict[str, Any]:
    import httpx

    results: dict[str, Any] = {"benchmark": "load_service", "args": vars(args).copy(), "machine": machine_info()}
    # audio first (before the server competes for the CPU)
    bona8, spoof8 = load_clips(BONAFIDE_CLIPS, CALL_SR), load_clips(SPOOF_CLIPS, CALL_SR)
    call_audio: dict[tuple[str, int], np.ndarray] = {}
    records = []
    for i in range(args.calls):
        label = "bonafide" if i % 2 == 0 else "spoof"
        pool = bona8 if label == "bonafide" else spoof8
        rot = (i // 2) % len(pool)
        if (label, rot) not in call_audio:
            call_audio[label, rot] = to_pcm16(concat_clips(pool, rot, args.call_s, CALL_SR))
        records.append(CallRecord(index=i, label=label, rotation=rot,
                                  start_delay_s=STAGGER_S * i / max(1, args.calls)))
    bona16, spoof16 = load_clips(BONAFIDE_CLIPS, 16000), load_clips(SPOOF_CLIPS, 16000)
    wavs = [make_wav(concat_clips(bona16, 0, 10.0, 16000), 16000),
            make_wav(concat_clips(spoof16, 0, 10.0, 16000), 16000)]
    results["audio"] = {
        "call_rate_hz": CALL_SR, "gap_between_clips_s": GAP_S, "stagger_s": STAGGER_S,
        "bonafide_clips": [str(p.relative_to(ROOT)) for p in BONAFIDE_CLIPS],
        "spoof_clips": [str(p.relative_to(ROOT)) for p in SPOOF_CLIPS],
        "layout": "even calls: bona fide clips only, odd calls: synthetic clips only; call i starts with clip "
                  "(i // 2) % 3 of its class; clips joined with 0.25 s of silence and repeated to call_s",
        "http_wavs": "10 s 16 kHz PCM_16 WAV: bona fide clips (even clients), synthetic clips (odd clients)",
        "http_wav_bytes": [len(w) for w in wavs],
    }

    token = secrets.token_urlsafe(32)
    hook = WebhookReceiver()
    await hook.start()
    tmp = Path(tempfile.mkdtemp(prefix="vg-load-"))
    server = ServerProcess(tmp, token, hook.port, args.model, args.server_arg)
    results["server_cmd"] = " ".join(server.cmd)
    results["tmp_dir"] = str(tmp)
    sampler = None
    print(f"server log and stderr in {tmp} (kept if the run fails)", flush=True)
    try:
        t_launch = time.monotonic()
        server.start()
        ready_s = await server.wait_ready(args.ready_timeout)
        mem_ready = proc_mem_mb(server.pid)
        async with httpx.AsyncClient(timeout=5.0) as c:
            results["model"] = (await c.get(server.base_url + "/healthz")).json().get("model")
        results["model_requested"] = args.model or "default (the shipped model)"
        results["model_version"] = model_version(args.model)
        results["server_env"] = {k: v for k, v in os.environ.items() if k.startswith(("VG_", "OMP_", "MKL_"))}
        results["server"] = {"pid": server.pid, "ready_s": round(ready_s, 2),
                             "rss_ready_mb": round(mem_ready["VmRSS"], 1), "hwm_ready_mb": round(mem_ready["VmHWM"], 1)}
        print(f"server ready in {ready_s:.1f} s (pid {server.pid}, RSS {mem_ready['VmRSS']:.0f} MiB); "
              f"{args.calls} calls x {args.call_s:g} s ...", flush=True)
        sampler = Sampler(server, t_launch)
        sampler.start()
        await asyncio.sleep(1.5)  # an idle sample or two

        # -- call phase --
        cpu_a = proc_cpu_s(server.pid)
        t_a = time.monotonic()
        sampler.mark("calls_start")
        pcms = [call_audio[r.label, r.rotation] for r in records]
        await asyncio.gather(*(place_call(r, server.as_port, p) for r, p in zip(records, pcms)))
        cpu_b = proc_cpu_s(server.pid)
        t_b = time.monotonic()
        sampler.mark("calls_hung_up")
        bad = [r for r in records if r.error]
        if len(bad) == len(records):
            raise HarnessError(f"no call could be placed: {bad[0].error}\n{server.stderr_tail()}")
        if not server.alive():
            raise HarnessError(f"the server died during the calls (status {server.proc.returncode}):\n"
                               f"{server.stderr_tail()}")
        print(f"calls done ({t_b - t_a:.1f} s); waiting for the final verdicts ...", flush=True)
        all_final = await hook.wait_finals({r.uuid for r in records if r.uuid}, args.drain_s)
        cpu_c = proc_cpu_s(server.pid)
        t_c = time.monotonic()
        sampler.mark("finals_received")
        await asyncio.sleep(1.0)  # let trailing deliveries land
        mem_calls = proc_mem_mb(server.pid)
        cpu_total = cpu_c - cpu_a
        audio_s = args.calls * args.call_s
        results["calls"] = analyse_calls(records, hook, args.call_s)
        results["calls"]["all_finals_within_drain"] = all_final
        results["call_phase"] = {
            "wall_s": round(t_c - t_a, 2), "streaming_wall_s": round(t_b - t_a, 2),
            "final_wait_s": round(t_c - t_b, 2),
            "server_cpu_s": round(cpu_total, 2), "server_cpu_streaming_s": round(cpu_b - cpu_a, 2),
            "server_cpu_finals_s": round(cpu_c - cpu_b, 2),
            "call_audio_s": audio_s,
            "cpu_per_call_rt": round(cpu_total / audio_s, 5),
            "cpu_per_call_rt_streaming_only": round((cpu_b - cpu_a) / audio_s, 5),
            "cores_busy": round(cpu_total / (t_c - t_a), 3),
            "cores_busy_streaming": round((cpu_b - cpu_a) / (t_b - t_a), 3),
            "max_active_calls_seen": max((s.get("active_calls") or 0 for s in sampler.samples), default=None),
        }
        results["server"].update({"rss_after_calls_mb": round(mem_calls["VmRSS"], 1),
                                  "hwm_after_calls_mb": round(mem_calls["VmHWM"], 1)})
        print(f"call phase analysed; HTTP load: {args.http_clients} clients x {args.http_s:g} s ...", flush=True)

        # -- HTTP phase --
        sampler.mark("http_start")
        results["http"] = await http_phase(server.base_url, token, wavs, args.http_clients, args.http_s, server.pid)
        sampler.mark("http_end")
        if not server.alive():
            raise HarnessError(f"the server died during the HTTP phase:\n{server.stderr_tail()}")
        mem_end = proc_mem_mb(server.pid)
        results["server"].update({"rss_end_mb": round(mem_end["VmRSS"], 1), "hwm_end_mb": round(mem_end["VmHWM"], 1),
                                  "cpu_total_s": round(proc_cpu_s(server.pid), 2)})
        # final /healthz (refused calls etc.)
        async with httpx.AsyncClient(timeout=5.0) as c:
            results["server"]["healthz_end"] = (await c.get(server.base_url + "/healthz")).json()
    finally:
        if sampler is not None:
            await sampler.stop()
        server.stop()
        await hook.close()
    results["server"] = results.get("server", {})
    results["server"].update({"exit_code": server.exit_code, "shutdown_s": server.stop_s})
    log_text = server.stderr_tail(10 ** 6)
    results["server"]["stderr_warnings"] = [ln for ln in log_text.splitlines()
                                            if " WARNING " in ln or " ERROR " in ln or "Traceback" in ln][:50]
    results["server"]["stderr_tail"] = server.stderr_tail(15)
    m = sampler.marks
    results["rss_samples"] = sampler.samples
    results["marks_s"] = m
    results["rss"] = {
        "during_calls": rss_summary(sampler.samples, m["calls_start"], m["calls_hung_up"]),
        "during_finals": rss_summary(sampler.samples, m["calls_hung_up"], m["finals_received"]),
        "during_http": rss_summary(sampler.samples, m["http_start"], m["http_end"]),
        "rss_growth_expected_mb": round(args.calls * args.call_s * CALL_SR * 2 / 2 ** 20, 1),
    }
    results["events"] = {
        "webhook_deliveries": len(hook.events),
        "webhook_by_event": {},
        "webhook_bad_requests": hook.bad_requests[:20],
        "webhook_connections": hook.connections,
        "log": read_log(server.log_path),
    }
    for _, ev in hook.events:
        k = ev.get("event", "?")
        results["events"]["webhook_by_event"][k] = results["events"]["webhook_by_event"].get(k, 0) + 1
    c = results["calls"]
    lat95 = c["first_running_latency_s"]["p95"]
    results["checks"] = {
        "all_calls_got_verdicts": c["with_running"] == c["n"] and c["with_final"] == c["n"] and not c["client_errors"],
        "first_running_latency_p95_le_1s": lat95 is not None and lat95 <= SPEC_LATENCY_S,
    }
    if not args.keep_tmp:
        shutil.rmtree(tmp, ignore_errors=True)
        results["tmp_dir"] += " (deleted; --keep-tmp keeps it)"
    return results


def summary(res: dict[str, Any]) -> str:
    a, mach = res["args"], res["machine"]
    c, cp, srv, h, ev = res["calls"], res["call_phase"], res["server"], res["http"], res["events"]
    rss = res["rss"]
    lines = [
        (f"voiceguard serve load test  {mach['date']}  {mach.get('cpu_model', mach['machine'])}, "
        f"{mach['cpu_count']} CPUs, Python {mach['python']}, {mach['platform']}"),
        (f"args: --calls {a['calls']} --call-s {a['call_s']:g} --http-clients {a['http_clients']} "
        f"--http-s {a['http_s']:g}"),
        f"model: {res.get('model')} ({res.get('model_version')}; requested {res.get('model_requested')})",
        "",
        "CALLS (AudioSocket, 8 kHz, real time)",
        (f"  calls with running verdicts : {c['with_running']}/{c['n']}   with final verdict: {c['with_final']}/{c['n']}"
        f"   client errors: {len(c['client_errors'])}   max active seen: {cp['max_active_calls_seen']}"),
        f"  running events per call     : {fmt_dist(c['running_events_per_call'], 'ev')}",
        f"  first running verdict after 4 s sent: {fmt_dist(c['first_running_latency_s'])}",
        f"  audio time of first verdict : {fmt_dist(c['first_running_audio_s'])}",
        f"  first verdict after its audio sent: {fmt_dist(c['first_running_processing_s'])}",
        f"  running verdict lag (all)   : {fmt_dist(c['running_lag_s'])}",
    ]
    by_t = c["running_lag_by_call_time"]
    if by_t:
        lines.append("  lag p95 by call time        : " + ", ".join(
            f"{k} {v['p95']:.2f}" for k, v in list(by_t.items())[:: max(1, len(by_t) // 6)]))
    lines += [
        f"  final verdict after hangup  : {fmt_dist(c['final_latency_s'])}",
        f"  client pacing overrun       : {fmt_dist(c['client_pacing_overrun_s'])}",
        (f"  final verdict == label      : bona fide calls {c['final_verdicts_match_label']['bonafide']}, "
        f"synthetic calls {c['final_verdicts_match_label']['spoof']} (informative)"),
        "",
        "SERVER",
        (f"  ready after {srv['ready_s']:.1f} s; RSS ready {srv['rss_ready_mb']:.0f} MiB, after calls "
        f"{srv['rss_after_calls_mb']:.0f} MiB, end {srv['rss_end_mb']:.0f} MiB"),
        (f"  peak RSS (VmHWM)            : {srv['hwm_end_mb']:.0f} MiB (at ready {srv['hwm_ready_mb']:.0f}, "
        f"after calls {srv['hwm_after_calls_mb']:.0f})"),
        (f"  RSS during calls            : {rss['during_calls'].get('first_mb')} -> {rss['during_calls'].get('max_mb')} "
        f"MiB, slope {rss['during_calls'].get('slope_mb_per_min')} MiB/min (2nd half "
        f"{rss['during_calls'].get('slope_second_half_mb_per_min')}); call audio kept: "
        f"{rss['rss_growth_expected_mb']} MiB expected"),
        f"  RSS during HTTP phase       : {rss['during_http'].get('min_mb')}..{rss['during_http'].get('max_mb')} MiB",
        (f"  CPU over call phase         : {cp['server_cpu_s']:.1f} s in {cp['wall_s']:.1f} s wall "
        f"({cp['cores_busy']:.2f} cores busy; streaming {cp['server_cpu_streaming_s']:.1f} s, "
        f"finals {cp['server_cpu_finals_s']:.1f} s in {cp['final_wait_s']:.1f} s)"),
        (f"  CPU per call                : {cp['cpu_per_call_rt'] * 100:.2f} % of one core per call "
        f"(streaming only {cp['cpu_per_call_rt_streaming_only'] * 100:.2f} %)"),
        f"  shutdown                    : exit {srv['exit_code']} after {srv['shutdown_s']} s",
        "",
        "EVENTS",
        f"  webhook deliveries          : {ev['webhook_deliveries']} {ev['webhook_by_event']}",
        f"  JSONL log                   : {ev['log'].get('counts')}",
        (f"  error events                : {ev['log'].get('counts', {}).get('error', 0)}"
        f"   webhook_failed: {ev['log'].get('counts', {}).get('webhook_failed', 0)}"
        f"   webhook_dropped: {ev['log'].get('counts', {}).get('webhook_dropped', 0)}"),
    ]
    for e in ev["log"].get("error_events", [])[:5]:
        lines.append(f"    error: call {e.get('call')}: {e.get('error')}")
    lines += [
        "",
        f"HTTP (/v1/score, 10 s 16 kHz WAV, {a['http_clients']} clients, bearer token)",
        (f"  auth check                  : no token {h['auth_check']['no_token']}, wrong token "
        f"{h['auth_check']['wrong_token']}, good token {h['auth_check']['good_token']}"),
        (f"  throughput                  : {h['requests_per_s']} requests/s ({h['requests']} in {h['elapsed_s']} s, "
        f"{h['audio_s_scored_per_s']} s of audio scored per s, {h['server_cores_busy']} cores busy)"),
        f"  latency                     : {fmt_dist(h['latency_s'])}",
        f"  non-200                     : {h['non_200']} {h['statuses']}",
    ]
    if srv.get("stderr_warnings"):
        lines += ["", f"server log warnings/errors ({len(srv['stderr_warnings'])}):"]
        lines += [f"  {ln}" for ln in srv["stderr_warnings"][:10]]
    lines += ["", "CHECKS"]
    ck = res["checks"]
    lines.append(f"  {'PASS' if ck['all_calls_got_verdicts'] else 'FAIL'}  every call got running and final verdicts "
                 f"({c['with_running']}/{c['n']} running, {c['with_final']}/{c['n']} final)")
    p95 = c["first_running_latency_s"]["p95"]
    lines.append(f"  {'PASS' if ck['first_running_latency_p95_le_1s'] else 'FAIL'}  first running verdict p95 <= "
                 f"{SPEC_LATENCY_S:g} s after 4 s of audio (p95 = {'n/a' if p95 is None else f'{p95:.3f} s'})")
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0],
                                 formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--calls", type=int, default=50, help="concurrent AudioSocket calls (default 50)")
    ap.add_argument("--call-s", type=float, default=120.0, help="seconds of audio per call (default 120)")
    ap.add_argument("--http-clients", type=int, default=16, help="concurrent HTTP clients (default 16)")
    ap.add_argument("--http-s", type=float, default=30.0, help="seconds of HTTP load (default 30)")
    ap.add_argument("--out", default=str(ROOT / "benchmarks" / "results" / "load_service.json"),
                    help="JSON results file (default benchmarks/results/load_service.json)")
    ap.add_argument("--drain-s", type=float, default=300.0,
                    help="longest wait for the final verdicts after the hangups (default 300)")
    ap.add_argument("--model", default=None,
                    help="detector the server loads (voiceguard serve --model; default: the shipped model)")
    ap.add_argument("--server-arg", action="append", default=[],
                    help="extra argument for voiceguard serve (repeatable), e.g. --server-arg=--workers=2")
    ap.add_argument("--ready-timeout", type=float, default=180.0, help="longest wait for /healthz (default 180)")
    ap.add_argument("--keep-tmp", action="store_true",
                    help="keep the temporary folder (the server's calls.jsonl and stderr) instead of deleting it")
    args = ap.parse_args(argv)
    if args.calls < 1 or args.call_s < FIRST_VERDICT_AT_S + 1 or args.http_clients < 1 or args.http_s <= 0:
        ap.error(f"need --calls >= 1, --call-s >= {FIRST_VERDICT_AT_S + 1}, --http-clients >= 1, --http-s > 0")
    try:
        res = asyncio.run(run(args))
    except HarnessError as exc:
        print(f"load_service: harness error: {exc}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print("load_service: interrupted", file=sys.stderr)
        return 130
    except Exception:  # noqa: BLE001
        traceback.print_exc()
        print("load_service: harness error (see the traceback above)", file=sys.stderr)
        return 2
    text = summary(res)
    print()
    print(text)
    res["summary"] = text
    out = Path(args.out)
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps(res, indent=1, default=str) + "\n", encoding="utf-8")
    print(f"\nresults: {out}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
