"""Primary failovers under traffic on a three-member replica set, two service processes:
nothing lost, at most one ambiguous re-send per failover (flagged), webhooks answer 503
with Retry-After while there is no primary, the web chat relay resumes, a production
scheduled inside a failover fires once (tests/faults/failover.py)."""

from __future__ import annotations

import pytest

from tests.faults.failover import run

pytestmark = pytest.mark.slow
FAILOVERS = ["step_down", "step_down", "kill", "step_down"]


async def test_failovers_under_traffic_lose_nothing_and_send_twice_at_most_once_each(
    tmp_path,
) -> None:
    report = await run(tmp_path, chats=6, kinds=FAILOVERS, pause=1.5)
    print("\n".join(report.lines()))
    assert report.failovers == FAILOVERS
    assert report.updates > 30, "too little traffic to prove anything"
    assert report.lost == [], "accepted updates never answered"
    assert len(report.twice) <= len(FAILOVERS) and report.twice <= set(report.flagged), report
    assert report.statuses[500] == 0 and set(report.statuses) <= {200, 503}, report.statuses
    assert report.woke == report.started, "a timer was lost or fired twice"
    assert report.scheduled_runs == 1
    assert report.agent_message_relayed
