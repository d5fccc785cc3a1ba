"""The service: app factory, entry-point hosting, webhooks, web chat, CLI, demo bots."""
