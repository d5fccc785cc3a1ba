"""Connectors: the adapters between routing_core ports and the outside world (HTTP, channels)."""
