"""Exit codes of the ``voiceguard`` command line, defined once.

The text :data:`HELP` is printed by ``voiceguard --help`` and by the help of every command
that judges or registers recordings (``score``, ``verify``, ``report``, ``provenance``,
``batch``, ``register``, ``registry``); the README quotes it verbatim
(a test checks that it does). A finding wins over errors: a batch in which one file is a
spoof and another cannot be read exits 1, so a script that checks for 1 never misses the
spoof.
"""

from __future__ import annotations

__all__ = ["OK", "FOUND", "ERROR", "UNSCREENED", "INTERRUPTED", "BROKEN_PIPE", "HELP", "status"]

#: Every recording is bona fide or silent (``verify``: every one accepted).
OK = 0
#: At least one recording is judged spoof (``verify``: not accepted), whatever else happened.
FOUND = 1
#: Nothing was found but something went wrong: an unreadable file, an unknown speaker, a
#: wrong command line, a missing extra.
ERROR = 2
#: Nothing was found and nothing failed, but a recording holds sound in which no speech was
#: found (``content: non_speech``): it was not screened, so it is not a pass.
UNSCREENED = 3
#: Stopped with Ctrl-C.
INTERRUPTED = 130
#: The output was closed early (``voiceguard score ... | head``): the run stopped, its
#: results are incomplete, so it claims neither a finding nor a clean batch (128 + SIGPIPE,
#: what a shell reports for a process the closed pipe killed).
BROKEN_PIPE = 141

HELP = """\
exit codes:
  0    every recording is bona fide or silent (verify: every recording
       accepted; on telephone audio the per-speaker clone check does not
       run, clone_check is 'telephone', and an accept rests on the
       voiceprint and the detector alone; provenance: every recording an
       unaltered registered one)
  1    at least one recording is judged spoof (verify: not accepted, which
       includes no_speech; provenance: altered or unregistered), even if
       other recordings could not be read
  2    no recording was judged spoof, but at least one could not be scored;
       or a usage error (wrong option, unknown speaker, missing extra)
  3    nothing judged spoof and nothing failed, but at least one recording
       holds sound without speech the detector could find (no_speech with
       content non_speech: noise, music, a tone, or speech too distorted to
       detect). It was not screened: do not treat it as a pass; have a
       person listen to it
  130  interrupted (Ctrl-C)
  141  the output was closed early (e.g. piped into head): results incomplete
  batch counts the recordings an earlier run scored with their stored
  verdicts. registry verify: 0 the export verifies, 1 it does not.
  Commands that judge nothing (train, evaluate, enroll, speakers, serve,
  features, register, registry) exit 0 on success and 2 on an error."""


def status(n_found: int, n_errors: int, n_unscreened: int = 0) -> int:
    """Exit code of a batch: :data:`FOUND` if anything was found, else :data:`ERROR` if
    anything failed, else :data:`UNSCREENED` if a recording held sound but no speech, else
    :data:`OK`.

    Parameters
    ----------
    n_found : int
        Recordings judged spoof (``verify``: not accepted).
    n_errors : int
        Recordings that could not be scored.
    n_unscreened : int
        Recordings judged ``no_speech`` whose ``content`` is ``non_speech``.

    Returns
    -------
    int
    """
    if n_found:
        return FOUND
    if n_errors:
        return ERROR
    return UNSCREENED if n_unscreened else OK
