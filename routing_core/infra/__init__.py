"""Small infrastructure every other package may use: the clock, ids, the domain's errors,
log context, metrics, sealed secrets and throttles. It imports nothing else of ours."""
