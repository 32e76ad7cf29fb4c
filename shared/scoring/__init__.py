"""Lead scoring: fit rules, engagement points and their decay, the score sheet."""
