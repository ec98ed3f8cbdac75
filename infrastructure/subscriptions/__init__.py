"""Infrastructure of the Subscriptions context: the payment gateway, read models, queries and wiring."""
