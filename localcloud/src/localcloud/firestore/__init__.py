"""A local Firestore: the v1 gRPC API served in-process or standalone for the real client."""

from localcloud.firestore.server import FirestoreServer, start_firestore

__all__ = ["FirestoreServer", "start_firestore"]
