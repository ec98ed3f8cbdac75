"""The Subscriptions context's routes: plan and subscription commands, their queries, the billing webhooks."""

from interfaces.http.subscriptions import commands, queries, webhooks

routers = (commands.router, queries.router, webhooks.router)
