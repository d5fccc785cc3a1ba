"""What one web chat visitor, or one address, may cost the service.

Anyone on the Internet can open the web chat: without bounds one socket pushed 3,000
messages, one address opened 1,000 visitors (892 contacts) and held 3,000 idle sockets
(338 MB). Three bounds, each refused with a sentence the widget shows:

- messages per visitor socket: a token bucket (``messages_per_minute``, a burst of a
  quarter of it); a message over it is not stored — the socket says so, and closes after
  a run of refusals;
- sockets open at once per address (``sockets_per_address``): one more is closed (4429);
- sockets opened per address per minute (``opens_per_minute``): how fast one address can
  start new visitors (each a contact and a conversation).

The counts live in this process: a visitor's socket lives in one process, and behind a
load balancer spreading addresses over N processes an address gets at most N times the
bound — the balancer's own per-address limits are the outer wall (``docs/security.md``).
"""

from __future__ import annotations

import time
from collections import OrderedDict
from dataclasses import dataclass, field

REFUSALS_BEFORE_CLOSE = 20
ADDRESSES_KEPT = 100_000  # opening rates of this many addresses at most (the oldest go)
WARN_EVERY_SECONDS = 60.0


@dataclass
class TokenBucket:
    """``rate`` tokens a second, ``burst`` at most; ``take`` spends one if there is one."""

    rate: float
    burst: float
    tokens: float = field(default=-1.0)
    updated: float = field(default_factory=time.monotonic)

    def __post_init__(self) -> None:
        if self.tokens < 0:
            self.tokens = self.burst

    def take(self, now: float | None = None) -> bool:
        now = time.monotonic() if now is None else now
        self.tokens = min(self.burst, self.tokens + (now - self.updated) * self.rate)
        self.updated = now
        if self.tokens >= 1:
            self.tokens -= 1
            return True
        return False


@dataclass(frozen=True)
class WebChatLimits:
    messages_per_minute: int = 30
    sockets_per_address: int = 100
    opens_per_minute: int = 120


class WebChatGuard:
    """The bounds of one process; a socket asks ``open`` first and ``close`` at the end."""

    def __init__(self, limits: WebChatLimits):
        self.limits = limits
        self._open: dict[str, int] = {}
        self._opening: OrderedDict[str, TokenBucket] = OrderedDict()
        self._warned: dict[str, float] = {}

    def open(self, address: str) -> str | None:
        """None when the socket may open (then counted), else why not."""
        if self._open.get(address, 0) >= self.limits.sockets_per_address:
            return (f"too many chats open from your address (at most "
                    f"{self.limits.sockets_per_address}); close one first")
        bucket = self._opening.get(address)
        if bucket is None:
            per_second = self.limits.opens_per_minute / 60
            bucket = TokenBucket(per_second, max(1.0, self.limits.opens_per_minute / 4))
            self._opening[address] = bucket
            if len(self._opening) > ADDRESSES_KEPT:
                self._opening.popitem(last=False)
        self._opening.move_to_end(address)
        if not bucket.take():
            return "too many chats started from your address; wait a minute"
        self._open[address] = self._open.get(address, 0) + 1
        return None

    def first_refusal_in_a_while(self, address: str, now: float | None = None) -> bool:
        """Whether to log this refusal: once a minute per address at most."""
        now = time.monotonic() if now is None else now
        if now - self._warned.get(address, -WARN_EVERY_SECONDS) < WARN_EVERY_SECONDS:
            return False
        self._warned[address] = now
        if len(self._warned) > ADDRESSES_KEPT:
            self._warned.clear()
        return True

    def close(self, address: str) -> None:
        left = self._open.get(address, 0) - 1
        if left > 0:
            self._open[address] = left
        else:
            self._open.pop(address, None)

    def messages(self) -> TokenBucket:
        """The bucket of one socket's messages."""
        per_minute = self.limits.messages_per_minute
        return TokenBucket(per_minute / 60, max(1.0, per_minute / 4))
