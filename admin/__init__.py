"""The admin panel (Jinja pages) and the JSON API (quart-schema), over routing_core services."""
