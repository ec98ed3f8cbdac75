"""The Flows context's infrastructure: the agents that reach outside (HTTP) and the registry of every agent."""
