// Runs the matcher conformance cases in tests/conformance/matcher/*.txt (format described at the
// top of each file) and a few behaviours that are easier to state in C++.

#include <gtest/gtest.h>

#include <algorithm>
#include <atomic>
#include <cstdio>
#include <optional>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

#include "bson/builder.h"
#include "bson/json.h"
#include "query/matcher.h"

namespace amalgam::query {
namespace {

// Rebuilds `doc` with every key spelled "@$op" renamed to "$op": libbson's JSON reader takes
// {"$type": 2}, {"$regex": 5} or {"$options": "i"} for legacy Extended JSON, so the data files
// spell such operator keys with a leading '@'.
void CopyRenaming(bson::DocView doc, bson::Builder& b) {
  for (const bson::Element& e : doc) {
    std::string name(e.name);
    if (name.starts_with("@$")) name.erase(0, 1);
    if (e.value.type() == bson::BsonType::kDocument) {
      b.StartDocument(name);
      CopyRenaming(e.value.AsDocument(), b);
      b.EndDocument();
    } else if (e.value.type() == bson::BsonType::kArray) {
      b.StartArray(name);
      CopyRenaming(e.value.AsDocument(), b);
      b.EndArray();
    } else {
      b.AppendValue(name, e.value);
    }
  }
}

Result<bson::Document> ParseJson(const std::string& json) {
  AMALGAM_ASSIGN_OR_RETURN(bson::Document raw, bson::FromJson(json));
  bson::Builder b;
  CopyRenaming(raw.view(), b);
  return std::move(b).Finish();
}

int MongoCode(const Status& s) { return GetErrorCodeInfo(s.code()).mongo_code; }

std::string Trim(std::string s) {
  size_t a = s.find_first_not_of(" \t\r");
  size_t b = s.find_last_not_of(" \t\r");
  return a == std::string::npos ? "" : s.substr(a, b - a + 1);
}

struct Counts {
  int cases = 0;
  int failures = 0;
};

// Runs one file; every check is one case.
void RunFile(const std::filesystem::path& file, Counts* counts) {
  std::ifstream in(file);
  ASSERT_TRUE(in) << file;
  std::string line;
  int lineno = 0;
  std::optional<Matcher> matcher;
  Status pending_error;
  std::string filter_json;
  bool last_matched_line = false;
  std::optional<uint32_t> last_index;
  auto where = [&] { return file.filename().string() + ":" + std::to_string(lineno); };
  while (std::getline(in, line)) {
    ++lineno;
    line = Trim(line);
    if (line.empty() || line[0] == '#') continue;
    size_t colon = line.find(':');
    ASSERT_NE(colon, std::string::npos) << where() << ": no keyword";
    std::string key = line.substr(0, colon);
    std::string rest = Trim(line.substr(colon + 1));
    if (key == "filter") {
      filter_json = rest;
      matcher.reset();
      auto filter = ParseJson(rest);
      ASSERT_TRUE(filter.ok()) << where() << ": " << filter.status().ToString();
      auto m = Matcher::Compile(filter->view(), {});
      if (m.ok()) matcher.emplace(std::move(m).value());
      // A compile error is reported by the next line unless it is "error:".
      if (!m.ok()) {
        std::streampos pos = in.tellg();
        std::string next;
        int skipped = 0;
        bool expected = false;
        while (std::getline(in, next)) {
          ++skipped;
          next = Trim(next);
          if (next.empty() || next[0] == '#') continue;
          expected = next.starts_with("error:");
          break;
        }
        in.clear();
        in.seekg(pos);
        if (!expected) {
          ++counts->failures;
          ADD_FAILURE() << where() << ": filter " << rest << " failed to compile: " << m.status().ToString();
        } else {
          pending_error = m.status();
        }
      }
      continue;
    }
    if (key == "error") {
      ++counts->cases;
      std::istringstream ss(rest);
      int code = 0;
      ss >> code;
      std::string substring;
      std::getline(ss, substring);
      substring = Trim(substring);
      if (matcher.has_value()) {
        ++counts->failures;
        ADD_FAILURE() << where() << ": filter " << filter_json << " compiled, expected error " << code << " "
                      << substring;
      } else {
        EXPECT_EQ(MongoCode(pending_error), code) << where() << ": " << pending_error.ToString();
        EXPECT_NE(pending_error.message().find(substring), std::string_view::npos)
            << where() << ": message \"" << pending_error.message() << "\" lacks \"" << substring << "\"";
        if (MongoCode(pending_error) != code ||
            pending_error.message().find(substring) == std::string_view::npos) {
          ++counts->failures;
        }
      }
      continue;
    }
    if (key == "pos") {
      ++counts->cases;
      ASSERT_TRUE(last_matched_line) << where() << ": pos must follow a match line";
      std::optional<uint32_t> want;
      if (rest != "none") want = static_cast<uint32_t>(std::stoul(rest));
      EXPECT_EQ(last_index, want) << where() << ": filter " << filter_json;
      if (last_index != want) ++counts->failures;
      continue;
    }
    std::string doc_json = rest;
    int eval_code = 0;
    if (key == "evalerror") {
      std::istringstream ss(rest);
      ss >> eval_code;
      std::getline(ss, doc_json);
      doc_json = Trim(doc_json);
    } else {
      ASSERT_TRUE(key == "match" || key == "nomatch") << where() << ": unknown keyword " << key;
    }
    ++counts->cases;
    if (!matcher.has_value()) {
      ++counts->failures;
      ADD_FAILURE() << where() << ": no compiled filter for this line";
      continue;
    }
    auto doc = ParseJson(doc_json);
    ASSERT_TRUE(doc.ok()) << where() << ": " << doc.status().ToString();
    MatchDetails details;
    Result<bool> r = matcher->Evaluate(doc->view(), &details);
    last_matched_line = key == "match";
    last_index = details.array_index;
    if (key == "evalerror") {
      bool ok = !r.ok() && MongoCode(r.status()) == eval_code;
      EXPECT_TRUE(ok) << where() << ": filter " << filter_json << " on " << doc_json << " expected evaluation error "
                      << eval_code << ", got " << (r.ok() ? (r.value() ? "match" : "no match") : r.status().ToString());
      if (!ok) ++counts->failures;
      continue;
    }
    bool want = key == "match";
    bool ok = r.ok() && r.value() == want;
    EXPECT_TRUE(ok) << where() << ": filter " << filter_json << (want ? " should match " : " should not match ")
                    << doc_json << (r.ok() ? "" : " (error " + r.status().ToString() + ")");
    if (!ok) ++counts->failures;
    // Matches() agrees with Evaluate().
    EXPECT_EQ(matcher->Matches(doc->view()), r.ok() && r.value()) << where();
  }
}

TEST(MatcherConformanceTest, DataFilesPass) {
  std::vector<std::filesystem::path> files;
  for (const auto& entry : std::filesystem::directory_iterator(MATCHER_CONFORMANCE_DIR)) {
    if (entry.path().extension() == ".txt") files.push_back(entry.path());
  }
  std::sort(files.begin(), files.end());
  ASSERT_FALSE(files.empty());
  Counts counts;
  for (const auto& f : files) {
    SCOPED_TRACE(f.filename().string());
    RunFile(f, &counts);
  }
  std::printf("matcher conformance: %d cases in %zu files, %d failures\n", counts.cases, files.size(),
              counts.failures);
  EXPECT_GE(counts.cases, 300);
}

bson::Document Json(const std::string& s) {
  auto d = ParseJson(s);
  EXPECT_TRUE(d.ok()) << s << ": " << d.status().ToString();
  return d.ok() ? std::move(d).value() : bson::Document();
}

TEST(MatcherTest, OwnsItsFilterBytes) {
  std::optional<Matcher> m;
  {
    // Short strings live inside std::string (SSO): a matcher keeping views into them would dangle.
    std::string json = R"({"a": "x", "b": {"$in": [1, "y"]}, "c": {"@$regex": "^z"}})";
    bson::Document filter = Json(json);
    auto compiled = Matcher::Compile(filter.view(), {});
    ASSERT_TRUE(compiled.ok());
    m.emplace(std::move(compiled).value());
    filter = bson::Document(Json(R"({"q": 1})").view());
  }
  Matcher moved = std::move(*m);
  m.reset();
  EXPECT_TRUE(moved.Matches(Json(R"({"a": "x", "b": "y", "c": "zz"})").view()));
  EXPECT_FALSE(moved.Matches(Json(R"({"a": "x", "b": 2, "c": "zz"})").view()));
}

TEST(MatcherTest, SharedAcrossThreads) {
  auto m = Matcher::Compile(Json(R"({"a": {"@$regex": "^ab", "@$options": "i"}, "b": {"$gt": 1}})").view(), {});
  ASSERT_TRUE(m.ok());
  bson::Document yes = Json(R"({"a": ["x", "ABc"], "b": 2})");
  bson::Document no = Json(R"({"a": "xab", "b": 2})");
  std::vector<std::thread> threads;
  std::atomic<int> wrong{0};
  for (int t = 0; t < 4; ++t) {
    threads.emplace_back([&] {
      for (int i = 0; i < 2000; ++i) {
        if (!m->Matches(yes.view()) || m->Matches(no.view())) wrong++;
      }
    });
  }
  for (auto& t : threads) t.join();
  EXPECT_EQ(wrong.load(), 0);
}

// {"$and": [{"$and": [... {"a": 1} ...]}]} with `levels` operators, or the same through
// {"a": {"$elemMatch": ...}} when `elem_match`. Built directly: the JSON reader limits nesting.
bson::Document Nested(int levels, bool elem_match) {
  bson::Builder b;
  for (int i = 0; i < levels; ++i) {
    if (elem_match) {
      b.StartDocument("a").StartDocument("$elemMatch");
    } else {
      b.StartArray("$and").StartDocument("0");
    }
  }
  b.AppendInt32("x", 1);
  for (int i = 0; i < levels; ++i) b.EndDocument().EndDocument();
  return std::move(b).Finish();
}

TEST(MatcherTest, RejectsDeepNesting) {
  auto deep = Matcher::Compile(Nested(150, false).view(), {});
  ASSERT_FALSE(deep.ok());
  EXPECT_EQ(deep.status().code(), ErrorCode::kBadValue);
  EXPECT_NE(deep.status().message().find("depth"), std::string_view::npos);
  EXPECT_TRUE(Matcher::Compile(Nested(90, false).view(), {}).ok());
  EXPECT_FALSE(Matcher::Compile(Nested(120, true).view(), {}).ok());
  EXPECT_TRUE(Matcher::Compile(Nested(90, true).view(), {}).ok());
  EXPECT_FALSE(Matcher::Compile(Nested(100000, false).view(), {}).ok());
}

TEST(MatcherTest, ExprUsesContextVariables) {
  MatchContext ctx;
  bson::Document vars = Json(R"({"limit": 5, "obj": {"k": [1, 2]}})");
  ctx.variables = vars.view();
  auto m = Matcher::Compile(Json(R"({"$expr": {"$and": [{"$lt": ["$a", "$$limit"]}, {"$in": [2, "$$obj.k"]}]}})").view(), ctx);
  ASSERT_TRUE(m.ok()) << m.status().ToString();
  vars = bson::Document();  // the matcher copied the variables
  EXPECT_TRUE(m->Matches(Json(R"({"a": 4})").view()));
  EXPECT_FALSE(m->Matches(Json(R"({"a": 5})").view()));
  EXPECT_TRUE(m->has_expr());
  auto undefined = Matcher::Compile(Json(R"({"$expr": {"$eq": ["$a", "$$nope"]}})").view(), {});
  ASSERT_FALSE(undefined.ok());
  EXPECT_NE(undefined.status().message().find("undefined variable"), std::string_view::npos);
}

TEST(MatcherTest, EvaluationErrorIsNoMatchForMatches) {
  auto m = Matcher::Compile(Json(R"({"$expr": {"$gt": [{"$divide": ["$a", "$b"]}, 1]}})").view(), {});
  ASSERT_TRUE(m.ok());
  bson::Document doc = Json(R"({"a": 1, "b": 0})");
  EXPECT_FALSE(m->Matches(doc.view()));
  Result<bool> r = m->Evaluate(doc.view());
  ASSERT_FALSE(r.ok());
  EXPECT_NE(r.status().message().find("divide by zero"), std::string_view::npos);
}

}  // namespace
}  // namespace amalgam::query
