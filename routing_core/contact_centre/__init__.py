"""The contact centre: queues, agents' presence, offering conversations to agents
race-free across processes, and what an agent does with a conversation."""
