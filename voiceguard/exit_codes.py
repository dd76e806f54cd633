"""Exit codes of the ``voiceguard`` command line, defined once.

The text :data:`HELP` is printed by ``voiceguard --help`` and by the help of every command
that judges recordings (``score``, ``verify``, ``report``); the README quotes it verbatim
(a test checks that it does). A finding wins over errors: a batch in which one file is a
spoof and another cannot be read exits 1, so a script that checks for 1 never misses the
spoof.
"""

from __future__ import annotations

__all__ = ["OK", "FOUND", "ERROR", "INTERRUPTED", "BROKEN_PIPE", "HELP", "status"]

#: Every recording is bona fide or holds no speech (``verify``: every one accepted).
OK = 0
#: At least one recording is judged spoof (``verify``: not accepted), whatever else happened.
FOUND = 1
#: Nothing was found but something went wrong: an unreadable file, an unknown speaker, a
#: wrong command line, a missing extra.
ERROR = 2
#: Stopped with Ctrl-C.
INTERRUPTED = 130
#: The output was closed early (``voiceguard score ... | head``): the run stopped, its
#: results are incomplete, so it claims neither a finding nor a clean batch (128 + SIGPIPE,
#: what a shell reports for a process the closed pipe killed).
BROKEN_PIPE = 141

HELP = """\
exit codes:
  0    every recording is bona fide or holds no speech (verify: every
       recording accepted; on telephone audio the per-speaker clone check
       does not run, clone_check is 'telephone', and an accept rests on
       the voiceprint and the detector alone)
  1    at least one recording is judged spoof (verify: not accepted, which
       includes no_speech), even if other recordings could not be read
  2    no recording was judged spoof, but at least one could not be scored;
       or a usage error (wrong option, unknown speaker, missing extra)
  130  interrupted (Ctrl-C)
  141  the output was closed early (e.g. piped into head): results incomplete
  Commands that judge nothing (train, evaluate, enroll, speakers, serve,
  features) exit 0 on success and 2 on an error."""


def status(n_found: int, n_errors: int) -> int:
    """Exit code of a batch: :data:`FOUND` if anything was found, else :data:`ERROR` if
    anything failed, else :data:`OK`.

    Parameters
    ----------
    n_found : int
        Recordings judged spoof (``verify``: not accepted).
    n_errors : int
        Recordings that could not be scored.

    Returns
    -------
    int
    """
    if n_found:
        return FOUND
    return ERROR if n_errors else OK
