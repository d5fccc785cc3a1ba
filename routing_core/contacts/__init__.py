"""Contacts as operators see them: found across channels, merged, exported and erased."""
