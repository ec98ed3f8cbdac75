"""Application services: one eventsourcing Application per bounded context."""
