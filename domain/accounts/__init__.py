"""The Accounts context: who can log in, with which roles, and their sessions."""
