"""Provenance: prove that a recording is an untouched original, or show where it was altered.

* :mod:`~voiceguard.provenance.fingerprint`: the robust acoustic fingerprint;
* :mod:`~voiceguard.provenance.align`: look-up offsets and frame-by-frame alignment;
* :mod:`~voiceguard.provenance.registry`: registered originals in the voiceprint database,
  signed (:mod:`~voiceguard.provenance.signing`), exports and their verification;
* :mod:`~voiceguard.provenance.check`: :func:`register` and :func:`check`;
* :mod:`~voiceguard.provenance.c2pa_manifest`: C2PA manifests (optional ``c2pa-python``);
* :mod:`~voiceguard.provenance.cli`: the ``register``, ``provenance`` and ``registry`` commands.

Example
-------
>>> from voiceguard.provenance import Registry, register, check
>>> with Registry() as reg:                                  # doctest: +SKIP
...     register("interview.wav", reg, note="recorded 2024-05-01")
...     res = check("copy_from_social_media.mp3", reg)
>>> res.status, [(s["kind"], s["start_s"], s["end_s"]) for s in res.segments]  # doctest: +SKIP
('altered', [('replaced', 41.2, 44.3)])
"""

from voiceguard.provenance.check import ProvenanceResult, RegisterResult, check, register
from voiceguard.provenance.fingerprint import Fingerprint, fingerprint
from voiceguard.provenance.registry import Registry, verify_export

__all__ = ["Registry", "register", "check", "ProvenanceResult", "RegisterResult", "Fingerprint", "fingerprint",
           "verify_export"]
