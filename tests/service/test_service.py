"""``voiceguard serve``: AudioSocket calls, the HTTP API, faults, limits and auth.

Every test runs the real service (asyncio TCP listener and uvicorn on loopback, port 0)
in this process, with one shared detector, and talks to it over real sockets: the
AudioSocket side with :class:`voiceguard.service.audiosocket.AudioSocketClient`, which writes
the protocol byte for byte as Asterisk does.
"""

from __future__ import annotations

import asyncio
import gc
import io
import json
import os
import struct
import uuid
from pathlib import Path

import numpy as np
import pytest
import soundfile as sf

pytest.importorskip("fastapi")
httpx = pytest.importorskip("httpx")

from voiceguard.audio import load_mono  # noqa: E402
from voiceguard.detect.detector import Detector  # noqa: E402
from voiceguard.detect.stream import StreamScorer  # noqa: E402
from voiceguard.errors import InvalidParameterError  # noqa: E402
from voiceguard.service import RunningService, ServiceConfig, load_config  # noqa: E402
from voiceguard.service.audiosocket import KIND_AUDIO, KIND_UUID, AudioSocketClient, encode_frame  # noqa: E402

EXAMPLES = Path(__file__).resolve().parents[2] / "examples"
BONAFIDE = EXAMPLES / "bonafide_librispeech_1898.flac"
# the eSpeak NG clip: the default (Whisper) model calls it spoof; it lets the DSP copies pass
SPOOF = EXAMPLES / "spoof_espeak.flac"
TOKEN = "test-token-0123456789abcdef"
AUTH = {"Authorization": f"Bearer {TOKEN}"}


pytestmark = pytest.mark.usefixtures("one_torch_thread")


