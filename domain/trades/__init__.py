"""The Trades context: trades opened and closed by accounts or their automations, positions, P&L."""
