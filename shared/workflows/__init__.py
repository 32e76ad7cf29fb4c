"""Nurture workflows: definitions, enrolment, the step engine and its triggers."""
