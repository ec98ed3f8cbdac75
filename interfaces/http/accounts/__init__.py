"""The Accounts context's routes: the auth flow, admin commands, and queries."""

from interfaces.http.accounts import auth, commands, queries

routers = (auth.router, commands.router, queries.router)
