"""Adapters: the ports implemented with Firestore, Cloud Tasks, SMTP and friends."""
