"""The Work orders context's adapters: its read models (tables, writers, queries), table uploads, wiring."""
