"""Marketing to leads and businesses: campaigns, outreach, compliance (suppressions,
consent, signed links), open and click tracking, and the e-mail provider's events."""
