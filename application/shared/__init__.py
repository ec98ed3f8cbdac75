"""What every context's application shares: the one log, command context and metadata, followers."""
