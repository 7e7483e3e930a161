"""The client of a grading kernel: ready as soon as the kernel has answered, not 0.2 s later.

jupyter_client's ``wait_for_ready`` sends ``kernel_info`` until a reply comes and IOPub carries a
message, then reads IOPub until it has been silent for 0.2 s: every kernel start waits 0.2 s
for nothing. Here the wait ends at the kernel's ``idle`` status for that ``kernel_info`` request,
the last message the kernel publishes for it: IOPub is connected and what the kernel published
while it started has been read. A request whose messages were lost (IOPub subscribes a little
after the kernel starts publishing) is sent again, as jupyter_client does.
"""

from __future__ import annotations

import time
from queue import Empty

from jupyter_client.asynchronous import AsyncKernelClient

#: Seconds to wait for one kernel_info request's reply, then for its idle status on IOPub (which
#: follows the reply within milliseconds once IOPub is connected: if it does not, ask again).
REPLY_WAIT, IDLE_WAIT = 1.0, 0.05


class GradingKernelClient(AsyncKernelClient):
    """``AsyncKernelClient`` whose ``wait_for_ready`` ends at the kernel's idle status."""

    async def _async_wait_for_ready(self, timeout: float | None = None) -> None:
        deadline = time.monotonic() + (float("inf") if timeout is None else timeout)
        asked: set[str] = set()
        while True:
            asked.add(self.kernel_info())
            reply = await self._next(self.shell_channel, REPLY_WAIT, lambda m: m["msg_type"] == "kernel_info_reply")
            if reply is not None and await self._next(self.iopub_channel, IDLE_WAIT, lambda m: (
                    m["msg_type"] == "status" and m["content"].get("execution_state") == "idle"
                    and m["parent_header"].get("msg_id") in asked)):
                self._handle_kernel_info_reply(reply)
                return
            if not await self._async_is_alive():
                raise RuntimeError("Kernel died before replying to kernel_info")
            if time.monotonic() > deadline:
                raise RuntimeError(f"Kernel didn't respond in {timeout:.0f} seconds")

    wait_for_ready = _async_wait_for_ready

    @staticmethod
    async def _next(channel, seconds: float, wanted) -> dict | None:
        """The first message on ``channel`` for which ``wanted(msg)`` holds within ``seconds``
        (the ones before it are dropped), or None."""
        end = time.monotonic() + seconds
        while (left := end - time.monotonic()) > 0:
            try:
                msg = await channel.get_msg(timeout=left)
            except Empty:
                return None
            if wanted(msg):
                return msg
        return None
