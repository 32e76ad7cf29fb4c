"""A company's documents read and written raw, for export and import.

Reads go through the client's API layer (``client._firestore_api``) rather than its
snapshots, which decode values into Python objects and lose some on the way (nanoseconds,
maps that look like vectors); the protobuf values are encoded as typed JSON
(``shared.adapters.firestore_json``) and decoded back to the same protobuf for writes.

Every document below ``companies/{id}``, whatever its collections are called, comes from
one kind of query: a kindless query over all descendants of the company document, in
name order, a page at a time with a cursor on the name (the query Firebase's own
recursive delete uses). A page is at most ``PAGE`` documents; writes go in commits of at
most ``MAX_BATCH`` (Firestore's limit).
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from typing import Any

from shared.adapters.firestore_json import Json, decode_fields, encode_fields

PAGE = 500
MAX_BATCH = 500


class FirestoreCompanyData:
    """Implements ``shared.services.company_transfer.CompanyData`` on the real client."""

    def __init__(self, client: Any, page: int = PAGE) -> None:
        self.client = client
        self.page = page
        self.root = f"{client._database_string}/documents"

    def relative(self, name: str) -> str:
        return name.removeprefix(self.root + "/")

    def absolute(self, path: str) -> str:
        return f"{self.root}/{path}"

    def documents(self, company_id: str) -> Iterator[tuple[str, Json]]:
        """The company document (if it exists), then every document below it."""
        company = self._get(f"companies/{company_id}")
        if company is not None:
            yield self.relative(company.name), encode_fields(company.fields, self.relative)
        after: str | None = None
        while True:
            page = list(self._descendants(company_id, after, self.page))
            for document in page:
                yield self.relative(document.name), encode_fields(document.fields, self.relative)
            if len(page) < self.page:
                return
            after = page[-1].name

    def has_documents(self, company_id: str) -> bool:
        if self._get(f"companies/{company_id}") is not None:
            return True
        return any(True for _ in self._descendants(company_id, None, 1))

    def check(self, fields: Json) -> None:
        """Raises ValueError unless ``fields`` decode (nothing is written)."""
        decode_fields(fields, self.absolute)

    def write(self, documents: Sequence[tuple[str, Json]], merge: bool) -> None:
        """One commit: each document created (refused if it exists), or with ``merge``
        replaced whole."""
        from google.cloud.firestore_v1.types import common, document, write

        if len(documents) > MAX_BATCH:
            raise ValueError(f"at most {MAX_BATCH} documents a commit")
        batch = self.client.batch()
        pbs = []
        for path, fields in documents:
            doc = document.Document.pb()(name=self.absolute(path))
            for name, value in decode_fields(fields, self.absolute).items():
                doc.fields[name].CopyFrom(value)
            pb = write.Write.pb()(update=doc)
            if not merge:
                pb.current_document.CopyFrom(common.Precondition.pb()(exists=False))
            pbs.append(pb)
        batch._add_write_pbs(pbs)
        batch.commit()

    def _get(self, path: str) -> Any | None:
        """The raw document at ``path``, or None (BatchGetDocuments: what the client's own
        reads use)."""
        request = {"database": self.client._database_string, "documents": [self.absolute(path)]}
        api = self.client._firestore_api
        for response in api.batch_get_documents(
            request=request, metadata=self.client._rpc_metadata
        ):
            pb = type(response).pb(response)
            if pb.HasField("found"):
                return pb.found
        return None

    def _descendants(self, company_id: str, after: str | None, limit: int) -> Iterator[Any]:
        """Up to ``limit`` documents below the company, in name order, after ``after``
        (a resource name)."""
        from google.cloud.firestore_v1.types import document
        from google.cloud.firestore_v1.types import query as q

        by_name = q.StructuredQuery.Order(
            field=q.StructuredQuery.FieldReference(field_path="__name__"),
            direction=q.StructuredQuery.Direction.ASCENDING,
        )
        structured = q.StructuredQuery(
            # No collection id: every collection, at any depth below the parent.
            from_=[q.StructuredQuery.CollectionSelector(all_descendants=True)],
            order_by=[by_name],
            limit=limit,
        )
        if after is not None:
            cursor = [document.Value(reference_value=after)]
            structured.start_at = q.Cursor(values=cursor, before=False)
        request = {
            "parent": self.absolute(f"companies/{company_id}"),
            "structured_query": structured,
        }
        api = self.client._firestore_api
        for response in api.run_query(request=request, metadata=self.client._rpc_metadata):
            pb = type(response).pb(response)
            if pb.HasField("document"):
                yield pb.document
