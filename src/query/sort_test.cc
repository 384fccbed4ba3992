// Data-driven sort tests over tests/conformance/sort/*.txt (format at the top of each file), and a
// randomized check that the comparator is a strict weak ordering consistent with CompareValues.

#include "query/sort.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <numeric>
#include <random>
#include <string>
#include <vector>

#include "bson/builder.h"
#include "query/conformance_reader.h"
#include "bson/compare.h"
#include "bson/json.h"
#include "query/projection.h"

namespace amalgam::query {
namespace {

// Parses a JSON array into its element values' owner document ({"v": [...]}).
bson::Document ParseArray(const std::string& text, const std::string& where) {
  Result<bson::Document> d = bson::FromJson("{\"v\": " + text + "}");
  EXPECT_TRUE(d.ok()) << where << ": bad JSON array: " << text;
  return d.ok() ? std::move(d).value() : bson::Document();
}

std::vector<bson::DocView> Elements(const bson::Document& holder) {
  std::vector<bson::DocView> out;
  bson::Value v = holder.view().Get("v");
  if (v.type() != bson::BsonType::kArray) return out;
  for (const bson::Element& e : v.AsDocument()) {
    if (e.value.type() == bson::BsonType::kDocument) out.push_back(e.value.AsDocument());
  }
  return out;
}

struct SortCase {
  std::string sort = "{}";
  std::string docs = "[]";
  std::string metas;  // optional, one $meta document per input document
};

void RunCase(const SortCase& c, bool want_error, const std::string& expected,
             const std::string& where) {
  Result<bson::Document> sort_doc = bson::FromJson(c.sort);
  ASSERT_TRUE(sort_doc.ok()) << where << ": bad sort JSON";
  bson::Document docs_holder = ParseArray(c.docs, where);
  std::vector<bson::DocView> docs = Elements(docs_holder);
  bson::Document metas_holder = ParseArray(c.metas.empty() ? "[]" : c.metas, where);
  std::vector<bson::DocView> metas = Elements(metas_holder);

  Status st;
  std::vector<std::string> order;
  Result<SortSpec> spec = SortSpec::Compile(sort_doc->view());
  if (!spec.ok()) {
    st = spec.status();
  } else {
    std::vector<bson::Document> keys;
    for (size_t i = 0; i < docs.size() && st.ok(); ++i) {
      Result<bson::Document> k =
          spec->SortKey(docs[i], i < metas.size() ? metas[i] : bson::DocView());
      if (!k.ok()) {
        st = k.status();
      } else {
        keys.push_back(std::move(k).value());
      }
    }
    if (st.ok()) {
      std::vector<size_t> idx(docs.size());
      std::iota(idx.begin(), idx.end(), 0);
      std::stable_sort(idx.begin(), idx.end(), [&](size_t a, size_t b) {
        return spec->CompareKeys(keys[a].view(), keys[b].view()) < 0;
      });
      for (size_t i : idx) {
        bson::Builder b;
        b.AppendValue("v", docs[i].Get("_id"));
        std::string j = bson::ToJson(std::move(b).Finish().view());
        order.push_back(j);
      }
      if (metas.empty()) {
        // Compare() on documents must agree with CompareKeys() on their keys.
        std::vector<size_t> idx2(docs.size());
        std::iota(idx2.begin(), idx2.end(), 0);
        std::stable_sort(idx2.begin(), idx2.end(),
                         [&](size_t a, size_t b) { return spec->Compare(docs[a], docs[b]) < 0; });
        EXPECT_EQ(idx, idx2) << where << ": Compare() and CompareKeys() disagree";
      }
    }
  }
  if (want_error) {
    size_t space = expected.find(' ');
    int32_t code = std::stoi(expected.substr(0, space));
    std::string msg = space == std::string::npos ? "" : expected.substr(space + 1);
    ASSERT_FALSE(st.ok()) << where << ": expected error " << expected;
    EXPECT_EQ(st.code(), MongoCodedError(code, "").code()) << where << ": got " << st.ToString();
    if (!msg.empty()) {
      EXPECT_EQ(std::string(st.message()), msg) << where;
    }
    return;
  }
  ASSERT_TRUE(st.ok()) << where << ": " << st.ToString();
  // Expected: a JSON array of _id values.
  bson::Document want_holder = ParseArray(expected, where);
  std::vector<std::string> want;
  for (const bson::Element& e : want_holder.view().Get("v").AsDocument()) {
    bson::Builder b;
    b.AppendValue("v", e.value);
    want.push_back(bson::ToJson(std::move(b).Finish().view()));
  }
  EXPECT_EQ(order, want) << where << ": sort " << c.sort;
}

int RunFile(const std::filesystem::path& file) {
  int cases = 0;
  SortCase c;
  testing::ForEachEntry(file, [&](const std::string& key, const std::string& rest, const std::string& where) {
    if (key == "sort") {
      c.sort = rest;
    } else if (key == "docs") {
      c.docs = rest;
      c.metas.clear();
    } else if (key == "metas") {
      c.metas = rest;
    } else if (key == "expect" || key == "error") {
      RunCase(c, key == "error", rest, where);
      ++cases;
    } else {
      ADD_FAILURE() << where << ": unknown key " << key;
    }
  });
  return cases;
}

TEST(SortConformanceTest, MatchesMongoDB70) {
  std::vector<std::filesystem::path> files;
  for (const auto& e : std::filesystem::directory_iterator(SORT_CONFORMANCE_DIR)) {
    if (e.path().extension() == ".txt") files.push_back(e.path());
  }
  std::sort(files.begin(), files.end());
  ASSERT_FALSE(files.empty());
  int total = 0;
  for (const auto& f : files) total += RunFile(f);
  std::cout << "sort conformance cases: " << total << "\n";
  EXPECT_GE(total, 80);
}

// ---- Randomized
// ----------------------------------------------------------------------------------

void AppendRandomValue(std::mt19937_64& rng, bson::Builder& b, std::string_view name, int depth) {
  static const uint8_t kOid[12] = {1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12};
  switch (rng() % (depth > 1 ? 10 : 12)) {
    case 0:
      b.AppendInt32(name, static_cast<int32_t>(rng() % 7) - 3);
      break;
    case 1:
      b.AppendInt64(name, static_cast<int64_t>(rng() % 7) - 3);
      break;
    case 2:
      b.AppendDouble(name, (static_cast<int>(rng() % 13) - 6) / 2.0);
      break;
    case 3:
      b.AppendString(name, std::string(1, static_cast<char>('a' + rng() % 3)));
      break;
    case 4:
      b.AppendNull(name);
      break;
    case 5:
      b.AppendBool(name, rng() % 2);
      break;
    case 6:
      b.AppendDate(name, static_cast<int64_t>(rng() % 5));
      break;
    case 7:
      b.AppendObjectId(name, std::span<const uint8_t, 12>(kOid, 12));
      break;
    case 8:
      b.AppendMinKey(name);
      break;
    case 9:
      b.AppendMaxKey(name);
      break;
    case 10: {
      b.StartArray(name);
      bson::ArrayBuilder ab(b);
      int n = static_cast<int>(rng() % 4);
      for (int i = 0; i < n; ++i) AppendRandomValue(rng, b, ab.Next(), depth + 1);
      b.EndArray();
      break;
    }
    default: {
      b.StartDocument(name);
      if (rng() % 2) AppendRandomValue(rng, b, "b", depth + 1);
      if (rng() % 2) AppendRandomValue(rng, b, "c", depth + 1);
      b.EndDocument();
      break;
    }
  }
}

bson::Document RandomDoc(std::mt19937_64& rng, int id) {
  bson::Builder b;
  b.AppendInt32("_id", id);
  if (rng() % 6 != 0) AppendRandomValue(rng, b, "a", 0);
  if (rng() % 6 != 0) AppendRandomValue(rng, b, "x", 2);  // scalars only
  return std::move(b).Finish();
}

TEST(SortRandomTest, ComparatorIsAStrictWeakOrdering) {
  const uint64_t seed = std::random_device{}();
  std::cout << "SortRandomTest seed " << seed << "\n";
  std::mt19937_64 rng(seed);
  const char* specs[] = {R"({"a": 1})", R"({"a": -1})", R"({"a.b": 1, "x": -1})",
                         R"({"x": 1, "a": -1})", R"({"a.c": -1, "a.b": 1})"};
  for (const char* spec_json : specs) {
    SCOPED_TRACE(spec_json);
    Result<SortSpec> spec = SortSpec::Compile(bson::FromJson(spec_json).value().view());
    ASSERT_TRUE(spec.ok());
    std::vector<bson::Document> docs;
    std::vector<bson::Document> keys;
    for (int i = 0; i < 60; ++i) {
      bson::Document d = RandomDoc(rng, i);
      Result<bson::Document> k = spec->SortKey(d.view());
      if (!k.ok()) continue;  // parallel arrays
      docs.push_back(std::move(d));
      keys.push_back(std::move(k).value());
    }
    auto cmp = [&](size_t i, size_t j) {
      return spec->CompareKeys(keys[i].view(), keys[j].view());
    };
    for (size_t i = 0; i < docs.size(); ++i) {
      ASSERT_EQ(cmp(i, i), 0) << "irreflexive: " << bson::ToJson(docs[i].view());
      for (size_t j = 0; j < docs.size(); ++j) {
        ASSERT_EQ(cmp(i, j) < 0, cmp(j, i) > 0) << "antisymmetric";
        ASSERT_EQ(spec->Compare(docs[i].view(), docs[j].view()) < 0, cmp(i, j) < 0);
        for (size_t k = 0; k < docs.size(); k += 7) {
          if (cmp(i, j) < 0 && cmp(j, k) < 0) {
            ASSERT_LT(cmp(i, k), 0) << "transitive <";
          }
          if (cmp(i, j) == 0 && cmp(j, k) == 0) {
            ASSERT_EQ(cmp(i, k), 0) << "transitive ==";
          }
        }
      }
    }
  }
}

TEST(SortRandomTest, ScalarFieldsOrderLikeCompareValues) {
  const uint64_t seed = std::random_device{}();
  std::cout << "SortRandomTest seed " << seed << "\n";
  std::mt19937_64 rng(seed);
  Result<SortSpec> asc = SortSpec::Compile(bson::FromJson(R"({"x": 1})").value().view());
  Result<SortSpec> desc = SortSpec::Compile(bson::FromJson(R"({"x": -1})").value().view());
  ASSERT_TRUE(asc.ok() && desc.ok());
  static const uint8_t kNull[1] = {0};
  const bson::Value null_value(bson::BsonType::kNull, kNull, 0);
  for (int n = 0; n < 2000; ++n) {
    bson::Document a = RandomDoc(rng, 1);
    bson::Document b = RandomDoc(rng, 2);
    bson::Value va = a.view().Get("x");
    bson::Value vb = b.view().Get("x");
    // Missing sorts as null.
    int want = bson::CompareValues(va.missing() ? null_value : va, vb.missing() ? null_value : vb);
    auto sign = [](int c) { return (c > 0) - (c < 0); };
    ASSERT_EQ(sign(asc->Compare(a.view(), b.view())), sign(want))
        << bson::ToJson(a.view()) << " vs " << bson::ToJson(b.view());
    ASSERT_EQ(sign(desc->Compare(a.view(), b.view())), -sign(want));
  }
}

TEST(SortTest, MetaSortsByCallerValuesDescending) {
  Result<SortSpec> spec = SortSpec::Compile(
      bson::FromJson(R"({"s": {"$meta": "textScore"}, "_id": 1})").value().view());
  ASSERT_TRUE(spec.ok()) << spec.status().ToString();
  bson::Document d1 = bson::FromJson(R"({"_id": 1})").value();
  bson::Document d2 = bson::FromJson(R"({"_id": 2})").value();
  bson::Document m1 = bson::FromJson(R"({"textScore": 0.5})").value();
  bson::Document m2 = bson::FromJson(R"({"textScore": 2.5})").value();
  bson::Document k1 = spec->SortKey(d1.view(), m1.view()).value();
  bson::Document k2 = spec->SortKey(d2.view(), m2.view()).value();
  EXPECT_GT(spec->CompareKeys(k1.view(), k2.view()), 0);
  EXPECT_LT(spec->CompareKeys(k2.view(), k1.view()), 0);
}

}  // namespace
}  // namespace amalgam::query
