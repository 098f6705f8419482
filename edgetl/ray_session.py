"""Joining or starting Ray for edgetl (`predict --ray`, `train --features-on-ray`): a clear error when Ray is
not installed, and an unreachable cluster address fails in seconds instead of in Ray's long retry loop."""
from __future__ import annotations

import os
import socket

from edgetl.runtime.errors import UserError

CONNECT_TIMEOUT_S = 5.0
LOCAL = "local"  # --ray / --features-on-ray given alone: a Ray started on this machine for the command


def import_ray(option: str = "--ray"):
    try:
        import ray
        import ray.data  # noqa: F401
    except ImportError:
        raise UserError(f"{option}: needs Ray Data: pip install 'edgetl[scale]'") from None
    return ray


def check_reachable(address: str, option: str = "--ray") -> None:
    """A cluster address that answers nothing fails here in seconds instead of in Ray's long retry loop."""
    if address in (LOCAL, "auto"):
        return
    host_port = address.split("://", 1)[-1]
    host, _, port = host_port.rpartition(":")
    if not host or not port.isdigit():
        raise UserError(f"{option} {address}: expected HOST:PORT (e.g. 10.0.0.5:6379), ray://HOST:10001, auto, "
                        f"or {option} alone for a local Ray")
    try:
        socket.create_connection((host, int(port)), timeout=CONNECT_TIMEOUT_S).close()
    except OSError as exc:
        raise UserError(f"{option} {address}: cannot reach it ({exc.strerror or exc}); is the Ray head running "
                        "(`ray start --head`) and the port open?") from None


def start(ray, address: str, option: str = "--ray") -> bool:
    """Connect to (or start) Ray; True when this call started it (and must shut it down)."""
    if ray.is_initialized():
        return False
    check_reachable(address, option)
    quiet = {"include_dashboard": False, "log_to_driver": False, "configure_logging": False}
    try:
        if address == LOCAL:
            ray.init(num_cpus=os.cpu_count(), **quiet)
        else:
            ray.init(address=address, **quiet)
    except (ConnectionError, RuntimeError) as exc:
        raise UserError(f"{option} {address}: could not join the cluster ({str(exc).splitlines()[0][:200]})") from None
    import logging

    logging.getLogger("ray.data").setLevel(logging.WARNING)  # edgetl shows its own progress
    return True
