"""The Flows context's application: flows, their runs, the agents that execute their steps."""
