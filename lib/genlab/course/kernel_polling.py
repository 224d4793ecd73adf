"""Poll the kernel's sockets in short slices, so a missed ZeroMQ wake-up cannot hang a run.

Why this exists: nbclient (used by papermill and by nbgrader's autograde) waits for a cell's
``execute_reply`` with one long ``poll`` on the shell socket. When a cell captures output in
an ``ipywidgets.Output`` widget (``interact`` does, and so does 06's cell explorer), nbclient
answers with ``comm_msg`` updates sent on that *same* shell socket from another task. ZeroMQ's
socket descriptor is edge-triggered, and now and then the wake-up for the arriving reply is
lost: the kernel is idle, the reply sits in the socket, and the client waits forever. This is
nbclient issue #312 (open); papermill #723 and nbconvert #2029 report the same symptom.

Measured here: a notebook of 150 small ``Output``-widget cells (the one in
``tests/test_kernel_polling.py``) hung in 11 of 14 plain papermill runs; with ``install()``
it finishes every time. Each ``poll`` call re-checks the socket's events first, so polling in
slices of ``SLICE`` seconds turns a lost wake-up into a delay of at most one slice.

``install()`` is called by ``genlab.course.execute`` (papermill) and by ``nbgrader_config.py``
(autograde, and the Validate button). It keeps every timeout the caller asked for.
"""
from __future__ import annotations

import time
from queue import Empty
from typing import Any

from jupyter_client.channels import AsyncZMQSocketChannel

SLICE = 0.1   # seconds; an idle wait costs one cheap poll per slice

_original_get_msg = AsyncZMQSocketChannel.get_msg


async def get_msg(self: AsyncZMQSocketChannel, timeout: float | None = None) -> dict[str, Any]:
    """``AsyncZMQSocketChannel.get_msg`` with the same contract, polling in ``SLICE`` steps.

    Returns the next message, or raises ``queue.Empty`` once ``timeout`` seconds have passed
    (``None``: wait for ever, as the original does).
    """
    deadline = None if timeout is None else time.monotonic() + timeout
    while True:
        left = SLICE if deadline is None else max(0.0, min(SLICE, deadline - time.monotonic()))
        try:
            return await _original_get_msg(self, left)
        except Empty:
            if deadline is not None and time.monotonic() >= deadline:
                raise


def install() -> None:
    """Make every async kernel channel in this process poll in slices (idempotent)."""
    AsyncZMQSocketChannel.get_msg = get_msg


def installed() -> bool:
    return AsyncZMQSocketChannel.get_msg is get_msg
