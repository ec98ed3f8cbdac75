"""The Flows context: flows (ordered steps of prompt, agent and config), their runs, the active-flows slots."""
