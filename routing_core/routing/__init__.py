"""Routings and their versions: the lifecycle rules (test, production, backup, rollback),
tree editing and validation, scheduled productions, import/export, and entry points."""
