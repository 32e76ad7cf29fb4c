"""Local Firestore conformance: BatchWrite, recursive delete, ListDocuments, ListCollectionIds."""

from __future__ import annotations

from typing import Any

import pytest
from google.api_core import exceptions


def test_bulk_writer_reports_each_write(db: Any) -> None:
    """BatchWrite is not atomic: each write succeeds or fails with its own status."""
    db.document("c/exists").set({"n": 1})
    succeeded: list[str] = []
    failed: dict[str, int] = {}

    def on_error(error: Any, _writer: Any) -> bool:
        failed[error.operation.reference.id] = error.code
        return False  # do not retry

    writer = db.bulk_writer()
    writer.on_write_result(lambda ref, _result, _writer: succeeded.append(ref.id))
    writer.on_write_error(on_error)
    writer.set(db.document("c/a"), {"n": 1})
    writer.create(db.document("c/exists"), {"n": 2})
    writer.update(db.document("c/missing"), {"n": 3})
    writer.delete(db.document("c/gone"))
    writer.flush()
    writer.close()
    assert ["a", "gone"] == sorted(succeeded)
    assert {"exists": 6, "missing": 5} == failed  # ALREADY_EXISTS, NOT_FOUND
    assert ({"n": 1}, {"n": 1}) == (
        db.document("c/a").get().to_dict(),
        db.document("c/exists").get().to_dict(),
    )


def test_bulk_writer_many_documents(db: Any) -> None:
    """A bulk writer with more writes than one batch holds writes them all."""
    writer = db.bulk_writer()
    for i in range(45):
        writer.set(db.document(f"many/{i:03}"), {"i": i})
    writer.close()
    assert 45 == len(list(db.collection("many").select([]).stream()))


def test_batch_write_limits(db: Any) -> None:
    """BatchWrite holds at most 500 writes, each to a different document."""

    def batch_write(paths: list[str]) -> Any:
        writes = [{"delete": f"{db._database_string}/documents/{p}"} for p in paths]
        request = {"database": db._database_string, "writes": writes}
        return db._firestore_api.batch_write(request=request, metadata=db._rpc_metadata)

    assert 500 == len(batch_write([f"c/{i}" for i in range(500)]).status)
    with pytest.raises(exceptions.InvalidArgument, match="500"):
        batch_write([f"c/{i}" for i in range(501)])
    with pytest.raises(exceptions.InvalidArgument, match="same document"):
        batch_write(["c/a", "c/a"])


def test_recursive_delete_of_a_collection(db: Any) -> None:
    """Deletes the collection's documents and everything below them, nothing else."""
    for path in ("c/a", "c/a/sub/x", "c/a/sub/x/deeper/y", "c/B", "c/0", "c2/keep", "cc/keep"):
        db.document(path).set({"p": path})
    db.document("c/missing/sub/z").set({"p": "under a missing parent"})
    db.document("other/d/c/keep").set({"p": "same id elsewhere"})
    assert 6 == db.recursive_delete(db.collection("c"))
    remaining = sorted(s.reference.path for s in db.collection_group("c").stream())
    assert ["other/d/c/keep"] == remaining
    assert [] == list(db.collection("c/a/sub").stream())
    assert ["c2", "cc", "other"] == sorted(c.id for c in db.collections())


def test_recursive_delete_of_a_document(db: Any) -> None:
    """Passing a document deletes it and its subcollections."""
    for path in ("c/a", "c/a/sub/x", "c/b"):
        db.document(path).set({"p": path})
    assert 2 == db.recursive_delete(db.document("c/a"))
    assert ["b"] == [s.id for s in db.collection("c").stream()]


def list_documents_raw(db: Any, collection: str, show_missing: bool) -> list[Any]:
    """ListDocuments as sent by hand: the client always asks for show_missing."""
    request = {
        "parent": f"{db._database_string}/documents",
        "collection_id": collection,
        "show_missing": show_missing,
    }
    return list(db._firestore_api.list_documents(request=request, metadata=db._rpc_metadata))


