"""The interpreter and the runtime around it: ingest, lease, step, commit, send, timers."""
