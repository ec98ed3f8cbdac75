"""What every context's routes share: problems, authentication, command and query dependencies, schemas."""
