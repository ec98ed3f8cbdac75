"""The Subscriptions context: plans, each account's subscription and its billing lifecycle."""
