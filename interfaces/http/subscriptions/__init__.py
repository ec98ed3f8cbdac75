"""The Subscriptions context's HTTP edge (plans, my subscription, billing)."""
