"""The HTTP edge: one package per context (commands, queries, schemas), shared mechanisms, the app factory."""
