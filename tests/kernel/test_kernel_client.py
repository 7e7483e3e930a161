"""A grading kernel's client is ready once the kernel has answered kernel_info and IOPub has
carried the end of that request (autograde/kernel/client.py); lost messages are asked again."""

from __future__ import annotations

import asyncio
from queue import Empty

import pytest

from autograde.kernel import client as kernel_client
from autograde.kernel.client import GradingKernelClient


class Channel:
    """A channel whose ``get_msg`` hands out queued messages, then raises Empty."""

    def __init__(self):
        self.queue: list[dict] = []

    async def get_msg(self, timeout=None):
        if not self.queue:
            raise Empty
        return self.queue.pop(0)


def message(kind: str, parent: str, state: str | None = None) -> dict:
    return {"msg_type": kind, "parent_header": {"msg_id": parent},
            "content": {"execution_state": state} if state else {}}


class FakeKernel:
    """Answers kernel_info on shell; IOPub carries busy and idle unless ``lose`` requests' worth
    of them are lost first."""

    def __init__(self, lose: int = 0, alive: bool = True, answer: bool = True):
        self.shell, self.iopub = Channel(), Channel()
        self.asked: list[str] = []
        self.lose, self.alive, self.answer = lose, alive, answer

    def client(self) -> GradingKernelClient:
        fake = self

        class Client(GradingKernelClient):  # no sockets: the channels are fakes
            shell_channel = property(lambda self: fake.shell)
            iopub_channel = property(lambda self: fake.iopub)

        kc = Client.__new__(Client)

        def kernel_info():
            msg_id = f"info-{len(fake.asked)}"
            fake.asked.append(msg_id)
            if fake.answer:
                fake.shell.queue.append(message("kernel_info_reply", msg_id))
                if len(fake.asked) > fake.lose:
                    fake.iopub.queue += [message("status", msg_id, "busy"), message("status", msg_id, "idle")]
            return msg_id

        async def alive():
            return fake.alive

        kc.__dict__.update(kernel_info=kernel_info, _async_is_alive=alive,
                           _handle_kernel_info_reply=lambda msg: fake.__dict__.setdefault("handled", msg))
        return kc


@pytest.fixture(autouse=True)
def short_waits(monkeypatch):
    monkeypatch.setattr(kernel_client, "REPLY_WAIT", 0.01)
    monkeypatch.setattr(kernel_client, "IDLE_WAIT", 0.01)


def test_ready_at_the_idle_status_of_the_first_answered_request_with_iopub_read_to_it():
    kernel = FakeKernel()
    kernel.iopub.queue.append(message("status", "", "starting"))  # published while the kernel started
    asyncio.run(kernel.client().wait_for_ready(timeout=5))
    assert kernel.asked == ["info-0"]
    assert kernel.handled["parent_header"]["msg_id"] == "info-0"
    assert kernel.iopub.queue == [], "what the kernel published before it was ready is read"


def test_a_request_whose_iopub_messages_were_lost_is_sent_again():
    kernel = FakeKernel(lose=2)
    asyncio.run(kernel.client().wait_for_ready(timeout=5))
    assert kernel.asked == ["info-0", "info-1", "info-2"]


def test_a_kernel_that_died_unready_is_reported_and_one_that_never_answers_times_out():
    with pytest.raises(RuntimeError, match="died"):
        asyncio.run(FakeKernel(answer=False, alive=False).client().wait_for_ready(timeout=5))
    with pytest.raises(RuntimeError, match="didn't respond in 0 seconds"):
        asyncio.run(FakeKernel(answer=False).client().wait_for_ready(timeout=0.05))
