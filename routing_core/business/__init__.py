"""Business records that routings and agents work with: cases, CRM cards and typed
objects, tasks, campaigns and surveys."""
