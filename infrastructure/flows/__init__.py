"""The Flows context's infrastructure: tables, writer, queries, jobs, the agents that reach outside (HTTP), the
registry of every agent, and the wiring."""
