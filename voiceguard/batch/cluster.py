"""Starting or joining the Ray cluster that a batch run uses."""

from __future__ import annotations

import logging
import os
import re
import shutil
import tempfile
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from typing import Any

from voiceguard._version import install_hint
from voiceguard.audio.quiet import c_stderr_filtered
from voiceguard.errors import InvalidParameterError, VoiceguardError
from voiceguard.threads import available_cpus

__all__ = ["ray_session", "require_ray", "DEFAULT_OBJECT_STORE_BYTES"]

#: Object store of a local cluster. Only file names and short status rows travel through
#: it (workers read the audio themselves), so a small store is plenty.
DEFAULT_OBJECT_STORE_BYTES = 256 * 1024**2

_NICENESS = "RAY_worker_niceness"

#: The line Ray's C++ core logs for every Ray Data actor pool: not a problem of this run.
RAY_NOISE = re.compile(rb"^\[[^\]]*\] core_worker\.cc:\d+: Actor with class name: .* has constructor arguments "
                       rb"in the object store and max_restarts > 0")


def require_ray():
    """Import ``ray`` and ``ray.data`` or say how to install them."""
    try:
        import ray
        import ray.data
    except ImportError as exc:
        raise VoiceguardError(
            f"batch scoring needs Ray Data ({exc.name} is missing): {install_hint('batch')}"
        ) from exc
    return ray


def _quiet_ray() -> None:
    """Errors only from Ray's Python loggers (set before ``ray.init``)."""
    for name in ("ray", "ray.data", "ray.train", "ray.tune"):
        logging.getLogger(name).setLevel(logging.ERROR)


@contextmanager
def ray_session(
    *,
    address: str | None = None,
    local: int | None = None,
    object_store_memory: int | None = None,
    runtime_env: Mapping[str, Any] | None = None,
    quiet: bool = False,
) -> Iterator[Any]:
    """Use the Ray cluster at ``address``, or start a local one with ``local`` CPUs.

    Parameters
    ----------
    address : str, optional
        ``ray://head:10001`` (Ray Client), ``auto`` (the cluster this machine belongs to)
        or ``host:6379``. Default: ``$RAY_ADDRESS`` when set (as in a KubeRay ``RayJob``),
        else a local cluster.
    local : int, optional
        CPUs of a local single-machine cluster (default: the CPUs this process may use,
        :func:`voiceguard.threads.available_cpus`: affinity and cgroup quota). Its
        workers keep this process's niceness (Ray would renice them by 15).
    object_store_memory : int, optional
        Bytes of the local cluster's object store (default
        :data:`DEFAULT_OBJECT_STORE_BYTES`).
    runtime_env : mapping, optional
        Ray runtime environment for the workers (``{"pip": ["/opt/voiceguard[batch]"]}``: a
        path to this project on the workers).
    quiet : bool
        Keep Ray's own chatter (its INFO and WARNING log lines, its C++ core's notes) off
        standard error: errors only (``batch --no-progress``).

    Yields
    ------
    module
        ``ray``. A cluster this process was already connected to is used as is and left
        running; one started or joined here is shut down on exit.
    """
    ray = require_ray()
    if address is not None and local is not None:
        raise InvalidParameterError("give either a Ray cluster address or --local N, not both")
    if local is not None and local < 1:
        raise InvalidParameterError(f"--local needs at least 1 CPU, got {local}")
    if quiet:
        _quiet_ray()
    if ray.is_initialized():
        yield ray
        return
    if address is None and local is None and os.environ.get("RAY_ADDRESS"):
        address = os.environ["RAY_ADDRESS"]  # set on the head node of a RayJob / by `ray start`
    kwargs: dict[str, Any] = {"runtime_env": dict(runtime_env)} if runtime_env else {}
    if quiet:  # errors only; nothing forwarded from the raylet and workers (failures come back as rows)
        kwargs.update(logging_level=logging.ERROR, log_to_driver=False)
    tmp = None
    if address is not None:
        try:
            ray.init(address=address, **kwargs)
        except (ConnectionError, RuntimeError, ValueError) as exc:
            raise VoiceguardError(f"cannot connect to the Ray cluster at {address} ({exc})") from exc
    else:
        # a private session folder: several runs (or users) on one machine do not meet
        tmp = tempfile.mkdtemp(prefix="vg-ray-")
        # Ray renices its workers by 15; a local batch runs at the priority it was started
        # with instead (`nice -n 10 voiceguard batch ...` to yield), unless RAY_worker_niceness is set
        nice_set = _NICENESS not in os.environ
        if nice_set:
            os.environ[_NICENESS] = "0"
        try:
            ray.init(num_cpus=local or available_cpus(), include_dashboard=False,
                     object_store_memory=object_store_memory or DEFAULT_OBJECT_STORE_BYTES,
                     _temp_dir=tmp, **kwargs)
        finally:
            if nice_set:
                del os.environ[_NICENESS]
    try:
        # quiet: the driver's C++ core logs one harmless error line per actor pool (its
        # constructor arguments sit in the object store): kept off stderr, the rest kept
        with c_stderr_filtered(quiet, RAY_NOISE):
            yield ray
    finally:
        ray.shutdown()
        if tmp is not None:
            shutil.rmtree(tmp, ignore_errors=True)