@pytest.fixture(autouse=True)
def _env(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.delenv("VOICEGUARD_TOKEN", raising=False)
    monkeypatch.delenv("VOICEGUARD_DB_KEY", raising=False)
    monkeypatch.setenv("VOICEGUARD_HOME", str(tmp_path / "home"))


@pytest.fixture(scope="module")
def detector() -> Detector:
    return Detector()


def _pcm8k(path: Path, seconds: float | None = None) -> np.ndarray:
    y, _ = load_mono(path, 8000)
    if seconds is not None:
        reps = int(np.ceil(seconds * 8000 / len(y)))
        y = np.concatenate([y] * reps)[: int(seconds * 8000)]
    return (np.clip(y, -1, 1) * 32767).astype(np.int16)


def _config(tmp_path: Path, **kw) -> ServiceConfig:
    base = dict(http=("127.0.0.1", 0), audiosocket=("127.0.0.1", 0), token=TOKEN, workers=2,
                log_path=str(tmp_path / "events.jsonl"), db=str(tmp_path / "voiceprints.db"),
                idle_timeout_s=2.0, read_timeout_s=1.0, handshake_timeout_s=1.0, running_report_s=2.0)
    base.update(kw)
    cfg = ServiceConfig(**base)
    cfg.validate()
    return cfg


def _events(tmp_path: Path) -> list[dict]:
    p = tmp_path / "events.jsonl"
    return [json.loads(line) for line in p.read_text().splitlines()] if p.exists() else []


def run(coro):
    return asyncio.run(asyncio.wait_for(coro, 120))


async def _call(port: int, pcm: np.ndarray, *, speed: float = 1.0, realtime: bool = True,
                call_uuid: str | None = None) -> str:
    async with AudioSocketClient("127.0.0.1", port, call_uuid) as c:
        await c.stream(pcm, 8000, realtime=realtime, speed=speed)
        await c.dtmf("5")  # ignored
        await c.hangup()
    return str(c.uuid)


async def _wait_final(rs: RunningService, call_uuid: str, timeout: float = 30.0) -> dict:
    for _ in range(int(timeout / 0.02)):
        call = rs.service.lookup_call(call_uuid)
        if call is not None and call.final:
            return call.to_dict()
        await asyncio.sleep(0.02)
    raise AssertionError(f"call {call_uuid} never reached its final verdict")


def _cli_score(path: Path) -> dict:
    from contextlib import redirect_stdout

    from voiceguard.cli import main

    buf = io.StringIO()
    with redirect_stdout(buf):
        main(["score", "--format", "jsonl", "--no-progress", "--threads", "1", str(path)])
    return json.loads(buf.getvalue())


# --------------------------------------------------------------------------------------
# AudioSocket calls
# --------------------------------------------------------------------------------------


def test_realtime_calls_match_voiceguard_score(detector, tmp_path):
    """Bona fide and synthetic speech streamed at real-time pace, concurrently: running
    verdicts during the call, and final verdicts equal to `voiceguard score` on the same
    8 kHz audio."""
    pcms = {"bonafide": _pcm8k(BONAFIDE, 9.0), "spoof": _pcm8k(SPOOF, 9.0)}
    wavs = {}
    for k, pcm in pcms.items():
        wavs[k] = tmp_path / f"{k}.wav"
        sf.write(wavs[k], pcm, 8000, subtype="PCM_16")

    async def main():
        async with RunningService(_config(tmp_path), detector=detector) as rs:
            seen_running = {}

            async def watch(call_uuid):
                async with httpx.AsyncClient(base_url=f"http://127.0.0.1:{rs.http_port}") as h:
                    while True:
                        r = await h.get(f"/v1/calls/{call_uuid}", headers=AUTH)
                        if r.status_code == 200 and r.json()["verdict"] in ("bonafide", "spoof"):
                            seen_running[call_uuid] = r.json()
                            return
                        await asyncio.sleep(0.2)

            ids = {k: str(uuid.uuid4()) for k in pcms}
            watchers = [asyncio.create_task(watch(u)) for u in ids.values()]
            await asyncio.gather(*(_call(rs.audiosocket_port, pcms[k], call_uuid=ids[k]) for k in pcms))
            finals = {k: await _wait_final(rs, ids[k]) for k in pcms}
            await asyncio.wait_for(asyncio.gather(*watchers), 5)
            return ids, finals, seen_running

    ids, finals, seen_running = run(main())
    for k in pcms:
        expected = _cli_score(wavs[k])
        got = finals[k]["result"]
        assert {**got, "file": None} == {**expected, "file": None}, k
        assert finals[k]["verdict"] == expected["verdict"] and finals[k]["ended_by"] == "hangup"
        running = seen_running[ids[k]]
        assert running["final"] is False and running["speech_s"] >= 3.0
    assert finals["bonafide"]["verdict"] == "bonafide" and finals["spoof"]["verdict"] == "spoof"
    ev = _events(tmp_path)
    for u in ids.values():
        kinds = [e["event"] for e in ev if e["call"] == u]
        assert kinds[0] == "call_start" and "running" in kinds and kinds[-1] == "final"
        first_running = next(e for e in ev if e["call"] == u and e["event"] == "running")
        assert first_running["duration_s"] <= 5.0  # the clips are mostly speech: by 4-5 s
    assert not [e for e in ev if e["event"] == "error"]


def test_block_model_calls_running_windows_are_final_windows(block_test_model, tmp_path):
    """A block-geometry model through the encoder scheduler, several calls batched: every
    running verdict's window score is the final result's score of that window, and the
    final result equals scoring the same audio offline."""
    det = Detector(block_test_model)
    pcms = [_pcm8k(BONAFIDE, 11.0), _pcm8k(SPOOF, 11.0), _pcm8k(BONAFIDE, 7.0)]

    async def main():
        async with RunningService(_config(tmp_path, running_report_s=0.1), detector=det) as rs:
            ids = [str(uuid.uuid4()) for _ in pcms]
            await asyncio.gather(*(_call(rs.audiosocket_port, p, speed=4.0, call_uuid=u) for p, u in zip(pcms, ids)))
            return ids, [await _wait_final(rs, u) for u in ids]

    ids, finals = run(main())
    ev = _events(tmp_path)
    for u, pcm, final in zip(ids, pcms, finals):
        expected = det.score(pcm, sr=8000).to_dict()
        assert {**final["result"], "file": None} == {**expected, "file": None}
        segs = {(s["start_s"], s["end_s"]): s["llr"] for s in expected["segments"]}
        windows = [e["window"] for e in ev if e["call"] == u and e["event"] == "running"]
        assert windows
        for w in windows:
            assert segs[(w["start_s"], w["end_s"])] == w["llr"]


def test_attached_speaker_gives_fused_decision(detector, tmp_path):
    from voiceguard.store import VoiceprintStore
    from voiceguard.verify import Verifier, enroll

    with VoiceprintStore(tmp_path / "voiceprints.db") as store:
        enroll("reader", [BONAFIDE], store=store)
    pcm = _pcm8k(BONAFIDE, 8.0)

    async def main():
        async with RunningService(_config(tmp_path), detector=detector) as rs:
            call_uuid = str(uuid.uuid4())
            async with httpx.AsyncClient(base_url=f"http://127.0.0.1:{rs.http_port}") as h:
                r = await h.put(f"/v1/calls/{call_uuid}/speaker", json={"speaker": "reader"}, headers=AUTH)
                assert r.status_code == 200 and r.json()["attached"] == "pending"
                r = await h.put(f"/v1/calls/{uuid.uuid4()}/speaker", json={"speaker": "nobody"}, headers=AUTH)
                assert r.status_code == 404
            await _call(rs.audiosocket_port, pcm, realtime=False, call_uuid=call_uuid)
            return await _wait_final(rs, call_uuid)

    final = run(main())
    with VoiceprintStore(tmp_path / "voiceprints.db") as store:
        expected = Verifier(store, detector=detector).verify_mono("reader", pcm / 32768.0, 8000)
    assert final["speaker"] == "reader"
    assert final["result"] == expected.to_dict()
    assert final["decision"] == expected.decision and final["speaker_llr"] == round(expected.speaker_llr, 4)


def test_refuses_calls_beyond_the_limit(detector, tmp_path):
    async def main():
        async with RunningService(_config(tmp_path, max_concurrent_calls=2), detector=detector) as rs:
            held = [AudioSocketClient("127.0.0.1", rs.audiosocket_port) for _ in range(2)]
            for c in held:
                await c.connect()
            await asyncio.sleep(0.1)
            extra = AudioSocketClient("127.0.0.1", rs.audiosocket_port)
            await extra.connect()
            reply = await asyncio.wait_for(extra.reader.read(16), 2)
            await extra.close()
            for c in held:
                await c.stream(_pcm8k(BONAFIDE, 1.0), realtime=False)
                await c.hangup()
            for c in held:
                await _wait_final(rs, str(c.uuid))
            return reply, rs.service.refused

    reply, refused = run(main())
    assert reply == encode_frame(0x00)  # a hangup frame, then the server closed
    assert refused == 1
    assert [e for e in _events(tmp_path) if e["event"] == "refused"]


# --------------------------------------------------------------------------------------
# Faults: each ends only its own call, with a logged error; nothing leaks
# --------------------------------------------------------------------------------------


async def _fault_vanish(port):
    c = AudioSocketClient("127.0.0.1", port)
    await c.connect()
    await c.stream(_pcm8k(BONAFIDE, 2.0), realtime=False)
    sock = c.writer.get_extra_info("socket")
    sock.setsockopt(__import__("socket").SOL_SOCKET, __import__("socket").SO_LINGER, struct.pack("ii", 1, 0))
    c.writer.transport.abort()  # RST: the client vanished
    return "connection lost"


async def _fault_silent(port):
    c = AudioSocketClient("127.0.0.1", port)
    await c.connect()
    await c.stream(_pcm8k(BONAFIDE, 1.0), realtime=False)
    await asyncio.sleep(3.0)  # stops sending without hanging up: idle timeout (2 s)
    await c.close()
    return "no frame for"


async def _fault_bad_uuid(port):
    c = AudioSocketClient("127.0.0.1", port)
    await c.connect(send_uuid=False)
    await c.send(KIND_UUID, b"\x01\x02\x03")
    await asyncio.sleep(0.3)
    await c.close()
    return "16 bytes"


async def _fault_audio_first(port):
    c = AudioSocketClient("127.0.0.1", port)
    await c.connect(send_uuid=False)
    await c.send(KIND_AUDIO, b"\x00\x00" * 160)
    await asyncio.sleep(0.3)
    await c.close()
    return "first frame must be the call UUID"


async def _fault_odd_audio(port):
    c = AudioSocketClient("127.0.0.1", port)
    await c.connect()
    await c.send(KIND_AUDIO, b"\x00" * 321)
    await asyncio.sleep(0.3)
    await c.close()
    return "even count"


async def _fault_oversized(port):
    c = AudioSocketClient("127.0.0.1", port)
    await c.connect()
    await c.send_raw(bytes([KIND_AUDIO]) + struct.pack("!H", 60000))  # announces 60000 bytes
    await asyncio.sleep(0.3)
    await c.close()
    return "above the 8192-byte limit"


async def _fault_unknown_kind(port):
    c = AudioSocketClient("127.0.0.1", port)
    await c.connect()
    await c.stream(_pcm8k(BONAFIDE, 0.5), realtime=False)
    await c.send(0x42, b"hello")
    await asyncio.sleep(0.3)
    await c.close()
    return "unknown frame kind 0x42"


async def _fault_slowloris(port):
    c = AudioSocketClient("127.0.0.1", port)
    await c.connect()
    frame = encode_frame(KIND_AUDIO, b"\x00\x00" * 160)
    try:
        for b in frame[:40]:  # one byte every 0.1 s: the frame never completes within 1 s
            await c.send_raw(bytes([b]))
            await asyncio.sleep(0.1)
    except ConnectionError:
        pass  # the server hung up on us: the point
    await c.close()
    return "not completed within"


async def _fault_rate_change(port):
    c = AudioSocketClient("127.0.0.1", port)
    await c.connect()
    await c.send(KIND_AUDIO, b"\x00\x00" * 160)
    await c.send(0x12, b"\x00\x00" * 320)  # 16 kHz mid-call
    await asyncio.sleep(0.3)
    await c.close()
    return "rate changed"


async def _fault_asterisk_error(port):
    c = AudioSocketClient("127.0.0.1", port)
    await c.connect()
    await c.send(0xFF, b"\x02")
    await asyncio.sleep(0.3)
    await c.close()
    return "frame forwarding error"


FAULTS = [_fault_vanish, _fault_silent, _fault_bad_uuid, _fault_audio_first, _fault_odd_audio, _fault_oversized,
          _fault_unknown_kind, _fault_slowloris, _fault_rate_change, _fault_asterisk_error]


def _open_fds() -> int:
    return len(os.listdir("/proc/self/fd"))


@pytest.mark.skipif(not os.path.isdir("/proc/self/fd"), reason="needs /proc to count file descriptors")
def test_faults_end_only_their_call_and_nothing_leaks(detector, tmp_path):
    good = _pcm8k(BONAFIDE, 6.0)

    async def main():
        async with RunningService(_config(tmp_path), detector=detector) as rs:
            await asyncio.sleep(0.1)
            tasks_before = len(asyncio.all_tasks())
            fds_before = _open_fds()
            # two healthy calls run at 3x real time while every fault happens beside them
            healthy = [asyncio.create_task(_call(rs.audiosocket_port, good, speed=3.0)) for _ in range(2)]
            expected_errors = await asyncio.gather(*(f(rs.audiosocket_port) for f in FAULTS))
            ids = await asyncio.gather(*healthy)
            finals = [await _wait_final(rs, u) for u in ids]
            for _ in range(100):  # let the server finish closing the faulty connections
                if rs.service.active == 0:
                    break
                await asyncio.sleep(0.05)
            await asyncio.sleep(0.2)
            leaks = dict(active=rs.service.active, live_calls=len(rs.service.calls),
                         tasks=len(asyncio.all_tasks()) - tasks_before, fds=_open_fds() - fds_before)
            return expected_errors, finals, leaks

    expected_errors, finals, leaks = run(main())
    assert all(f["verdict"] == "bonafide" and f["error"] is None for f in finals)
    errors = [e["error"] for e in _events(tmp_path) if e["event"] == "error"]
    for needle in expected_errors:
        assert any(needle in e for e in errors), (needle, errors)
    assert leaks == dict(active=0, live_calls=0, tasks=0, fds=0)
    gc.collect()
    assert not [o for o in gc.get_objects() if type(o) is StreamScorer], "a call's audio buffer outlived it"


def test_scoring_error_ends_only_that_call(detector, tmp_path, monkeypatch):
    from voiceguard.service import audiosocket_server

    real_open = audiosocket_server._open_scorer
    doomed = str(uuid.uuid4())

    async def faulty_open(service, call, rate):
        await real_open(service, call, rate)
        if call.uuid == doomed:
            def boom(*args, **kwargs):
                raise RuntimeError("simulated model failure")
            call.scorer.step = boom
            call.scorer.live_update = boom  # Whisper models: called by the encoder scheduler

    monkeypatch.setattr(audiosocket_server, "_open_scorer", faulty_open)
    pcm = _pcm8k(BONAFIDE, 6.0)

    async def main():
        async with RunningService(_config(tmp_path), detector=detector) as rs:
            ok, bad = await asyncio.gather(_call(rs.audiosocket_port, pcm, realtime=False),
                                           # in real time, so the scheduler scores it before the hangup
                                           _call(rs.audiosocket_port, pcm, realtime=True, call_uuid=doomed),
                                           return_exceptions=True)
            return await _wait_final(rs, ok), await _wait_final(rs, doomed)

    ok, bad = run(main())
    assert ok["error"] is None and ok["verdict"] == "bonafide"
    assert "simulated model failure" in bad["error"] and bad["ended_by"] == "error"
    # the audio that did arrive still gets its final verdict
    assert bad["final"] and bad["verdict"] in ("bonafide", "spoof")


# --------------------------------------------------------------------------------------
# Webhooks
# --------------------------------------------------------------------------------------


async def _webhook_receiver(delay: float, received: list):
    async def handle(reader, writer):
        try:
            head = await reader.readuntil(b"\r\n\r\n")
            length = int(next(line.split(b":")[1] for line in head.split(b"\r\n")
                              if line.lower().startswith(b"content-length")))
            body = await reader.readexactly(length)
            await asyncio.sleep(delay)
            received.append(json.loads(body))
            writer.write(b"HTTP/1.1 200 OK\r\nContent-Length: 0\r\nConnection: close\r\n\r\n")
            await writer.drain()
        except (asyncio.IncompleteReadError, ConnectionError):
            pass
        finally:
            writer.close()

    server = await asyncio.start_server(handle, "127.0.0.1", 0)
    return server, server.sockets[0].getsockname()[1]


def test_webhook_delivers_running_and_final(detector, tmp_path):
    received: list = []

    async def main():
        server, port = await _webhook_receiver(0.0, received)
        async with server:
            cfg = _config(tmp_path, webhook_url=f"http://127.0.0.1:{port}/hook")
            async with RunningService(cfg, detector=detector) as rs:
                u = await _call(rs.audiosocket_port, _pcm8k(BONAFIDE, 8.0), realtime=False)
                await _wait_final(rs, u)
                await rs.service.events.drain(5)
            return u

    u = run(main())
    kinds = [e["event"] for e in received if e["call"] == u]
    assert "running" in kinds and "final" in kinds and "call_start" in kinds
    final = next(e for e in received if e["call"] == u and e["event"] == "final")
    assert final["verdict"] == "bonafide" and final["final"] is True and "spoof_probability" in final


@pytest.mark.parametrize("mode", ["down", "slow"])
def test_webhook_down_or_slow_does_not_stall_calls(detector, tmp_path, mode):
    received: list = []

    async def main():
        if mode == "down":
            s = __import__("socket").socket()
            s.bind(("127.0.0.1", 0))
            port = s.getsockname()[1]
            s.close()  # nothing listens there
            server = None
        else:
            server, port = await _webhook_receiver(1.0, received)  # slower than the 0.3 s timeout
        cfg = _config(tmp_path, webhook_url=f"http://127.0.0.1:{port}/hook", webhook_timeout_s=0.3,
                      webhook_retries=1, webhook_backoff_s=0.05)
        async with RunningService(cfg, detector=detector) as rs:
            t0 = asyncio.get_running_loop().time()
            ids = await asyncio.gather(*(_call(rs.audiosocket_port, _pcm8k(BONAFIDE, 6.0), speed=4.0)
                                         for _ in range(2)))
            finals = [await _wait_final(rs, u) for u in ids]
            elapsed = asyncio.get_running_loop().time() - t0
        if server is not None:
            server.close()
            await server.wait_closed()
        return finals, elapsed

    finals, _ = run(main())
    assert all(f["verdict"] == "bonafide" for f in finals)
    failed = [e for e in _events(tmp_path) if e["event"] == "webhook_failed"]
    assert failed and all(e["attempts"] == 2 for e in failed)


# --------------------------------------------------------------------------------------
# HTTP API
# --------------------------------------------------------------------------------------


def _http(tmp_path, detector, fn, **cfg):
    async def main():
        async with RunningService(_config(tmp_path, audiosocket=None, **cfg), detector=detector) as rs:
            # enrollment synthesises vocoder copies for the clone check: seconds per request on a
            # quiet core, far more on a loaded CI machine
            async with httpx.AsyncClient(base_url=f"http://127.0.0.1:{rs.http_port}", timeout=180) as h:
                return await fn(h)

    return run(main())


def test_auth(detector, tmp_path):
    async def fn(h):
        out = {}
        out["health"] = (await h.get("/healthz")).status_code
        for method, path in [("get", "/v1/calls"), ("post", "/v1/score"), ("get", "/v1/speakers"),
                             ("get", f"/v1/calls/{uuid.uuid4()}"), ("get", "/openapi.json"),
                             ("post", "/v1/verify?speaker=x"), ("delete", "/v1/speakers/x")]:
            missing = await h.request(method, path)
            wrong = await h.request(method, path, headers={"Authorization": "Bearer wrong-token-0123456789"})
            basic = await h.request(method, path, headers={"Authorization": f"Basic {TOKEN}"})
            out[path] = (missing.status_code, wrong.status_code, basic.status_code,
                         missing.headers.get("www-authenticate"))
        out["ok"] = (await h.get("/openapi.json", headers=AUTH)).status_code
        out["docs"] = (await h.get("/docs")).status_code  # the page asks for the token (issue 23)
        return out

    out = _http(tmp_path, detector, fn)
    assert out["health"] == 200 and out["ok"] == 200 and out["docs"] == 200
    for path, (missing, wrong, basic, challenge) in ((k, v) for k, v in out.items() if k.startswith("/")):
        assert (missing, wrong, basic) == (401, 401, 401), path
        assert challenge == "Bearer"


def test_refuses_to_listen_exposed_without_token(tmp_path, monkeypatch):
    with pytest.raises(InvalidParameterError, match="without a token"):
        load_config(http="0.0.0.0:8080")
    with pytest.raises(InvalidParameterError, match="without a token"):
        load_config(audiosocket="0.0.0.0:9092", http="127.0.0.1:8080")
    assert load_config(http="127.0.0.1:8080").token is None  # loopback may run open
    monkeypatch.setenv("VOICEGUARD_TOKEN", TOKEN)
    assert load_config(http="0.0.0.0:8080").token == TOKEN
    monkeypatch.setenv("VOICEGUARD_TOKEN", "short")
    with pytest.raises(InvalidParameterError, match="at least 16"):
        load_config(http="0.0.0.0:8080")
    monkeypatch.delenv("VOICEGUARD_TOKEN")
    cfgfile = tmp_path / "serve.toml"
    cfgfile.write_text(f'token = "{TOKEN}"\nhttp = "0.0.0.0:8080"\n[call_speakers]\n"ABC" = "alice"\n')
    cfg = load_config(cfgfile)
    assert cfg.token == TOKEN and cfg.http == ("0.0.0.0", 8080) and cfg.call_speakers == {"abc": "alice"}
    cfgfile.write_text('htp = "127.0.0.1:1"\n')
    with pytest.raises(InvalidParameterError, match="unknown setting"):
        load_config(cfgfile)
    # the command line refuses too, with a message and exit code 2
    from voiceguard.cli import main

    assert main(["serve", "--http", "0.0.0.0:8080"]) == 2


def test_score_endpoint_matches_cli(detector, tmp_path):
    data = SPOOF.read_bytes()

    async def fn(h):
        raw = await h.post("/v1/score", content=data, headers={**AUTH, "Content-Type": "audio/flac"})
        form = await h.post("/v1/score", files={"file": ("clip.flac", data, "application/octet-stream")},
                            headers=AUTH)
        return raw, form

    raw, form = _http(tmp_path, detector, fn)
    expected = _cli_score(SPOOF)
    assert raw.status_code == 200 and form.status_code == 200
    assert raw.json() == {**expected, "file": None}
    assert form.json() == {**expected, "file": "clip.flac"}


def test_g711_uploads(detector, tmp_path):
    from voiceguard.audio.g711 import alaw_encode, mulaw_decode, mulaw_encode

    y, _ = load_mono(BONAFIDE, 8000)
    mu = mulaw_encode(y).astype(np.uint8).tobytes()
    al = alaw_encode(y).astype(np.uint8).tobytes()
    wav = io.BytesIO()
    sf.write(wav, y, 8000, format="WAV", subtype="ULAW")

    async def fn(h):
        return [await h.post("/v1/score", content=mu, headers={**AUTH, "Content-Type": "audio/basic"}),
                await h.post("/v1/score", content=al, headers={**AUTH, "Content-Type": "audio/PCMA;rate=8000"}),
                await h.post("/v1/score", files={"file": ("call.ul", mu, "application/octet-stream")}, headers=AUTH),
                await h.post("/v1/score", content=wav.getvalue(), headers={**AUTH, "Content-Type": "audio/wav"})]

    rs = _http(tmp_path, detector, fn)
    assert [r.status_code for r in rs] == [200, 200, 200, 200]
    expected = detector.score(mulaw_decode(np.frombuffer(mu, np.uint8)), sr=8000).to_dict()
    assert rs[0].json() == expected
    assert rs[2].json() == {**expected, "file": "call.ul"}
    assert all(r.json()["sample_rate"] == 8000 and r.json()["verdict"] == "bonafide" for r in rs)


def test_upload_limits_and_errors(detector, tmp_path):
    wav = io.BytesIO()
    sf.write(wav, np.zeros(8000 * 20, np.int16), 8000, format="WAV", subtype="PCM_16")  # 20 s, 320 KB

    async def chunked():
        for _ in range(20):
            yield b"\x00" * 20000

    async def fn(h):
        return {
            "too_big": await h.post("/v1/score", content=b"\x00" * 300_001, headers={**AUTH, "Content-Type": "audio/wav"}),
            "too_big_chunked": await h.post("/v1/score", content=chunked(), headers={**AUTH, "Content-Type": "audio/wav"}),
            "media": await h.post("/v1/score", content=b"hello", headers={**AUTH, "Content-Type": "text/plain"}),
            "garbage": await h.post("/v1/score", content=b"RIFF....garbage", headers={**AUTH, "Content-Type": "audio/wav"}),
            "empty": await h.post("/v1/score", content=b"", headers={**AUTH, "Content-Type": "audio/wav"}),
            "no_file": await h.post("/v1/score", data={"x": "1"}, files={"other": ("a", b"1")}, headers=AUTH),
            "long": await h.post("/v1/score", content=wav.getvalue()[:290_000],
                                 headers={**AUTH, "Content-Type": "audio/wav"}),
            "silence": await h.post("/v1/score", content=_short_wav(), headers={**AUTH, "Content-Type": "audio/wav"}),
            "unknown_call": await h.get(f"/v1/calls/{uuid.uuid4()}", headers=AUTH),
            "bad_uuid": await h.get("/v1/calls/not-a-uuid", headers=AUTH),
        }

    r = _http(tmp_path, detector, fn, max_upload_bytes=300_000, max_upload_duration_s=10.0)
    status = {k: v.status_code for k, v in r.items()}
    assert status == {"too_big": 413, "too_big_chunked": 413, "media": 415, "garbage": 422, "empty": 422,
                      "no_file": 422, "long": 413, "silence": 200, "unknown_call": 404, "bad_uuid": 422}
    assert "limit" in r["too_big"].json()["error"] and "unsupported media type" in r["media"].json()["error"]
    assert r["silence"].json()["verdict"] == "no_speech"


def _short_wav() -> bytes:
    b = io.BytesIO()
    sf.write(b, np.zeros(16000, np.int16), 16000, format="WAV", subtype="PCM_16")
    return b.getvalue()


def test_slow_upload_gets_408(detector, tmp_path):
    async def main():
        cfg = _config(tmp_path, audiosocket=None, body_timeout_s=0.5)
        async with RunningService(cfg, detector=detector) as rs:
            reader, writer = await asyncio.open_connection("127.0.0.1", rs.http_port)
            writer.write(b"POST /v1/score HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer " + TOKEN.encode() +
                         b"\r\nContent-Type: audio/wav\r\nContent-Length: 1000\r\n\r\n" + b"\x00" * 10)
            await writer.drain()
            reply = await asyncio.wait_for(reader.read(200), 5)
            writer.close()
            return reply

    assert run(main()).startswith(b"HTTP/1.1 408")


def test_enroll_verify_and_speakers_endpoints(detector, tmp_path):
    from voiceguard.store import VoiceprintStore
    from voiceguard.verify import Verifier

    clip = BONAFIDE.read_bytes()

    async def fn(h):
        out = {}
        out["enroll"] = await h.post("/v1/speakers/reader", content=clip, headers={**AUTH, "Content-Type": "audio/flac"})
        out["again"] = await h.post("/v1/speakers/reader", content=clip, headers={**AUTH, "Content-Type": "audio/flac"})
        out["list"] = await h.get("/v1/speakers", headers=AUTH)
        out["info"] = await h.get("/v1/speakers/reader", headers=AUTH)
        out["verify"] = await h.post("/v1/verify?speaker=reader", files={"file": ("s.flac", SPOOF.read_bytes())},
                                     headers=AUTH)
        out["unknown"] = await h.post("/v1/verify?speaker=nobody", content=clip,
                                      headers={**AUTH, "Content-Type": "audio/flac"})
        out["short"] = await h.post("/v1/speakers/tiny", content=_short_wav(),
                                    headers={**AUTH, "Content-Type": "audio/wav"})
        return out

    r = _http(tmp_path, detector, fn)
    status = {k: v.status_code for k, v in r.items()}
    assert status == {"enroll": 200, "again": 409, "list": 200, "info": 200, "verify": 200, "unknown": 404,
                      "short": 422}
    assert [s["name"] for s in r["list"].json()] == ["reader"]
    with VoiceprintStore(tmp_path / "voiceprints.db") as store:
        expected = Verifier(store, detector=detector).verify("reader", SPOOF)
    got = r["verify"].json()
    assert {**got, "file": None} == {**expected.to_dict(), "file": None}
    assert got["decision"] == "reject_spoof"


def test_shutdown_during_a_call_reports_it(detector, tmp_path):
    async def main():
        rs = await RunningService(_config(tmp_path), detector=detector).start()
        c = AudioSocketClient("127.0.0.1", rs.audiosocket_port)
        await c.connect()
        await c.stream(_pcm8k(BONAFIDE, 5.0), realtime=False)
        await asyncio.sleep(0.3)
        await rs.stop(grace_s=0.2)
        await c.close()
        return str(c.uuid), rs.service

    u, service = run(main())
    final = [e for e in _events(tmp_path) if e["event"] == "final" and e["call"] == u]
    assert len(final) == 1 and final[0]["ended_by"] == "shutdown" and final[0]["verdict"] == "bonafide"
    assert service.active == 0 and not service.handlers
