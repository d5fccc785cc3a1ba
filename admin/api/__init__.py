"""JSON API blueprints, one per resource."""
