"""Raw protobuf message classes of the Firestore v1 API.

The server works on raw protobuf messages rather than proto-plus wrappers: maps,
``WhichOneof`` and ``CopyFrom`` are simpler there (see PLATFORM-NOTES.md).
"""

from google.cloud.firestore_v1.types import (
    aggregation_result,
    common,
    document,
    firestore,
    query,
    write,
)

Value = document.Value.pb()
ArrayValue = document.ArrayValue.pb()
MapValue = document.MapValue.pb()
Document = document.Document.pb()
DocumentMask = common.DocumentMask.pb()
Precondition = common.Precondition.pb()
TransactionOptions = common.TransactionOptions.pb()
StructuredQuery = query.StructuredQuery.pb()
Cursor = query.Cursor.pb()
StructuredAggregationQuery = query.StructuredAggregationQuery.pb()
Write = write.Write.pb()
WriteResult = write.WriteResult.pb()
DocumentTransform = write.DocumentTransform.pb()
DocumentChange = write.DocumentChange.pb()
DocumentDelete = write.DocumentDelete.pb()
DocumentRemove = write.DocumentRemove.pb()
AggregationResult = aggregation_result.AggregationResult.pb()

GetDocumentRequest = firestore.GetDocumentRequest.pb()
ListDocumentsRequest = firestore.ListDocumentsRequest.pb()
ListDocumentsResponse = firestore.ListDocumentsResponse.pb()
BatchGetDocumentsRequest = firestore.BatchGetDocumentsRequest.pb()
BatchGetDocumentsResponse = firestore.BatchGetDocumentsResponse.pb()
BeginTransactionRequest = firestore.BeginTransactionRequest.pb()
BeginTransactionResponse = firestore.BeginTransactionResponse.pb()
CommitRequest = firestore.CommitRequest.pb()
CommitResponse = firestore.CommitResponse.pb()
RollbackRequest = firestore.RollbackRequest.pb()
RunQueryRequest = firestore.RunQueryRequest.pb()
RunQueryResponse = firestore.RunQueryResponse.pb()
RunAggregationQueryRequest = firestore.RunAggregationQueryRequest.pb()
RunAggregationQueryResponse = firestore.RunAggregationQueryResponse.pb()
BatchWriteRequest = firestore.BatchWriteRequest.pb()
BatchWriteResponse = firestore.BatchWriteResponse.pb()
ListCollectionIdsRequest = firestore.ListCollectionIdsRequest.pb()
ListCollectionIdsResponse = firestore.ListCollectionIdsResponse.pb()
ListenRequest = firestore.ListenRequest.pb()
ListenResponse = firestore.ListenResponse.pb()
Target = firestore.Target.pb()
TargetChange = firestore.TargetChange.pb()
PartitionQueryRequest = firestore.PartitionQueryRequest.pb()
PartitionQueryResponse = firestore.PartitionQueryResponse.pb()

FieldOp = StructuredQuery.FieldFilter.Operator
UnaryOp = StructuredQuery.UnaryFilter.Operator
CompositeOp = StructuredQuery.CompositeFilter.Operator
Direction = StructuredQuery.Direction
ServerValue = DocumentTransform.FieldTransform.ServerValue
TargetChangeType = TargetChange.TargetChangeType
