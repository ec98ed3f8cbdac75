"""The subscriptions read models' projections: plans, subscriptions (with invoices), their history, revenue."""
