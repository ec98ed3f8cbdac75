"""The Accounts application: commands, and the policy that mails verification and reset tokens."""
