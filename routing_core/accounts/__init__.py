"""Who may do what: users, roles, passwords and API tokens."""
