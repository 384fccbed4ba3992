// Data-driven projection tests: every tests/conformance/projection/*.txt file (format at the top of
// each file), plus a few API checks.

#include "query/projection.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <filesystem>
#include <fstream>
#include <string>
#include <vector>

#include "bson/builder.h"
#include "query/conformance_reader.h"
#include "bson/json.h"
#include "common/error_codes.h"
#include "query/matcher.h"

namespace amalgam::query {
namespace {

bson::Document ParseJson(const std::string& text, const std::string& where) {
  Result<bson::Document> d = bson::FromJson(text);
  EXPECT_TRUE(d.ok()) << where << ": bad JSON: " << text << ": " << d.status().ToString();
  return d.ok() ? std::move(d).value() : bson::Document();
}

// Checks a failed status against "CODE message" (message may end in "..." for a prefix match).
void ExpectError(const Status& st, const std::string& spec, const std::string& where) {
  size_t space = spec.find(' ');
  int32_t code = std::stoi(spec.substr(0, space));
  std::string msg = space == std::string::npos ? "" : spec.substr(space + 1);
  ASSERT_FALSE(st.ok()) << where << ": expected error " << spec;
  EXPECT_EQ(st.code(), MongoCodedError(code, "").code())
      << where << ": got " << st.ToString() << ", expected MongoDB code " << code;
  std::string actual(st.message());
  if (msg.size() >= 3 && msg.ends_with("...")) {
    std::string prefix = msg.substr(0, msg.size() - 3);
    EXPECT_EQ(actual.substr(0, prefix.size()), prefix) << where;
  } else if (!msg.empty()) {
    EXPECT_EQ(actual, msg) << where;
  }
}

struct CaseState {
  std::string doc = "{}";
  std::string proj = "{}";
  std::string filter = "{}";
  std::string meta = "{}";
  std::string variables = "{}";
};

void RunCase(const CaseState& c, bool want_error, const std::string& expected,
             const std::string& where) {
  bson::Document doc = ParseJson(c.doc, where);
  bson::Document proj = ParseJson(c.proj, where);
  bson::Document filter = ParseJson(c.filter, where);
  bson::Document meta = ParseJson(c.meta, where);
  bson::Document vars = ParseJson(c.variables, where);
  ProjectionOptions opts;
  opts.variables = vars.view();
  Result<Projection> p = Projection::Compile(proj.view(), opts);
  Status st;
  bson::Document out;
  if (!p.ok()) {
    st = p.status();
  } else {
    Result<Matcher> m = Matcher::Compile(filter.view(), {});
    ASSERT_TRUE(m.ok()) << where << ": filter: " << m.status().ToString();
    MatchDetails details;
    ASSERT_TRUE(m->Matches(doc.view(), &details))
        << where << ": the filter must match the document";
    ProjectionApplyContext ctx;
    ctx.details = &details;
    ctx.meta = meta.view();
    Result<bson::Document> r = p->Apply(doc.view(), ctx);
    if (r.ok()) {
      out = std::move(r).value();
    } else {
      st = r.status();
    }
  }
  if (want_error) {
    ExpectError(st, expected, where + " proj " + c.proj);
    return;
  }
  ASSERT_TRUE(st.ok()) << where << ": proj " << c.proj << ": " << st.ToString();
  bson::Document want = ParseJson(expected, where);
  EXPECT_EQ(bson::ToCanonicalJson(out.view()), bson::ToCanonicalJson(want.view()))
      << where << ": proj " << c.proj << " doc " << c.doc;
}

int RunFile(const std::filesystem::path& file) {
  int cases = 0;
  CaseState c;
  testing::ForEachEntry(file, [&](const std::string& key, const std::string& rest, const std::string& where) {
    if (key == "doc") {
      c.doc = rest;
    } else if (key == "proj") {
      c.proj = rest;
    } else if (key == "filter") {
      c.filter = rest;
    } else if (key == "meta") {
      c.meta = rest;
    } else if (key == "let") {
      c.variables = rest;
    } else if (key == "expect" || key == "error") {
      RunCase(c, key == "error", rest, where);
      ++cases;
      c.filter = "{}";
      c.meta = "{}";
      c.variables = "{}";
    } else {
      ADD_FAILURE() << where << ": unknown key " << key;
    }
  });
  return cases;
}

TEST(ProjectionConformanceTest, MatchesMongoDB70) {
  std::vector<std::filesystem::path> files;
  for (const auto& e : std::filesystem::directory_iterator(PROJECTION_CONFORMANCE_DIR)) {
    if (e.path().extension() == ".txt") files.push_back(e.path());
  }
  std::sort(files.begin(), files.end());
  ASSERT_FALSE(files.empty());
  int total = 0;
  for (const auto& f : files) total += RunFile(f);
  std::cout << "projection conformance cases: " << total << "\n";
  EXPECT_GE(total, 150);
}

TEST(ProjectionTest, OutlivesItsSpecificationBytes) {
  Result<Projection> p = [] {
    bson::Document spec = bson::FromJson(R"({"t": {"$add": ["$a", 100]}, "s": "lit"})").value();
    return Projection::Compile(spec.view(), {});
  }();
  ASSERT_TRUE(p.ok()) << p.status().ToString();
  Projection copy = p.value();
  bson::Document doc = bson::FromJson(R"({"_id": 1, "a": 5})").value();
  Result<bson::Document> out = copy.Apply(doc.view(), nullptr);
  ASSERT_TRUE(out.ok()) << out.status().ToString();
  EXPECT_EQ(bson::ToJson(out->view()), R"({ "_id" : 1, "t" : 105, "s" : "lit" })");
  EXPECT_EQ(copy.kind(), ProjectionKind::kInclusion);
}

TEST(ProjectionTest, ReportsItsShape) {
  bson::Document spec = bson::FromJson(R"({"a.$": 1, "s": {"$meta": "textScore"}})").value();
  Result<Projection> p = Projection::Compile(spec.view(), {});
  ASSERT_TRUE(p.ok()) << p.status().ToString();
  EXPECT_TRUE(p->has_positional());
  EXPECT_TRUE(p->has_meta());
  EXPECT_FALSE(p->is_identity());
  bson::Document empty = bson::FromJson("{}").value();
  EXPECT_TRUE(Projection::Compile(empty.view(), {})->is_identity());
}

TEST(ProjectionTest, PositionalWithoutDetailsFails) {
  bson::Document spec = bson::FromJson(R"({"a.$": 1})").value();
  bson::Document doc = bson::FromJson(R"({"_id": 1, "a": [1, 2]})").value();
  Result<Projection> p = Projection::Compile(spec.view(), {});
  ASSERT_TRUE(p.ok());
  Result<bson::Document> out = p->Apply(doc.view(), nullptr);
  ASSERT_FALSE(out.ok());
  EXPECT_EQ(out.status().message(),
            "positional operator '.$' couldn't find a matching element in the array");
}

}  // namespace
}  // namespace amalgam::query
