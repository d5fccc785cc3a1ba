"""Failovers of a three-member replica set under Telegram traffic, two service processes:
the bigger run of ``tests/faults/test_failover.py`` (same scenario, tests/faults/failover.py).

    python -m bench.failover [--chats 24] [--pause 5] \\
        [--failovers step_down,step_down,step_down,kill]

Prints what the note reports: failovers done, updates accepted and every webhook answer
(503s while there was no primary, never a 500), replies lost and sent twice (and how many
were flagged as possible duplicates), the time without a primary per failover, reply
delays, timers, the scheduled production's firings and the cross-process relay.
"""

from __future__ import annotations

import argparse
import asyncio
import tempfile
from pathlib import Path

from tests.faults.failover import run


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--chats", type=int, default=24)
    parser.add_argument("--pause", type=float, default=5.0,
                        help="seconds of traffic before each failover")
    parser.add_argument("--failovers", default="step_down,step_down,step_down,kill")
    args = parser.parse_args()
    kinds = [kind.strip() for kind in args.failovers.split(",") if kind.strip()]
    with tempfile.TemporaryDirectory(prefix="bench-failover-") as root:
        report = asyncio.run(run(Path(root), args.chats, kinds, args.pause))
    for line in report.lines():
        print(line)


if __name__ == "__main__":
    main()
