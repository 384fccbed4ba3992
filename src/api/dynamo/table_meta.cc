#include "api/dynamo/table_meta.h"

#include "bson/builder.h"

namespace amalgam::api::dynamo {

namespace {

using bson::BsonType;

void EncodeKey(bson::Builder& b, const KeySchema& key) {
  char ht = KeyTypeChar(key.hash_type);
  b.AppendString("hash", key.hash_name).AppendString("hashType", std::string_view(&ht, 1));
  if (key.has_range()) {
    char rt = KeyTypeChar(key.range_type);
    b.AppendString("range", *key.range_name).AppendString("rangeType", std::string_view(&rt, 1));
  }
}

Status Corrupt(std::string_view what) {
  return Status(ErrorCode::kDataCorruption,
                "malformed DynamoDB table description in collection options: " + std::string(what));
}

std::string Str(bson::DocView d, std::string_view name) {
  bson::Value v = d.Get(name);
  return v.type() == BsonType::kString ? std::string(v.AsString()) : std::string();
}
int64_t Int(bson::DocView d, std::string_view name) {
  bson::Value v = d.Get(name);
  return v.IsNumber() ? static_cast<int64_t>(v.NumberAsDouble()) : 0;
}
double Double(bson::DocView d, std::string_view name) {
  bson::Value v = d.Get(name);
  return v.IsNumber() ? v.NumberAsDouble() : 0;
}
bool Bool(bson::DocView d, std::string_view name) {
  bson::Value v = d.Get(name);
  return v.type() == BsonType::kBool && v.AsBool();
}

Status DecodeKey(bson::DocView d, KeySchema* key) {
  key->hash_name = Str(d, "hash");
  std::string ht = Str(d, "hashType");
  if (key->hash_name.empty() || ht.size() != 1 || !KeyTypeFromChar(ht[0], &key->hash_type)) {
    return Corrupt("key schema");
  }
  if (d.Get("range").type() == BsonType::kString) {
    key->range_name = Str(d, "range");
    std::string rt = Str(d, "rangeType");
    if (rt.size() != 1 || !KeyTypeFromChar(rt[0], &key->range_type)) return Corrupt("key schema");
  }
  return Status::OK();
}

}  // namespace

char KeyTypeChar(model::AttrType type) {
  switch (type) {
    case model::AttrType::kN:
      return 'N';
    case model::AttrType::kB:
      return 'B';
    default:
      return 'S';
  }
}

bool KeyTypeFromChar(char c, model::AttrType* type) {
  switch (c) {
    case 'S':
      *type = model::AttrType::kS;
      return true;
    case 'N':
      *type = model::AttrType::kN;
      return true;
    case 'B':
      *type = model::AttrType::kB;
      return true;
    default:
      return false;
  }
}

const SecondaryIndex* TableMeta::FindIndex(std::string_view index_name) const {
  for (const SecondaryIndex& index : indexes) {
    if (index.name == index_name) return &index;
  }
  return nullptr;
}

const VectorIndexMeta* TableMeta::FindVectorIndex(std::string_view index_name) const {
  for (const VectorIndexMeta& v : vector_indexes) {
    if (v.name == index_name) return &v;
  }
  return nullptr;
}

char TableMeta::AttributeType(std::string_view attr) const {
  for (const auto& [name, type] : attribute_definitions) {
    if (name == attr) return type;
  }
  return 0;
}

bson::Document EncodeTableMeta(const TableMeta& m) {
  bson::Builder b;
  b.AppendString("name", m.name);
  b.StartDocument("key");
  EncodeKey(b, m.key);
  b.EndDocument();
  b.StartArray("attributes");
  {
    bson::ArrayBuilder a(b);
    for (const auto& [name, type] : m.attribute_definitions) {
      b.StartDocument(a.Next()).AppendString("name", name).AppendString("type", std::string_view(&type, 1));
      b.EndDocument();
    }
  }
  b.EndArray();
  b.AppendBool("payPerRequest", m.pay_per_request);
  b.AppendInt64("read", m.throughput.read).AppendInt64("write", m.throughput.write);
  b.StartArray("indexes");
  {
    bson::ArrayBuilder a(b);
    for (const SecondaryIndex& index : m.indexes) {
      b.StartDocument(a.Next());
      b.AppendString("name", index.name).AppendBool("global", index.global);
      b.StartDocument("key");
      EncodeKey(b, index.key);
      b.EndDocument();
      b.AppendString("projection", index.projection);
      b.StartArray("nonKey");
      bson::ArrayBuilder na(b);
      for (const std::string& attr : index.non_key) b.AppendString(na.Next(), attr);
      b.EndArray();
      b.AppendInt64("read", index.throughput.read).AppendInt64("write", index.throughput.write);
      b.EndDocument();
    }
  }
  b.EndArray();
  b.AppendBool("streamEnabled", m.stream_enabled);
  b.AppendString("streamViewType", m.stream_view_type);
  b.AppendString("streamLabel", m.stream_label);
  b.StartArray("tags");
  {
    bson::ArrayBuilder a(b);
    for (const auto& [k, v] : m.tags) {
      b.StartDocument(a.Next()).AppendString("key", k).AppendString("value", v).EndDocument();
    }
  }
  b.EndArray();
  b.AppendString("ttlAttribute", m.ttl_attribute).AppendBool("ttlEnabled", m.ttl_enabled);
  b.AppendBool("sseEnabled", m.sse_enabled).AppendString("sseType", m.sse_type);
  b.AppendString("sseKmsKey", m.sse_kms_key);
  b.AppendString("tableClass", m.table_class);
  b.AppendBool("deletionProtection", m.deletion_protection);
  b.AppendDouble("created", m.creation_time);
  b.AppendDouble("lastIncrease", m.last_increase_time);
  b.AppendDouble("lastDecrease", m.last_decrease_time);
  b.AppendString("tableId", m.table_id);
  if (!m.vector_indexes.empty()) {
    b.StartArray("vectorIndexes");
    bson::ArrayBuilder a(b);
    for (const VectorIndexMeta& v : m.vector_indexes) {
      b.StartDocument(a.Next()).AppendString("name", v.name).AppendString("projection", v.projection);
      b.StartArray("hash");
      bson::ArrayBuilder ha(b);
      for (const std::string& attr : v.hash) b.AppendString(ha.Next(), attr);
      b.EndArray();
      b.StartArray("nonKey");
      bson::ArrayBuilder na(b);
      for (const std::string& attr : v.non_key) b.AppendString(na.Next(), attr);
      b.EndArray();
      b.EndDocument();
    }
    b.EndArray();
  }
  return std::move(b).Finish();
}

Result<std::optional<TableMeta>> DecodeTableMeta(bson::DocView options) {
  bson::Value v = options.Get("dynamodb");
  if (v.missing()) return std::optional<TableMeta>();
  if (v.type() != BsonType::kDocument) return Corrupt("not a document");
  bson::DocView d = v.AsDocument();
  TableMeta m;
  m.name = Str(d, "name");
  bson::Value key = d.Get("key");
  if (key.type() != BsonType::kDocument) return Corrupt("key");
  AMALGAM_RETURN_IF_ERROR(DecodeKey(key.AsDocument(), &m.key));
  bson::Value attrs = d.Get("attributes");
  if (attrs.type() != BsonType::kArray) return Corrupt("attributes");
  for (const bson::Element& e : attrs.AsDocument()) {
    if (e.value.type() != BsonType::kDocument) return Corrupt("attributes");
    std::string type = Str(e.value.AsDocument(), "type");
    if (type.size() != 1) return Corrupt("attribute type");
    m.attribute_definitions.emplace_back(Str(e.value.AsDocument(), "name"), type[0]);
  }
  m.pay_per_request = Bool(d, "payPerRequest");
  m.throughput = {Int(d, "read"), Int(d, "write")};
  bson::Value indexes = d.Get("indexes");
  if (indexes.type() == BsonType::kArray) {
    for (const bson::Element& e : indexes.AsDocument()) {
      if (e.value.type() != BsonType::kDocument) return Corrupt("indexes");
      bson::DocView id = e.value.AsDocument();
      SecondaryIndex index;
      index.name = Str(id, "name");
      index.global = Bool(id, "global");
      bson::Value ik = id.Get("key");
      if (ik.type() != BsonType::kDocument) return Corrupt("index key");
      AMALGAM_RETURN_IF_ERROR(DecodeKey(ik.AsDocument(), &index.key));
      index.projection = Str(id, "projection");
      bson::Value nk = id.Get("nonKey");
      if (nk.type() == BsonType::kArray) {
        for (const bson::Element& a : nk.AsDocument()) {
          if (a.value.type() == BsonType::kString) index.non_key.emplace_back(a.value.AsString());
        }
      }
      index.throughput = {Int(id, "read"), Int(id, "write")};
      m.indexes.push_back(std::move(index));
    }
  }
  m.stream_enabled = Bool(d, "streamEnabled");
  m.stream_view_type = Str(d, "streamViewType");
  m.stream_label = Str(d, "streamLabel");
  bson::Value tags = d.Get("tags");
  if (tags.type() == BsonType::kArray) {
    for (const bson::Element& e : tags.AsDocument()) {
      if (e.value.type() != BsonType::kDocument) return Corrupt("tags");
      m.tags.emplace_back(Str(e.value.AsDocument(), "key"), Str(e.value.AsDocument(), "value"));
    }
  }
  m.ttl_attribute = Str(d, "ttlAttribute");
  m.ttl_enabled = Bool(d, "ttlEnabled");
  m.sse_enabled = Bool(d, "sseEnabled");
  m.sse_type = Str(d, "sseType");
  m.sse_kms_key = Str(d, "sseKmsKey");
  m.table_class = Str(d, "tableClass");
  m.deletion_protection = Bool(d, "deletionProtection");
  m.creation_time = Double(d, "created");
  m.last_increase_time = Double(d, "lastIncrease");
  m.last_decrease_time = Double(d, "lastDecrease");
  m.table_id = Str(d, "tableId");
  bson::Value vectors = d.Get("vectorIndexes");
  if (vectors.type() == BsonType::kArray) {
    for (const bson::Element& e : vectors.AsDocument()) {
      if (e.value.type() != BsonType::kDocument) return Corrupt("vectorIndexes");
      bson::DocView vd = e.value.AsDocument();
      VectorIndexMeta v;
      v.name = Str(vd, "name");
      v.projection = Str(vd, "projection");
      for (const char* field : {"hash", "nonKey"}) {
        bson::Value list = vd.Get(field);
        if (list.type() != BsonType::kArray) continue;
        for (const bson::Element& a : list.AsDocument()) {
          if (a.value.type() == BsonType::kString) {
            (field[0] == 'h' ? v.hash : v.non_key).emplace_back(a.value.AsString());
          }
        }
      }
      m.vector_indexes.push_back(std::move(v));
    }
  }
  return std::optional<TableMeta>(std::move(m));
}

}  // namespace amalgam::api::dynamo
