"""Mechanisms every context's infrastructure uses: settings, the event store, the read store, runners."""