def test_list_documents_shows_missing_parents(db: Any) -> None:
    """show_missing lists a missing document that has a subcollection; it does not exist."""
    db.document("c/real").set({"n": 1})
    db.document("c/ghost/sub/x").set({"n": 2})
    refs = {r.id: r for r in db.collection("c").list_documents()}
    assert ["ghost", "real"] == sorted(refs)
    assert False is refs["ghost"].get().exists
    shown = {d.name.rsplit("/", 1)[1]: d for d in list_documents_raw(db, "c", True)}
    assert (False, True) == ("create_time" in shown["ghost"], "create_time" in shown["real"])
    assert ["real"] == [d.name.rsplit("/", 1)[1] for d in list_documents_raw(db, "c", False)]


def test_list_documents_forgets_parents_whose_children_are_deleted(db: Any) -> None:
    """A missing parent is listed only while a document below it exists."""
    db.document("c/ghost/sub/x").set({"n": 2})
    db.document("c/ghost/sub/x").delete()
    assert [] == list_documents_raw(db, "c", True)


def test_list_documents_returns_no_fields(db: Any) -> None:
    """list_documents sends an empty mask: documents come back without their fields."""
    db.document("c/real").set({"n": 1})
    (doc,) = db._firestore_api.list_documents(
        request={
            "parent": f"{db._database_string}/documents",
            "collection_id": "c",
            "mask": {"field_paths": []},
        },
        metadata=db._rpc_metadata,
    )
    assert {} == dict(doc.fields)


def test_list_documents_pages(db: Any) -> None:
    """Paging through ListDocuments returns each document once, in name order."""
    for i in range(7):
        db.document(f"c/{i}").set({})
    assert [str(i) for i in range(7)] == [
        r.id for r in db.collection("c").list_documents(page_size=3)
    ]


def test_collections_at_root_and_under_a_document(db: Any) -> None:
    """db.collections() and doc.collections() list ids that hold documents at any depth."""
    db.document("a/1").set({})
    db.document("b/missing/sub/x").set({})
    db.document("a/1/s1/x").set({})
    db.document("a/1/s2/y/deeper/z").set({})
    assert ["a", "b"] == sorted(c.id for c in db.collections())
    assert ["s1", "s2"] == sorted(c.id for c in db.document("a/1").collections())
    assert ["sub"] == [c.id for c in db.document("b/missing").collections()]


def test_deleted_collection_is_no_longer_listed(db: Any) -> None:
    """A collection whose documents are all deleted disappears from collections()."""
    db.document("a/1").set({})
    db.document("gone/1").set({})
    db.document("gone/1").delete()
    assert ["a"] == [c.id for c in db.collections()]


def test_collections_paging(db: Any) -> None:
    """ListCollectionIds pages through the ids in order."""
    for name in ("e", "d", "c", "b", "a"):
        db.document(f"{name}/x").set({})
    pages = db._firestore_api.list_collection_ids(
        request={"parent": f"{db._database_string}/documents", "page_size": 2},
        metadata=db._rpc_metadata,
    )
    assert ["a", "b", "c", "d", "e"] == list(pages)


def test_list_documents_of_a_bad_parent_is_invalid(db: Any) -> None:
    """A parent that is not a document path of the database is InvalidArgument."""
    request = {"parent": f"{db._database_string}/nope", "collection_id": "c"}
    with pytest.raises(exceptions.InvalidArgument, match="Parent"):
        db._firestore_api.list_documents(request=request, metadata=db._rpc_metadata)


def test_list_documents_under_a_collection_path_is_invalid(db: Any) -> None:
    """The parent must be a document: a collection path is InvalidArgument."""
    request = {"parent": f"{db._database_string}/documents/c", "collection_id": "d"}
    with pytest.raises(exceptions.InvalidArgument, match="collection, not a document"):
        db._firestore_api.list_documents(request=request, metadata=db._rpc_metadata)
