"""The Work orders application: commands, the import of a whole file, and the ports it needs."""
