"""The Trades context's routes: trade and mark commands, and their queries."""

from interfaces.http.trades import commands, queries

routers = (commands.router, queries.router)
