"""Which MongoDB errors pass with time: the replica set is electing a primary, or a
member is unreachable for a moment.

PyMongo retries such a write once by itself; a failover can outlast that one retry. A
caller that must not give up (the record that a message was sent: without it, another
process would send the message again) waits and retries while the error is one of these.
"""

from __future__ import annotations

from pymongo.errors import BulkWriteError, ConnectionFailure, OperationFailure, PyMongoError

# not writable primary, primary stepped down, interrupted by a state change or a shutdown
TRANSIENT_CODES = frozenset({91, 189, 10107, 11600, 11602, 13435, 13436})


def transient(error: BaseException) -> bool:
    if isinstance(error, ConnectionFailure):  # network errors, no server selected in time
        return True
    if not isinstance(error, PyMongoError):
        return False
    if error.has_error_label("RetryableWriteError") or error.has_error_label(
            "TransientTransactionError"):
        return True
    if isinstance(error, BulkWriteError):
        problems = [*error.details.get("writeErrors", []),
                    *error.details.get("writeConcernErrors", [])]
        return bool(problems) and all(item.get("code") in TRANSIENT_CODES
                                      for item in problems)
    return isinstance(error, OperationFailure) and error.code in TRANSIENT_CODES
