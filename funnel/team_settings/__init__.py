"""A team's settings page: its name, the currency of its amounts, the winnable analysis's
smallest difference that matters, and links to the rest of its set-up."""
