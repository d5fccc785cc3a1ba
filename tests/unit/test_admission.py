"""Admission: past its pace a process lets webhooks in one per finished conversation."""

from __future__ import annotations

import asyncio

from routing_core.engine.admission import Admission


class Progress:
    """Conversations in progress, as the runtime counts its tasks."""

    def __init__(self, count: int):
        self.count = count

    def __call__(self) -> int:
        return self.count


async def test_below_its_pace_a_webhook_goes_in_at_once():
    admission = Admission(2, Progress(1))
    await asyncio.wait_for(admission.enter(hold_seconds=5), 0.1)


async def test_past_its_pace_each_finished_conversation_lets_the_first_waiting_in():
    progress = Progress(2)
    admission = Admission(2, progress)
    order: list[int] = []

    async def webhook(number: int) -> None:
        await admission.enter(hold_seconds=5)
        order.append(number)

    waiting = [asyncio.create_task(webhook(number)) for number in range(3)]
    await asyncio.sleep(0.01)
    assert (order, admission.waiting) == ([], 3)
    admission.finished()
    await asyncio.sleep(0.01)
    assert order == [0]
    progress.count = 0  # the process caught up: still, those that came first go first
    late = asyncio.create_task(webhook(3))
    await asyncio.sleep(0.01)
    assert order == [0] and admission.waiting == 3
    for _ in range(3):
        admission.finished()
    await asyncio.gather(*waiting, late)
    assert order == [0, 1, 2, 3] and admission.waiting == 0


async def test_the_wait_is_bounded_and_a_client_gone_gives_its_place_up():
    admission = Admission(1, Progress(5))
    started = asyncio.get_running_loop().time()
    await admission.enter(hold_seconds=0.05)
    assert asyncio.get_running_loop().time() - started >= 0.05 and admission.waiting == 0
    gone = asyncio.create_task(admission.enter(hold_seconds=5))
    await asyncio.sleep(0.01)
    gone.cancel()
    await asyncio.sleep(0.01)
    assert admission.waiting == 0
    admission.finished()  # nobody waits: nothing to do
