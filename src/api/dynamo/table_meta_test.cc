// TableMeta is a persisted format (collection options): encode/decode must round-trip.
#include "api/dynamo/table_meta.h"

#include <gtest/gtest.h>

#include "bson/builder.h"

namespace amalgam::api::dynamo {
namespace {

TEST(TableMetaTest, RoundTripsThroughCollectionOptions) {
  TableMeta m;
  m.name = "Music";
  m.key.hash_name = "Artist";
  m.key.hash_type = model::AttrType::kS;
  m.key.range_name = "Year";
  m.key.range_type = model::AttrType::kN;
  m.attribute_definitions = {{"Artist", 'S'}, {"Year", 'N'}, {"Genre", 'B'}};
  m.throughput = {5, 7};
  SecondaryIndex gsi;
  gsi.name = "ByGenre";
  gsi.key.hash_name = "Genre";
  gsi.key.hash_type = model::AttrType::kB;
  gsi.projection = "INCLUDE";
  gsi.non_key = {"Album", "Label"};
  gsi.throughput = {1, 2};
  m.indexes.push_back(gsi);
  m.stream_enabled = true;
  m.stream_view_type = "NEW_IMAGE";
  m.stream_label = "2024-01-01T00:00:00.000";
  m.tags = {{"env", "dev"}};
  m.ttl_attribute = "exp";
  m.ttl_enabled = true;
  m.sse_enabled = true;
  m.sse_type = "KMS";
  m.table_class = "STANDARD";
  m.creation_time = 1700000000.5;
  m.table_id = "0b8c6ba1-5c5c-4a59-9d8c-000000000000";

  bson::Builder b;
  b.AppendBool("other", true).AppendDocument("dynamodb", EncodeTableMeta(m).view());
  bson::Document options = std::move(b).Finish();
  Result<std::optional<TableMeta>> decoded = DecodeTableMeta(options.view());
  ASSERT_TRUE(decoded.ok()) << decoded.status().ToString();
  ASSERT_TRUE(decoded->has_value());
  const TableMeta& d = **decoded;
  EXPECT_EQ(d.name, "Music");
  EXPECT_EQ(d.key.hash_name, "Artist");
  ASSERT_TRUE(d.key.has_range());
  EXPECT_EQ(*d.key.range_name, "Year");
  EXPECT_EQ(d.key.range_type, model::AttrType::kN);
  EXPECT_EQ(d.attribute_definitions, m.attribute_definitions);
  EXPECT_EQ(d.throughput.read, 5);
  ASSERT_EQ(d.indexes.size(), 1u);
  EXPECT_EQ(d.indexes[0].name, "ByGenre");
  EXPECT_EQ(d.indexes[0].key.hash_type, model::AttrType::kB);
  EXPECT_FALSE(d.indexes[0].key.has_range());
  EXPECT_EQ(d.indexes[0].non_key, gsi.non_key);
  EXPECT_EQ(d.indexes[0].throughput.write, 2);
  EXPECT_TRUE(d.stream_enabled);
  EXPECT_EQ(d.stream_label, m.stream_label);
  EXPECT_EQ(d.tags, m.tags);
  EXPECT_EQ(d.ttl_attribute, "exp");
  EXPECT_TRUE(d.sse_enabled);
  EXPECT_DOUBLE_EQ(d.creation_time, 1700000000.5);
  EXPECT_EQ(d.table_id, m.table_id);
}

TEST(TableMetaTest, CollectionsWithoutDescriptionAreNotTables) {
  Result<std::optional<TableMeta>> none = DecodeTableMeta(bson::DocView());
  ASSERT_TRUE(none.ok());
  EXPECT_FALSE(none->has_value());
  bson::Builder b;
  b.AppendInt32("dynamodb", 3);
  bson::Document bad = std::move(b).Finish();
  EXPECT_EQ(DecodeTableMeta(bad.view()).status().code(), ErrorCode::kDataCorruption);
}

}  // namespace
}  // namespace amalgam::api::dynamo
