// Data-driven aggregation tests over tests/conformance/aggregate/*.txt (format in README.txt
// there), plus unit tests for the access-path prefix and the memory limits.

#include "query/pipeline.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <string>
#include <vector>

#include "bson/builder.h"
#include "query/conformance_reader.h"
#include "bson/json.h"
#include "query/matcher.h"
#include "query/projection.h"
#include "query/sort.h"

namespace amalgam::query {
namespace {

// {"v": <json>} parsed; an empty document when the JSON is bad (and a test failure).
bson::Document Wrap(const std::string& json, const std::string& where) {
  Result<bson::Document> d = bson::FromJson("{\"v\": " + json + "}");
  EXPECT_TRUE(d.ok()) << where << ": bad JSON: " << json;
  return d.ok() ? std::move(d).value() : bson::Document();
}

std::vector<bson::Document> DocsOf(const bson::Document& holder) {
  std::vector<bson::Document> out;
  bson::Value v = holder.view().Get("v");
  if (v.type() != bson::BsonType::kArray) return out;
  for (const bson::Element& e : v.AsDocument()) {
    if (e.value.type() == bson::BsonType::kDocument) out.emplace_back(e.value.AsDocument());
  }
  return out;
}

// The "collections" option: named document arrays that $lookup/$unionWith read, filtered with the
// matcher (the command layer plans the same filters over real collections).
class TestCollections final : public CollectionSource {
 public:
  explicit TestCollections(bson::Document colls) : colls_(std::move(colls)) {}
  Result<std::unique_ptr<Stage>> Open(std::string_view coll, bson::DocView filter) const override {
    AMALGAM_ASSIGN_OR_RETURN(Matcher m, Matcher::Compile(filter, MatchContext{}));
    std::vector<bson::Document> docs;
    bson::Value v = colls_.view().Get(coll);
    if (v.type() == bson::BsonType::kArray) {
      for (const bson::Element& e : v.AsDocument()) {
        AMALGAM_ASSIGN_OR_RETURN(bool ok, m.Evaluate(e.value.AsDocument()));
        if (ok) docs.emplace_back(e.value.AsDocument());
      }
    }
    return MakeVectorStage(std::move(docs));
  }

