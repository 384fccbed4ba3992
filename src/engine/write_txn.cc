#include "engine/write_txn.h"

#include "bson/builder.h"
#include "bson/json.h"
#include "engine/engine.h"
#include "index/index_entry.h"
#include "index/index_writer.h"
#include "storage/key_codec.h"

namespace amalgam::engine {
namespace {

Result<std::string> EncodeId(const bson::DocView& doc) {
  bson::Value id = doc.Get("_id");
  if (id.missing()) return Status(ErrorCode::kInvalidIdField, "document has no _id field");
  if (id.type() == bson::BsonType::kArray) {
    return Status(ErrorCode::kInvalidIdField, "The '_id' value cannot be of type array");
  }
  if (id.type() == bson::BsonType::kUndefined || id.type() == bson::BsonType::kRegex) {
    return Status(ErrorCode::kInvalidIdField,
                  "The '_id' value cannot be of type " + std::string(bson::TypeAlias(id.type())));
  }
  std::string key = storage::EncodeValue(id).key;
  if (key.size() > kMaxEncodedIdSize) {
    return Status(ErrorCode::kInvalidIdField, "The '_id' value is too large (" + std::to_string(key.size()) + " bytes encoded)");
  }
  return key;
}

bson::Document IdDocument(const bson::DocView& doc) {
  bson::Builder b;
  b.AppendValue("_id", doc.Get("_id"));
  return std::move(b).Finish();
}

}  // namespace

WriteTxn::WriteTxn(Engine* engine, std::unique_ptr<storage::Txn> txn, uint64_t epoch)
    : engine_(engine), txn_(std::move(txn)), epoch_(epoch) {}

WriteTxn::~WriteTxn() { Abort(); }

void WriteTxn::Finish() {
  if (finished_) return;
  finished_ = true;
  engine_->EndTxn(epoch_);
}

storage::ChangeRecord WriteTxn::Record(const CollectionHandle& coll, storage::ChangeOp op, bson::DocView doc) {
  storage::ChangeRecord r;
  r.op = op;
  r.db = coll.info->db;
  r.collection = coll.info->name;
  r.collection_id = coll.info->id;
  r.document_key = IdDocument(doc);
  r.txn = txn_info_;
  r.by_server = by_server_;
  return r;
}

Status WriteTxn::Insert(const CollectionHandle& coll, bson::DocView doc) {
  AMALGAM_ASSIGN_OR_RETURN(std::string id, EncodeId(doc));
  std::string key = index::DocumentKey(coll.info->id, id);
  AMALGAM_ASSIGN_OR_RETURN(std::optional<std::string> existing, txn_->GetForUpdate(storage::Cf::kDocuments, key));
  if (existing) {
    bson::Builder details;
    details.StartDocument("keyPattern").AppendInt32("_id", 1).EndDocument();
    details.AppendDocument("keyValue", IdDocument(doc).view());
    return Status(ErrorCode::kDuplicateKey, "E11000 duplicate key error collection: " + coll.info->ns() +
                                                " index: _id_ dup key: " + bson::ToShellString(IdDocument(doc).view()))
        .WithDetails(std::move(details).Finish().release());
  }
  AMALGAM_RETURN_IF_ERROR(txn_->Put(storage::Cf::kDocuments, key, doc.bytes_view()));
  std::vector<bool> multikey(coll.indexes.size(), false);
  AMALGAM_RETURN_IF_ERROR(index::UpdateIndexes(*txn_, coll.info->ns(), coll.indexes, id, nullptr, &doc, &multikey));
  AMALGAM_RETURN_IF_ERROR(engine_->MarkMultikey(*txn_, coll, multikey));
  storage::ChangeRecord r = Record(coll, storage::ChangeOp::kInsert, doc);
  r.post_image = bson::Document(doc);
  txn_->AddChange(std::move(r));
  return Status::OK();
}

Status WriteTxn::Update(const CollectionHandle& coll, bson::DocView before, bson::DocView after, storage::ChangeOp op,
                        std::optional<bson::Document> update_description) {
  AMALGAM_ASSIGN_OR_RETURN(std::string id, EncodeId(before));
  AMALGAM_ASSIGN_OR_RETURN(std::string new_id, EncodeId(after));
  if (id != new_id) {
    return Status(ErrorCode::kImmutableField, "Performing an update on the path '_id' would modify the immutable field '_id'");
  }
  AMALGAM_RETURN_IF_ERROR(txn_->Put(storage::Cf::kDocuments, index::DocumentKey(coll.info->id, id), after.bytes_view()));
  std::vector<bool> multikey(coll.indexes.size(), false);
  AMALGAM_RETURN_IF_ERROR(index::UpdateIndexes(*txn_, coll.info->ns(), coll.indexes, id, &before, &after, &multikey));
  AMALGAM_RETURN_IF_ERROR(engine_->MarkMultikey(*txn_, coll, multikey));
  storage::ChangeRecord r = Record(coll, op, after);
  r.post_image = bson::Document(after);
  if (coll.info->RecordsPreImages()) r.pre_image = bson::Document(before);
  r.update = std::move(update_description);
  txn_->AddChange(std::move(r));
  return Status::OK();
}

Status WriteTxn::Delete(const CollectionHandle& coll, bson::DocView before) {
  AMALGAM_ASSIGN_OR_RETURN(std::string id, EncodeId(before));
  AMALGAM_RETURN_IF_ERROR(txn_->Delete(storage::Cf::kDocuments, index::DocumentKey(coll.info->id, id)));
  AMALGAM_RETURN_IF_ERROR(index::UpdateIndexes(*txn_, coll.info->ns(), coll.indexes, id, &before, nullptr));
  storage::ChangeRecord r = Record(coll, storage::ChangeOp::kDelete, before);
  if (coll.info->RecordsPreImages()) r.pre_image = bson::Document(before);
  txn_->AddChange(std::move(r));
  return Status::OK();
}

Result<std::optional<bson::Document>> WriteTxn::Get(const CollectionHandle& coll, const bson::Value& id, bool for_update) {
  return GetByEncodedId(coll, storage::EncodeValue(id).key, for_update);
}

Result<std::optional<bson::Document>> WriteTxn::GetByEncodedId(const CollectionHandle& coll, std::string_view encoded_id,
                                                               bool for_update) {
  std::string key = index::DocumentKey(coll.info->id, encoded_id);
  Result<std::optional<std::string>> bytes =
      for_update ? txn_->GetForUpdate(storage::Cf::kDocuments, key) : txn_->Get(storage::Cf::kDocuments, key);
  if (!bytes.ok()) return bytes.status();
  if (!bytes.value()) return std::optional<bson::Document>();
  return std::optional<bson::Document>(bson::Document::FromValidatedBytes(std::move(*bytes.value())));
}

std::unique_ptr<DocumentCursor> WriteTxn::Scan(const CollectionHandle& coll, bool forward) {
  return std::make_unique<DocumentCursor>(
      txn_->NewIterator(storage::Cf::kDocuments, coll.prefix, storage::PrefixSuccessor(coll.prefix)), forward);
}

std::unique_ptr<IndexCursor> WriteTxn::ScanIndex(const catalog::IndexSpec& index, std::string lower, std::string upper,
                                                 bool forward) {
  auto [lo, hi] = index::IndexScanRange(index.id, lower, upper);
  return std::make_unique<IndexCursor>(txn_->NewIterator(storage::Cf::kIndexes, std::move(lo), std::move(hi)), index.unique,
                                       forward);
}

Result<storage::CommitInfo> WriteTxn::Commit() {
  if (finished_) return InternalError("transaction already finished");
  auto r = txn_->Commit();
  Finish();
  return r;
}

void WriteTxn::Abort() {
  if (finished_) return;
  txn_->Rollback();
  Finish();
}

}  // namespace amalgam::engine
