"""Group commit: what is submitted while a write is in flight goes in the next one, and
each submitter gets its own result or its own error."""

from __future__ import annotations

import asyncio

import pytest

from routing_core.store.group_commit import IDLE_SECONDS, GroupCommit


class Recorder:
    def __init__(self) -> None:
        self.groups: list[list[int]] = []
        self.gate = asyncio.Event()

    async def flush(self, items: list[int]) -> list[int | BaseException]:
        self.groups.append(items)
        await self.gate.wait()
        return [ValueError(f"odd {item}") if item % 2 else item * 10 for item in items]


async def test_an_idle_writer_writes_at_once_and_a_busy_one_groups() -> None:
    recorder = Recorder()
    grouped: GroupCommit[int, int] = GroupCommit(recorder.flush)
    first = asyncio.ensure_future(grouped.submit(2))
    while not recorder.groups:  # the first write is in flight, alone
        await asyncio.sleep(0)
    later = [asyncio.ensure_future(grouped.submit(item)) for item in (4, 5, 6)]
    await asyncio.sleep(0)
    recorder.gate.set()
    assert await first == 20
    assert await later[0] == 40
    with pytest.raises(ValueError, match="odd 5"):
        await later[1]
    assert await later[2] == 60
    assert recorder.groups == [[2], [4, 5, 6]]


async def test_a_failed_command_fails_each_of_its_items_and_the_writer_goes_on() -> None:
    calls: list[list[str]] = []

    async def flush(items: list[str]) -> list[str | BaseException]:
        calls.append(items)
        if "boom" in items:
            raise ConnectionError("lost the server")
        return items

    grouped: GroupCommit[str, str] = GroupCommit(flush)
    with pytest.raises(ConnectionError):
        await grouped.submit("boom")
    assert await grouped.submit("fine") == "fine"
    assert calls == [["boom"], ["fine"]]


async def test_groups_are_bounded() -> None:
    recorder = Recorder()
    recorder.gate.set()
    grouped: GroupCommit[int, int] = GroupCommit(recorder.flush, max_group=2)
    results = await asyncio.gather(*(grouped.submit(item) for item in (2, 4, 6, 8, 10)))
    assert results == [20, 40, 60, 80, 100]
    assert [len(group) for group in recorder.groups] == [2, 2, 1]


async def test_what_is_submitted_in_the_same_turn_of_the_loop_goes_in_one_write() -> None:
    """The writer lets the event loop turn once before it writes: submitters woken at the
    same moment share the write instead of the first going alone."""
    recorder = Recorder()
    recorder.gate.set()
    grouped: GroupCommit[int, int] = GroupCommit(recorder.flush)

    async def woken_then_submits(item: int) -> int:
        await asyncio.sleep(0)  # woken by the same event as the others, one turn later
        return await grouped.submit(item)

    first = asyncio.ensure_future(grouped.submit(2))
    others = [asyncio.ensure_future(woken_then_submits(item)) for item in (4, 6)]
    assert [await first, *[await other for other in others]] == [20, 40, 60]
    assert recorder.groups == [[2, 4, 6]]


async def test_a_busy_writer_waits_for_the_steps_in_flight_an_idle_one_does_not() -> None:
    """After a command of several items, the next one waits a moment for the submitters
    still on their way (steps a few turns of the loop from their write) instead of going
    with the first of them alone; a writer that sent one item at a time never waits."""
    recorder = Recorder()
    recorder.gate.set()
    grouped: GroupCommit[int, int] = GroupCommit(recorder.flush, linger_seconds=30.0)
    assert await asyncio.wait_for(grouped.submit(2), 5) == 20  # idle: at once
    assert await asyncio.wait_for(grouped.submit(4), 5) == 40
    assert recorder.groups == [[2], [4]]

    recorder.groups.clear()
    lingering: GroupCommit[int, int] = GroupCommit(recorder.flush, linger_seconds=0.2)
    assert await asyncio.gather(*(lingering.submit(item) for item in (2, 4, 6))) == [20, 40, 60]

    async def submits_a_few_turns_later(item: int, turns: int) -> int:
        for _ in range(turns):
            await asyncio.sleep(0)
        return await lingering.submit(item)

    late = await asyncio.gather(*(submits_a_few_turns_later(item, turns)
                                  for item, turns in ((8, 0), (10, 5), (12, 20))))
    assert late == [80, 100, 120]
    assert recorder.groups == [[2, 4, 6], [8, 10, 12]]


async def test_a_writer_idle_for_a_while_writes_a_lone_item_at_once() -> None:
    recorder = Recorder()
    recorder.gate.set()
    grouped: GroupCommit[int, int] = GroupCommit(recorder.flush, linger_seconds=30.0)
    assert await asyncio.gather(*(grouped.submit(item) for item in (2, 4))) == [20, 40]
    await asyncio.sleep(IDLE_SECONDS * 1.5)
    assert await asyncio.wait_for(grouped.submit(6), 5) == 60
    assert recorder.groups == [[2, 4], [6]]
