"""The Flows context's infrastructure: tables, writer, queries, jobs, agents and wiring."""
