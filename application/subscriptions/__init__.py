"""The Subscriptions context's application: plans, subscriptions, payments and the free-plan policy."""