 private:
  bson::Document colls_;
};

struct Case {
  std::string docs = "[]";
  std::string options = "{}";
  std::string pipeline = "[]";
};

// Runs the pipeline over `docs`: either whole, or with its access prefix applied the simple way
// (filter, sort, skip, limit) before the remaining stages, the way the aggregate command runs it.
Result<std::vector<std::string>> Run(const Case& c, bool use_prefix, const std::string& where) {
  bson::Document opts = Wrap(c.options, where);
  bson::DocView o = opts.view().Get("v").AsDocument();
  PipelineContext ctx;
  if (bson::Value v = o.Get("allowDiskUse"); v.type() == bson::BsonType::kBool)
    ctx.allow_disk_use = v.AsBool();
  if (bson::Value v = o.Get("memoryLimit"); v.IsNumber())
    ctx.memory_limit_bytes = static_cast<size_t>(v.NumberAsDouble());
  if (bson::Value v = o.Get("let"); v.type() == bson::BsonType::kDocument)
    ctx.variables = v.AsDocument();
  if (bson::Value v = o.Get("collectionless"); v.type() == bson::BsonType::kBool)
    ctx.collectionless = v.AsBool();
  ctx.random_seed = 42;
  if (bson::Value v = o.Get("collections"); v.type() == bson::BsonType::kDocument)
    ctx.collections = std::make_shared<TestCollections>(bson::Document(v.AsDocument()));
  bson::Document stages = Wrap(c.pipeline, where);
  bson::Value sv = stages.view().Get("v");
  if (sv.type() != bson::BsonType::kArray)
    return Status(ErrorCode::kBadValue, "pipeline is not an array");
  AMALGAM_ASSIGN_OR_RETURN(Pipeline p, Pipeline::Compile(sv.AsDocument(), ctx));
  std::vector<bson::Document> input = DocsOf(Wrap(c.docs, where));
  size_t from = 0;
  if (use_prefix) {
    const AccessPrefix& pre = p.access_prefix();
    from = pre.stages;
    if (!pre.filter.view().empty()) {
      AMALGAM_ASSIGN_OR_RETURN(Matcher m,
                               Matcher::Compile(pre.filter.view(), MatchContext{p.variables()}));
      std::vector<bson::Document> kept;
      for (bson::Document& d : input) {
        AMALGAM_ASSIGN_OR_RETURN(bool ok, m.Evaluate(d.view()));
        if (ok) kept.push_back(std::move(d));
      }
      input = std::move(kept);
    }
    if (!pre.sort.view().empty()) {
      AMALGAM_ASSIGN_OR_RETURN(SortSpec s, SortSpec::Compile(pre.sort.view()));
      std::stable_sort(input.begin(), input.end(),
                       [&](const bson::Document& a, const bson::Document& b) {
                         return s.Compare(a.view(), b.view()) < 0;
                       });
    }
    size_t skip = std::min(input.size(), static_cast<size_t>(pre.skip));
    input.erase(input.begin(), input.begin() + static_cast<ptrdiff_t>(skip));
    if (pre.limit > 0 && input.size() > static_cast<size_t>(pre.limit))
      input.resize(static_cast<size_t>(pre.limit));
  }
  std::unique_ptr<Stage> stage = p.Build(MakeVectorStage(std::move(input)), from);
  std::vector<std::string> out;
  Row row;
  while (true) {
    AMALGAM_ASSIGN_OR_RETURN(bool more, stage->Next(&row));
    if (!more) break;
    out.push_back(bson::ToJson(row.doc.view()));
  }
  return out;
}

std::vector<std::string> Expected(const std::string& json, const std::string& where) {
  std::vector<std::string> out;
  for (const bson::Document& d : DocsOf(Wrap(json, where))) out.push_back(bson::ToJson(d.view()));
  return out;
}

std::string Join(const std::vector<std::string>& v) {
  std::string s;
  for (const std::string& x : v) s += "  " + x + "\n";
  return s;
}

void Check(const Case& c, const std::string& key, const std::string& rest,
           const std::string& where) {
  for (bool prefix : {false, true}) {
    std::string how = prefix ? " (access prefix)" : "";
    Result<std::vector<std::string>> got = Run(c, prefix, where);
    if (key == "error") {
      size_t space = rest.find(' ');
      int32_t code = std::stoi(rest.substr(0, space));
      std::string msg = space == std::string::npos ? "" : rest.substr(space + 1);
      ASSERT_FALSE(got.ok()) << where << how << ": expected error " << rest << ", got\n"
                             << Join(*got);
      EXPECT_EQ(got.status().code(), MongoCodedError(code, "").code())
          << where << how << ": " << got.status().ToString();
      EXPECT_NE(std::string(got.status().message()).find(msg), std::string::npos)
          << where << how << ": message " << got.status().message() << " lacks " << msg;
      continue;
    }
    ASSERT_TRUE(got.ok()) << where << how << ": " << got.status().ToString();
    std::vector<std::string> want = Expected(rest, where);
    std::vector<std::string> have = *got;
    if (key == "expect anyOrder") {
      std::sort(want.begin(), want.end());
      std::sort(have.begin(), have.end());
    }
    EXPECT_EQ(have, want) << where << how << ": pipeline " << c.pipeline << "\ngot:\n"
                          << Join(have) << "want:\n"
                          << Join(want);
  }
}

int RunFile(const std::filesystem::path& file) {
  int cases = 0;
  Case c;
  testing::ForEachEntry(file, [&](const std::string& key, const std::string& rest, const std::string& where) {
    if (key == "docs") {
      c.docs = rest;
    } else if (key == "options") {
      c.options = rest;
    } else if (key == "pipeline") {
      c.pipeline = rest;
    } else if (key == "expect" || key == "expect anyOrder" || key == "error") {
      Check(c, key, rest, where);
      ++cases;
    } else {
      ADD_FAILURE() << where << ": unknown key " << key;
    }
  });
  return cases;
}

TEST(AggregateConformanceTest, MatchesMongoDB70) {
  std::vector<std::filesystem::path> files;
  for (const auto& e : std::filesystem::directory_iterator(AGGREGATE_CONFORMANCE_DIR)) {
    if (e.path().extension() == ".txt" && e.path().filename() != "README.txt")
      files.push_back(e.path());
  }
  std::sort(files.begin(), files.end());
  ASSERT_FALSE(files.empty());
  int total = 0;
  for (const auto& f : files) total += RunFile(f);
  std::cout << "aggregate conformance cases: " << total << "\n";
  EXPECT_GE(total, 120);
}

Pipeline MustCompile(const std::string& json, PipelineContext ctx = {}) {
  bson::Document d = Wrap(json, "unit");
  Result<Pipeline> p = Pipeline::Compile(d.view().Get("v").AsDocument(), ctx);
  EXPECT_TRUE(p.ok()) << p.status().ToString();
  return std::move(p).value();
}

TEST(PipelineTest, AccessPrefixTakesLeadingMatchSortSkipLimit) {
  Pipeline p = MustCompile(
      R"([{"$match": {"a": 1}}, {"$sort": {"b": -1}}, {"$skip": 2}, {"$limit": 3}, {"$project": {"a": 1}}])");
  const AccessPrefix& pre = p.access_prefix();
  EXPECT_EQ(pre.stages, 4u);
  EXPECT_EQ(bson::ToJson(pre.filter.view()),
            bson::ToJson(Wrap(R"({"a": 1})", "").view().Get("v").AsDocument()));
  EXPECT_EQ(pre.skip, 2);
  EXPECT_EQ(pre.limit, 3);
  EXPECT_FALSE(pre.sort.view().empty());
}

TEST(PipelineTest, AccessPrefixStopsAtOutOfOrderStages) {
  EXPECT_EQ(MustCompile(R"([{"$limit": 3}, {"$skip": 1}])").access_prefix().stages,
            1u);  // the $limit only
  EXPECT_EQ(MustCompile(R"([{"$match": {}}, {"$limit": 3}, {"$skip": 1}])").access_prefix().stages,
            2u);
  EXPECT_EQ(MustCompile(R"([{"$group": {"_id": 1}}, {"$match": {"a": 1}}])").access_prefix().stages,
            0u);
  EXPECT_EQ(MustCompile(R"([{"$skip": 1}, {"$limit": 2}])").access_prefix().stages, 2u);
  PipelineContext db;
  db.collectionless = true;
  EXPECT_EQ(MustCompile(R"([{"$documents": [{"a": 1}]}, {"$match": {"a": 1}}])", db)
                .access_prefix()
                .stages,
            0u);
}

TEST(PipelineTest, BlockingStagesFailPastTheMemoryLimitUnlessDiskUseIsAllowed) {
  std::vector<bson::Document> docs;
  for (int i = 0; i < 200; ++i) {
    bson::Builder b;
    b.AppendInt32("_id", i).AppendString("s", std::string(100, 'x'));
    docs.push_back(std::move(b).Finish());
  }
  for (const char* json :
       {R"([{"$sort": {"s": 1}}])", R"([{"$group": {"_id": "$_id", "v": {"$push": "$s"}}}])",
        R"([{"$facet": {"a": [{"$match": {}}]}}])", R"([{"$sample": {"size": 1000}}])",
        R"([{"$bucketAuto": {"groupBy": "$_id", "buckets": 3}}])",
        R"([{"$setWindowFields": {"sortBy": {"_id": 1}, "output": {"n": {"$documentNumber": {}}}}}])"}) {
    for (bool disk : {false, true}) {
      PipelineContext ctx;
      ctx.memory_limit_bytes = 4096;
      ctx.allow_disk_use = disk;
      Pipeline p = MustCompile(json, ctx);
      std::unique_ptr<Stage> s = p.Build(MakeVectorStage(docs));
      Row row;
      Result<bool> r = s->Next(&row);
      if (disk) {
        EXPECT_TRUE(r.ok()) << json << ": " << r.status().ToString();
      } else {
        ASSERT_FALSE(r.ok()) << json;
        EXPECT_EQ(r.status().code(), ErrorCode::kQueryExceededMemoryLimit) << json;
      }
    }
  }
}

TEST(PipelineTest, SampleReturnsDistinctInputDocuments) {
  std::vector<bson::Document> docs;
  for (int i = 0; i < 50; ++i) {
    bson::Builder b;
    b.AppendInt32("_id", i);
    docs.push_back(std::move(b).Finish());
  }
  Pipeline p = MustCompile(R"([{"$sample": {"size": 10}}])");
  std::unique_ptr<Stage> s = p.Build(MakeVectorStage(docs));
  std::vector<int> ids;
  Row row;
  while (*s->Next(&row)) ids.push_back(row.doc.view().Get("_id").AsInt32());
  ASSERT_EQ(ids.size(), 10u);
  std::sort(ids.begin(), ids.end());
  EXPECT_EQ(std::unique(ids.begin(), ids.end()), ids.end());
}

}  // namespace
}  // namespace amalgam::query
