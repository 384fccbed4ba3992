#include "catalog/catalog.h"

#include <algorithm>
#include <cstring>
#include <random>

#include "bson/builder.h"
#include "bson/json.h"
#include "bson/validate.h"
#include "common/logging.h"
#include "storage/key_codec.h"
#include "storage/txn.h"

namespace amalgam::catalog {
namespace {

using storage::Cf;

constexpr std::string_view kCollectionPrefix = "c";
constexpr std::string_view kNextIdKey = "nextid";

std::array<uint8_t, 16> NewUuid() {
  thread_local std::mt19937_64 rng{std::random_device{}()};
  std::array<uint8_t, 16> u;
  for (int i = 0; i < 16; i += 8) {
    uint64_t x = rng();
    std::memcpy(u.data() + i, &x, 8);
  }
  u[6] = static_cast<uint8_t>((u[6] & 0x0F) | 0x40);  // version 4
  u[8] = static_cast<uint8_t>((u[8] & 0x3F) | 0x80);  // RFC 4122 variant
  return u;
}

std::string MapKey(std::string_view db, std::string_view coll) {
  std::string k(db);
  k += '\0';
  k += coll;
  return k;
}

std::string MetaKey(std::string_view db, std::string_view coll) {
  return std::string(kCollectionPrefix) + MapKey(db, coll);
}

bson::Document IdIndexSpec() {
  bson::Builder b;
  b.StartDocument("key").AppendInt32("_id", 1).EndDocument();
  b.AppendString("name", "_id_");
  return std::move(b).Finish();
}

IndexSpec MakeIdIndex() {
  bson::Document d = IdIndexSpec();
  IndexSpec spec = ParseIndexSpec(d.view()).value();
  spec.unique = true;
  return spec;
}

bson::Document EncodeCollection(const CollectionInfo& c) {
  bson::Builder b;
  b.AppendInt64("id", static_cast<int64_t>(c.id));
  b.AppendString("db", c.db);
  b.AppendString("name", c.name);
  b.AppendDocument("options", c.options.view());
  b.AppendDate("created", c.created_millis);
  b.AppendBinary("uuid", 4, c.uuid);
  b.StartArray("indexes");
  bson::ArrayBuilder arr(b);
  for (const IndexSpec& spec : c.indexes) {
    if (spec.is_id_index) continue;
    b.AppendDocument(arr.Next(), EncodeIndexSpec(spec).view());
  }
  b.EndArray();
  return std::move(b).Finish();
}

Result<CollectionInfo> DecodeCollection(std::string_view bytes) {
  auto view = bson::ValidateDocument(
      std::span<const uint8_t>(reinterpret_cast<const uint8_t*>(bytes.data()), bytes.size()));
  if (!view.ok()) return Status(ErrorCode::kDataCorruption, "catalog record: " + std::string(view.status().message()));
  CollectionInfo c;
  bson::Value id = view->Get("id"), db = view->Get("db"), name = view->Get("name");
  bson::Value options = view->Get("options"), created = view->Get("created"), indexes = view->Get("indexes");
  if (id.type() != bson::BsonType::kInt64 || db.type() != bson::BsonType::kString ||
      name.type() != bson::BsonType::kString || options.type() != bson::BsonType::kDocument ||
      indexes.type() != bson::BsonType::kArray) {
    return Status(ErrorCode::kDataCorruption, "catalog record lacks a required field");
  }
  c.id = static_cast<uint64_t>(id.AsInt64());
  c.db = std::string(db.AsString());
  c.name = std::string(name.AsString());
  c.options = bson::Document(options.AsDocument());
  if (created.type() == bson::BsonType::kDate) c.created_millis = created.AsDateMillis();
  bson::Value uuid = view->Get("uuid");
  if (uuid.type() == bson::BsonType::kBinary && uuid.AsBinary().data.size() == 16) {
    std::memcpy(c.uuid.data(), uuid.AsBinary().data.data(), 16);
  }
  c.indexes.push_back(MakeIdIndex());
  for (const bson::Element& e : indexes.AsDocument()) {
    if (e.value.type() != bson::BsonType::kDocument) return Status(ErrorCode::kDataCorruption, "catalog index entry is not a document");
    AMALGAM_ASSIGN_OR_RETURN(IndexSpec spec, DecodeIndexSpec(e.value.AsDocument()));
    c.indexes.push_back(std::move(spec));
  }
  return c;
}

storage::ChangeRecord CommandRecord(const CollectionInfo& c, bson::Document command) {
  storage::ChangeRecord r;
  r.op = storage::ChangeOp::kCommand;
  r.db = c.db;
  r.collection = c.name;
  r.collection_id = c.id;
  r.command = std::move(command);
  return r;
}

bson::Document Cmd(std::string_view verb, std::string_view coll) {
  bson::Builder b;
  b.AppendString(verb, coll);
  return std::move(b).Finish();
}

Status WriteRecord(storage::Txn& txn, const CollectionInfo& c) {
  return txn.Put(Cf::kMeta, MetaKey(c.db, c.name), EncodeCollection(c).bytes());
}

bool SameOptions(const IndexSpec& a, const IndexSpec& b) {
  auto same_doc = [](const std::optional<bson::Document>& x, const std::optional<bson::Document>& y) {
    return x.has_value() == y.has_value() && (!x || x->bytes() == y->bytes());
  };
  return a.unique == b.unique && a.sparse == b.sparse && same_doc(a.partial_filter, b.partial_filter) &&
         a.expire_after_seconds == b.expire_after_seconds;
}

}  // namespace

const IndexSpec* CollectionInfo::FindIndex(std::string_view index_name) const {
  for (const IndexSpec& spec : indexes) {
    if (spec.name == index_name) return &spec;
  }
  return nullptr;
}

bool CollectionInfo::RecordsPreImages() const {
  bson::Value v = options.view().Get("changeStreamPreAndPostImages");
  if (v.type() != bson::BsonType::kDocument) return false;
  bson::Value enabled = v.AsDocument().Get("enabled");
  return enabled.type() == bson::BsonType::kBool && enabled.AsBool();
}

Status ValidateDbName(std::string_view db) {
  if (db.empty()) return Status(ErrorCode::kInvalidNamespace, "Invalid empty database name");
  if (db.size() >= 64) {
    return Status(ErrorCode::kInvalidNamespace, "db name is too long: '" + std::string(db) + "' (limit 63 bytes)");
  }
  for (char c : db) {
    if (c == '/' || c == '\\' || c == '.' || c == ' ' || c == '"' || c == '$' || c == '\0') {
      return Status(ErrorCode::kInvalidNamespace, "Invalid database name: '" + std::string(db) +
                                                      "' (may not contain /\\. \"$ or NUL)");
    }
  }
  return Status::OK();
}

Status ValidateCollectionName(std::string_view db, std::string_view coll) {
  AMALGAM_RETURN_IF_ERROR(ValidateDbName(db));
  std::string ns = std::string(db) + "." + std::string(coll);
  if (coll.empty() || coll.find('\0') != std::string_view::npos || coll.front() == '.' ||
      coll.find('$') != std::string_view::npos) {
    return Status(ErrorCode::kInvalidNamespace, "Invalid collection name: '" + ns + "'");
  }
  if (ns.size() > 255) {
    return Status(ErrorCode::kInvalidNamespace, "Fully qualified namespace is too long: '" + ns + "' (limit 255 bytes)");
  }
  return Status::OK();
}

Result<std::unique_ptr<Catalog>> Catalog::Open(storage::Store& store) {
  std::unique_ptr<Catalog> catalog(new Catalog(store));
  auto map = std::make_shared<Map>();
  std::string prefix(kCollectionPrefix);
  auto it = store.NewIterator(Cf::kMeta, prefix, storage::PrefixSuccessor(prefix));
  for (it->SeekToFirst(); it->Valid(); it->Next()) {
    AMALGAM_ASSIGN_OR_RETURN(CollectionInfo info, DecodeCollection(it->value()));
    std::string key = MapKey(info.db, info.name);
    (*map)[key] = std::make_shared<const CollectionInfo>(std::move(info));
  }
  AMALGAM_RETURN_IF_ERROR(it->status());
  AMALGAM_LOG(kInfo, "catalog") << "loaded " << map->size() << " collections";
  catalog->current_ = std::move(map);
  return catalog;
}

std::shared_ptr<const Catalog::Map> Catalog::Current() const {
  std::lock_guard<std::mutex> lock(current_mu_);
  return current_;
}

CollectionPtr Catalog::Find(std::string_view db, std::string_view coll) const {
  auto map = Current();
  auto it = map->find(MapKey(db, coll));
  return it == map->end() ? nullptr : it->second;
}

std::vector<std::string> Catalog::ListDatabases() const {
  std::vector<std::string> out;
  for (const auto& [key, info] : *Current()) {
    if (out.empty() || out.back() != info->db) out.push_back(info->db);
  }
  return out;
}

std::vector<CollectionPtr> Catalog::ListCollections(std::string_view db) const {
  std::vector<CollectionPtr> out;
  auto map = Current();
  std::string prefix = MapKey(db, "");
  for (auto it = map->lower_bound(prefix); it != map->end() && it->second->db == db; ++it) out.push_back(it->second);
  return out;
}

std::vector<CollectionPtr> Catalog::ListAll() const {
  std::vector<CollectionPtr> out;
  for (const auto& [key, info] : *Current()) out.push_back(info);
  return out;
}

Result<uint64_t> Catalog::NextId(storage::Txn& txn) {
  AMALGAM_ASSIGN_OR_RETURN(std::optional<std::string> cur, txn.GetForUpdate(Cf::kMeta, kNextIdKey));
  uint64_t id = 1;
  if (cur) {
    if (cur->size() != 8) return Status(ErrorCode::kDataCorruption, "catalog id counter has the wrong size");
    id = storage::ReadUint64BE(*cur);
  }
  std::string next;
  storage::AppendUint64BE(&next, id + 1);
  AMALGAM_RETURN_IF_ERROR(txn.Put(Cf::kMeta, kNextIdKey, next));
  return id;
}

Status Catalog::CommitChange(storage::Txn& txn, std::shared_ptr<const Map> next) {
  AMALGAM_RETURN_IF_ERROR(txn.Commit().status());
  std::lock_guard<std::mutex> lock(current_mu_);
  current_ = std::move(next);
  return Status::OK();
}

Result<CollectionPtr> Catalog::CreateCollection(std::string_view db, std::string_view coll, bson::DocView options) {
  AMALGAM_RETURN_IF_ERROR(ValidateCollectionName(db, coll));
  std::lock_guard<std::mutex> lock(write_mu_);
  auto map = Current();
  if (map->count(MapKey(db, coll))) {
    return Status(ErrorCode::kNamespaceExists, "Collection " + std::string(db) + "." + std::string(coll) + " already exists.");
  }
  auto txn = store_.Begin(storage::TxnOptions{});
  auto info = std::make_shared<CollectionInfo>();
  AMALGAM_ASSIGN_OR_RETURN(info->id, NextId(*txn));
  info->db = std::string(db);
  info->name = std::string(coll);
  info->options = bson::Document(options);
  info->created_millis = store_.clock().NowMillis();
  info->uuid = NewUuid();
  info->indexes.push_back(MakeIdIndex());
  AMALGAM_RETURN_IF_ERROR(WriteRecord(*txn, *info));
  bson::Builder cmd;
  cmd.AppendString("create", coll).AppendDocument("options", options);
  txn->AddChange(CommandRecord(*info, std::move(cmd).Finish()));
  auto next = std::make_shared<Map>(*map);
  (*next)[MapKey(db, coll)] = info;
  AMALGAM_RETURN_IF_ERROR(CommitChange(*txn, std::move(next)));
  AMALGAM_LOG(kInfo, "catalog") << "created collection " << info->ns() << " (id " << info->id << ")";
  return CollectionPtr(info);
}

Result<CollectionPtr> Catalog::GetOrCreate(std::string_view db, std::string_view coll) {
  if (CollectionPtr c = Find(db, coll)) return c;
  auto created = CreateCollection(db, coll, bson::DocView());
  if (!created.ok() && created.status().code() == ErrorCode::kNamespaceExists) {
    if (CollectionPtr c = Find(db, coll)) return c;  // lost a race with another creator
  }
  return created;
}

Result<CollectionPtr> Catalog::DropCollection(std::string_view db, std::string_view coll) {
  std::lock_guard<std::mutex> lock(write_mu_);
  auto map = Current();
  auto it = map->find(MapKey(db, coll));
  if (it == map->end()) return Status(ErrorCode::kNamespaceNotFound, "ns not found: " + std::string(db) + "." + std::string(coll));
  CollectionPtr info = it->second;
  auto txn = store_.Begin(storage::TxnOptions{});
  AMALGAM_RETURN_IF_ERROR(txn->Delete(Cf::kMeta, MetaKey(db, coll)));
  txn->AddChange(CommandRecord(*info, Cmd("drop", coll)));
  auto next = std::make_shared<Map>(*map);
  next->erase(MapKey(db, coll));
  AMALGAM_RETURN_IF_ERROR(CommitChange(*txn, std::move(next)));
  AMALGAM_LOG(kInfo, "catalog") << "dropped collection " << info->ns() << " (id " << info->id << ")";
  return info;
}

Result<std::vector<CollectionPtr>> Catalog::DropDatabase(std::string_view db) {
  std::lock_guard<std::mutex> lock(write_mu_);
  auto map = Current();
  std::vector<CollectionPtr> dropped;
  auto txn = store_.Begin(storage::TxnOptions{});
  auto next = std::make_shared<Map>(*map);
  for (auto it = map->lower_bound(MapKey(db, "")); it != map->end() && it->second->db == db; ++it) {
    AMALGAM_RETURN_IF_ERROR(txn->Delete(Cf::kMeta, MetaKey(db, it->second->name)));
    txn->AddChange(CommandRecord(*it->second, Cmd("drop", it->second->name)));
    next->erase(it->first);
    dropped.push_back(it->second);
  }
  if (dropped.empty()) return dropped;
  CollectionInfo marker;
  marker.db = std::string(db);
  bson::Builder cmd;
  cmd.AppendInt32("dropDatabase", 1);
  txn->AddChange(CommandRecord(marker, std::move(cmd).Finish()));
  AMALGAM_RETURN_IF_ERROR(CommitChange(*txn, std::move(next)));
  AMALGAM_LOG(kInfo, "catalog") << "dropped database " << db << " (" << dropped.size() << " collections)";
  return dropped;
}

Status Catalog::RenameCollection(std::string_view db, std::string_view from, std::string_view to_db,
                                 std::string_view to, bool drop_target, CollectionPtr* dropped_target) {
  AMALGAM_RETURN_IF_ERROR(ValidateCollectionName(to_db, to));
  if (db == to_db && from == to) return Status(ErrorCode::kIllegalOperation, "Can't rename a collection to itself");
  std::lock_guard<std::mutex> lock(write_mu_);
  auto map = Current();
  auto src = map->find(MapKey(db, from));
  if (src == map->end()) return Status(ErrorCode::kNamespaceNotFound, "Source collection " + std::string(db) + "." + std::string(from) + " does not exist");
  auto txn = store_.Begin(storage::TxnOptions{});
  auto next = std::make_shared<Map>(*map);
  auto dst = map->find(MapKey(to_db, to));
  if (dst != map->end()) {
    if (!drop_target) return Status(ErrorCode::kNamespaceExists, "target namespace exists");
    AMALGAM_RETURN_IF_ERROR(txn->Delete(Cf::kMeta, MetaKey(to_db, to)));
    txn->AddChange(CommandRecord(*dst->second, Cmd("drop", to)));
    if (dropped_target) *dropped_target = dst->second;
  }
  auto moved = std::make_shared<CollectionInfo>(*src->second);
  moved->db = std::string(to_db);
  moved->name = std::string(to);
  AMALGAM_RETURN_IF_ERROR(txn->Delete(Cf::kMeta, MetaKey(db, from)));
  AMALGAM_RETURN_IF_ERROR(WriteRecord(*txn, *moved));
  bson::Builder cmd;
  cmd.AppendString("rename", from).StartDocument("to").AppendString("db", to_db).AppendString("coll", to).EndDocument();
  txn->AddChange(CommandRecord(*src->second, std::move(cmd).Finish()));
  next->erase(MapKey(db, from));
  (*next)[MapKey(to_db, to)] = moved;
  return CommitChange(*txn, std::move(next));
}

Result<CollectionPtr> Catalog::SetOptions(std::string_view db, std::string_view coll, bson::DocView options) {
  std::lock_guard<std::mutex> lock(write_mu_);
  auto map = Current();
  auto it = map->find(MapKey(db, coll));
  if (it == map->end()) return Status(ErrorCode::kNamespaceNotFound, "ns does not exist: " + std::string(db) + "." + std::string(coll));
  auto info = std::make_shared<CollectionInfo>(*it->second);
  info->options = bson::Document(options);
  auto txn = store_.Begin(storage::TxnOptions{});
  AMALGAM_RETURN_IF_ERROR(WriteRecord(*txn, *info));
  bson::Builder cmd;
  cmd.AppendString("collMod", coll).AppendDocument("options", options);
  txn->AddChange(CommandRecord(*info, std::move(cmd).Finish()));
  auto next = std::make_shared<Map>(*map);
  (*next)[it->first] = info;
  AMALGAM_RETURN_IF_ERROR(CommitChange(*txn, std::move(next)));
  return CollectionPtr(info);
}

Result<IndexSpec> Catalog::AddIndex(std::string_view db, std::string_view coll, IndexSpec spec, bool* existed) {
  *existed = false;
  std::lock_guard<std::mutex> lock(write_mu_);
  auto map = Current();
  auto it = map->find(MapKey(db, coll));
  if (it == map->end()) return Status(ErrorCode::kNamespaceNotFound, "ns does not exist: " + std::string(db) + "." + std::string(coll));
  for (const IndexSpec& have : it->second->indexes) {
    bool same_key = have.key_pattern.bytes() == spec.key_pattern.bytes();
    if (have.name == spec.name) {
      if (same_key && (have.is_id_index || SameOptions(have, spec))) {
        *existed = true;
        return have;
      }
      return Status(ErrorCode::kIndexKeySpecsConflict,
                    "An existing index has the same name as the requested index. When index names are not "
                    "specified, they are auto generated and can cause conflicts. Please refer to our "
                    "documentation. Requested index: " + bson::ToShellString(spec.ToListing().view()) +
                        ", existing index: " + bson::ToShellString(have.ToListing().view()));
    }
    if (same_key && (have.is_id_index || SameOptions(have, spec))) {
      return Status(ErrorCode::kIndexOptionsConflict,
                    "Index already exists with a different name: " + have.name);
    }
  }
  auto info = std::make_shared<CollectionInfo>(*it->second);
  auto txn = store_.Begin(storage::TxnOptions{});
  AMALGAM_ASSIGN_OR_RETURN(spec.id, NextId(*txn));
  info->indexes.push_back(spec);
  AMALGAM_RETURN_IF_ERROR(WriteRecord(*txn, *info));
  bson::Builder cmd;
  cmd.AppendString("createIndexes", coll).AppendDocument("spec", spec.ToListing().view());
  txn->AddChange(CommandRecord(*info, std::move(cmd).Finish()));
  auto next = std::make_shared<Map>(*map);
  (*next)[it->first] = info;
  AMALGAM_RETURN_IF_ERROR(CommitChange(*txn, std::move(next)));
  AMALGAM_LOG(kInfo, "catalog") << "added index " << spec.name << " on " << info->ns() << " (id " << spec.id << ")";
  return spec;
}

Status Catalog::SetIndexState(std::string_view db, std::string_view coll, uint64_t index_id, IndexSpec::State state) {
  std::lock_guard<std::mutex> lock(write_mu_);
  auto map = Current();
  auto it = map->find(MapKey(db, coll));
  if (it == map->end()) return Status(ErrorCode::kNamespaceNotFound, "ns does not exist");
  auto info = std::make_shared<CollectionInfo>(*it->second);
  bool found = false;
  for (IndexSpec& spec : info->indexes) {
    if (spec.id == index_id && !spec.is_id_index) {
      spec.state = state;
      found = true;
    }
  }
  if (!found) return Status(ErrorCode::kIndexNotFound, "index " + std::to_string(index_id) + " not found");
  auto txn = store_.Begin(storage::TxnOptions{});
  AMALGAM_RETURN_IF_ERROR(WriteRecord(*txn, *info));
  auto next = std::make_shared<Map>(*map);
  (*next)[it->first] = info;
  return CommitChange(*txn, std::move(next));
}

Result<IndexSpec> Catalog::DropIndex(std::string_view db, std::string_view coll, std::string_view name) {
  std::lock_guard<std::mutex> lock(write_mu_);
  auto map = Current();
  auto it = map->find(MapKey(db, coll));
  if (it == map->end()) return Status(ErrorCode::kNamespaceNotFound, "ns not found " + std::string(db) + "." + std::string(coll));
  auto info = std::make_shared<CollectionInfo>(*it->second);
  auto pos = std::find_if(info->indexes.begin(), info->indexes.end(), [&](const IndexSpec& s) { return s.name == name; });
  if (pos == info->indexes.end()) return Status(ErrorCode::kIndexNotFound, "index not found with name [" + std::string(name) + "]");
  if (pos->is_id_index) return Status(ErrorCode::kInvalidOptions, "cannot drop _id index");
  IndexSpec dropped = *pos;
  info->indexes.erase(pos);
  auto txn = store_.Begin(storage::TxnOptions{});
  AMALGAM_RETURN_IF_ERROR(WriteRecord(*txn, *info));
  bson::Builder cmd;
  // The dropped definition goes with it: change streams show it (operationDescription.indexes).
  cmd.AppendString("dropIndexes", coll).AppendString("index", name).AppendDocument("spec", dropped.ToListing().view());
  txn->AddChange(CommandRecord(*info, std::move(cmd).Finish()));
  auto next = std::make_shared<Map>(*map);
  (*next)[it->first] = info;
  AMALGAM_RETURN_IF_ERROR(CommitChange(*txn, std::move(next)));
  return dropped;
}

}  // namespace amalgam::catalog
