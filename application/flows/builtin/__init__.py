"""The agents Chronicle ships that need no outside service: the template agent and the rule agent."""
