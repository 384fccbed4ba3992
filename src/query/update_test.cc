// Runs the update conformance cases in tests/conformance/update/*.txt (format described at the
// top of each file) and a randomized property test of $set/$unset/$inc.

#include <gtest/gtest.h>

#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <optional>
#include <random>
#include <sstream>
#include <string>
#include <vector>

#include "bson/builder.h"
#include "bson/field_path.h"
#include "bson/json.h"
#include "query/matcher.h"
#include "query/update.h"

namespace amalgam::query {
namespace {

constexpr int64_t kDefaultNow = 1700000000000;

struct Case {
  std::string file;
  int line = 0;
  std::optional<std::string> doc, query, filters, update, result, error, description, seed;
  std::optional<bool> modified;
  bool insert = false;
  int64_t now = kDefaultNow;
  bool unsure = false;
};

std::string Trim(std::string s) {
  size_t a = s.find_first_not_of(" \t\r");
  size_t b = s.find_last_not_of(" \t\r");
  return a == std::string::npos ? "" : s.substr(a, b - a + 1);
}

std::vector<Case> LoadCases() {
  std::vector<Case> cases;
  std::vector<std::filesystem::path> files;
  for (const auto& e : std::filesystem::directory_iterator(UPDATE_CONFORMANCE_DIR)) {
    if (e.path().extension() == ".txt") files.push_back(e.path());
  }
  std::sort(files.begin(), files.end());
  for (const auto& path : files) {
    std::ifstream in(path);
    std::string line;
    int n = 0;
    Case cur;
    bool open = false;
    bool pending_unsure = false;
    auto flush = [&] {
      if (open) cases.push_back(cur);
      cur = Case();
      open = false;
    };
    while (std::getline(in, line)) {
      ++n;
      std::string t = Trim(line);
      if (t.empty()) {
        flush();
        continue;
      }
      if (t[0] == '#') {
        if (t.find("unsure") != std::string::npos) pending_unsure = true;
        continue;
      }
      size_t colon = t.find(':');
      if (colon == std::string::npos) {
        ADD_FAILURE() << path << ":" << n << ": no key";
        continue;
      }
      std::string key = t.substr(0, colon);
      std::string val = Trim(t.substr(colon + 1));
      if (!open) {
        cur.file = path.filename().string();
        cur.line = n;
        cur.unsure = pending_unsure;
        pending_unsure = false;
        open = true;
      }
      if (key == "doc") cur.doc = val;
      else if (key == "query") cur.query = val;
      else if (key == "arrayFilters") cur.filters = val;
      else if (key == "update") cur.update = val;
      else if (key == "result") cur.result = val;
      else if (key == "error") cur.error = val;
      else if (key == "description") cur.description = val;
      else if (key == "seed") cur.seed = val;
      else if (key == "insert") cur.insert = val == "true";
      else if (key == "modified") cur.modified = val == "true";
      else if (key == "now") cur.now = std::stoll(val);
      else ADD_FAILURE() << path << ":" << n << ": unknown key " << key;
    }
    flush();
  }
  return cases;
}

// Parses Extended JSON `text` as the value of a field (so arrays work too).
// libbson reads {"$type": ...} as legacy binary syntax: the key travels as "\u0001type" and is
// patched back afterwards.
bson::Document Wrap(const std::string& text, const std::string& where) {
  std::string json = "{\"v\": " + text + "}";
  for (size_t p = json.find("\"$type\""); p != std::string::npos; p = json.find("\"$type\"", p)) {
    json.replace(p, 7, "\"\\u0001type\"");
  }
  auto d = bson::FromJson(json);
  if (d.ok() && json.find("\\u0001type") != std::string::npos) {
    std::string bytes = d->bytes();
    const std::string needle("\x01type\0", 6);
    for (size_t p = bytes.find(needle); p != std::string::npos; p = bytes.find(needle, p)) bytes[p] = '$';
    return bson::Document::FromValidatedBytes(std::move(bytes));
  }
  EXPECT_TRUE(d.ok()) << where << ": bad JSON " << text << ": " << d.status().ToString();
  return d.ok() ? std::move(d).value() : bson::Document();
}

std::string Canon(bson::DocView d) { return bson::ToCanonicalJson(d); }

// Runs one case; returns an error description or "".
std::string RunCase(const Case& c, int* checked) {
  std::string where = c.file + ":" + std::to_string(c.line);
  bson::Document doc;
  bool insert = c.insert;
  if (c.seed) {
    bson::Document q = Wrap(*c.seed, where);
    auto seeded = Update::SeedUpsert(q.view().Get("v").AsDocument());
    if (!c.update) {
      if (c.error) {
        if (seeded.ok()) return "expected error, got " + bson::ToJson(seeded->view());
        std::string code = c.error->substr(0, c.error->find(' '));
        if (std::to_string(GetErrorCodeInfo(seeded.status().code()).mongo_code) != code) {
          return "wrong error " + seeded.status().ToString();
        }
        return "";
      }
      if (!seeded.ok()) return "seed failed: " + seeded.status().ToString();
      bson::Document want = Wrap(*c.result, where);
      std::string got = Canon(seeded->view()), exp = Canon(want.view().Get("v").AsDocument());
      ++*checked;
      return got == exp ? "" : "seed\n  got:  " + got + "\n  want: " + exp;
    }
    if (!seeded.ok()) return "seed failed: " + seeded.status().ToString();
    doc = std::move(seeded).value();
    insert = true;
  } else if (c.doc) {
    bson::Document w = Wrap(*c.doc, where);
    doc = bson::Document(w.view().Get("v").AsDocument());
  }
  if (!c.update) return "no update";
  bson::Document u = Wrap(*c.update, where);
  UpdateOptions opts;
  std::vector<bson::Document> filter_docs;
  bson::Document fw;
  if (c.filters) {
    fw = Wrap(*c.filters, where);
    for (const bson::Element& e : fw.view().Get("v").AsDocument()) {
      opts.array_filters.push_back(e.value.AsDocument());
    }
  }
  ApplyContext ctx;
  ctx.now_millis = c.now;
  ctx.is_insert = insert;
  MatchDetails details;
  if (c.query) {
    bson::Document q = Wrap(*c.query, where);
    auto m = Matcher::Compile(q.view().Get("v").AsDocument(), {});
    if (!m.ok()) return "query: " + m.status().ToString();
    if (!m->Matches(doc.view(), &details)) return "query does not match doc";
    ctx.match_details = &details;
  }
  Result<bson::Document> out = Status(ErrorCode::kInternalError, "unset");
  UpdateResultInfo info;
  auto compiled = Update::Compile(u.view().Get("v"), opts);
  if (compiled.ok()) {
    out = compiled->Apply(doc.view(), ctx, &info);
  } else {
    out = compiled.status();
  }
  ++*checked;
  if (c.error) {
    if (out.ok()) return "expected error " + *c.error + ", got " + bson::ToJson(out->view());
    std::string code = c.error->substr(0, c.error->find(' '));
    std::string msg = c.error->find(' ') == std::string::npos ? "" : c.error->substr(c.error->find(' ') + 1);
    int got_code = GetErrorCodeInfo(out.status().code()).mongo_code;
    if (std::to_string(got_code) != code || out.status().message().find(msg) == std::string_view::npos) {
      return "wrong error\n  got:  " + std::to_string(got_code) + " " + std::string(out.status().message()) +
             "\n  want: " + *c.error;
    }
    return "";
  }
  if (!out.ok()) return "unexpected error " + out.status().ToString();
  if (c.result) {
    bson::Document want = Wrap(*c.result, where);
    std::string got = Canon(out->view()), exp = Canon(want.view().Get("v").AsDocument());
    if (got != exp) return "result\n  got:  " + got + "\n  want: " + exp;
  }
  if (c.modified && *c.modified != info.modified) {
    return std::string("modified: got ") + (info.modified ? "true" : "false");
  }
  if (info.modified != (out->bytes() != doc.bytes())) return "modified disagrees with bytes";
  if (c.description) {
    bson::Document want = Wrap(*c.description, where);
    std::string got = Canon(info.description.view()), exp = Canon(want.view().Get("v").AsDocument());
    if (got != exp) return "description\n  got:  " + got + "\n  want: " + exp;
  }
  return "";
}

TEST(UpdateConformanceTest, AllCasesInDataFiles) {
  std::vector<Case> cases = LoadCases();
  int checked = 0, failed = 0;
  for (const Case& c : cases) {
    std::string err = RunCase(c, &checked);
    if (!err.empty()) {
      ++failed;
      ADD_FAILURE() << c.file << ":" << c.line << (c.unsure ? " (unsure)" : "") << ": " << err;
    }
  }
  std::printf("update conformance: %zu cases, %d failed\n", cases.size(), failed);
  EXPECT_GE(cases.size(), 250u);
}

TEST(UpdateTest, ReportsKindAndCopiesItsInput) {
  auto spec = bson::FromJson(R"({"$set": {"a": {"b": [1, 2]}}})");
  ASSERT_TRUE(spec.ok());
  std::optional<bson::Document> owned(std::move(spec).value());
  auto u = Update::Compile(owned->view(), {});
  ASSERT_TRUE(u.ok()) << u.status().ToString();
  owned.reset();
  EXPECT_EQ(u->kind(), Update::Kind::kOperators);
  auto doc = bson::FromJson(R"({"_id": 1})");
  auto out = u->Apply(doc->view(), {});
  ASSERT_TRUE(out.ok());
  EXPECT_EQ(bson::ToJson(out->view()), R"({ "_id" : 1, "a" : { "b" : [ 1, 2 ] } })");
}

TEST(UpdateTest, KeepsResultsWithinSizeAndDepthLimits) {
  std::string big(9 * 1024 * 1024, 'x');
  bson::Builder ub;
  ub.StartDocument("$set").AppendString("a", big).AppendString("b", big).EndDocument();
  bson::Document spec = std::move(ub).Finish();
  auto u = Update::Compile(spec.view(), {});
  ASSERT_TRUE(u.ok());
  auto doc = bson::FromJson(R"({"_id": 1})");
  auto out = u->Apply(doc->view(), {});
  ASSERT_FALSE(out.ok());
  EXPECT_EQ(out.status().code(), ErrorCode::kBSONObjectTooLarge);

  std::string path = "a";
  for (int i = 0; i < 120; ++i) path += ".a";
  bson::Builder db;
  db.StartDocument("$set").AppendInt32(path, 1).EndDocument();
  bson::Document deep = std::move(db).Finish();
  auto u2 = Update::Compile(deep.view(), {});
  ASSERT_TRUE(u2.ok());
  auto out2 = u2->Apply(doc->view(), {});
  ASSERT_FALSE(out2.ok());
  EXPECT_EQ(out2.status().code(), ErrorCode::kOverflow) << out2.status().ToString();
}

// ---- randomized property test ----

class Rng {
 public:
  explicit Rng(uint64_t seed) : gen_(seed) {}
  int Int(int lo, int hi) { return std::uniform_int_distribution<int>(lo, hi)(gen_); }
  bool Coin(int percent) { return Int(0, 99) < percent; }

 private:
  std::mt19937_64 gen_;
};

const char* const kNames[] = {"a", "b", "c", "0", "1"};

void RandomValue(Rng& r, bson::Builder& b, std::string_view name, int depth) {
  int k = r.Int(0, depth > 2 ? 4 : 6);
  switch (k) {
    case 0: b.AppendInt32(name, r.Int(-3, 3)); break;
    case 1: b.AppendInt64(name, r.Int(-3, 3)); break;
    case 2: b.AppendDouble(name, r.Int(-6, 6) / 2.0); break;
    case 3: b.AppendString(name, std::string(1, static_cast<char>('x' + r.Int(0, 2)))); break;
    case 4: b.AppendNull(name); break;
    case 5: {
      b.StartDocument(name);
      int n = r.Int(0, 3);
      for (int i = 0; i < n; ++i) RandomValue(r, b, kNames[i], depth + 1);
      b.EndDocument();
      break;
    }
    default: {
      b.StartArray(name);
      bson::ArrayBuilder ab(b);
      int n = r.Int(0, 3);
      for (int i = 0; i < n; ++i) RandomValue(r, b, ab.Next(), depth + 1);
      b.EndArray();
    }
  }
}

std::string RandomPath(Rng& r) {
  std::string p = kNames[r.Int(0, 2)];
  int extra = r.Int(0, 2);
  for (int i = 0; i < extra; ++i) p += std::string(".") + kNames[r.Int(0, 4)];
  return p;
}

// Whether `path` can be created/updated in `doc` without running through a scalar.
bool Viable(bson::DocView doc, const bson::FieldPath& path) {
  bson::Value cur(bson::BsonType::kDocument, doc.data(), doc.size());
  for (size_t i = 0; i < path.size(); ++i) {
    if (cur.missing()) return true;
    if (cur.type() == bson::BsonType::kDocument) {
      cur = cur.AsDocument().Get(path.part(i));
    } else if (cur.type() == bson::BsonType::kArray) {
      size_t idx;
      if (!bson::IsArrayIndex(path.part(i), &idx)) return false;
      bson::FieldPath one = *bson::FieldPath::Parse(path.part(i));
      cur = bson::GetPath(cur.AsDocument(), one);
    } else {
      return false;
    }
  }
  return true;
}

TEST(UpdateRandomTest, SetUnsetIncReadBackAndNoOpsAreByteEqual) {
  uint64_t seed = std::random_device{}();
  if (const char* env = std::getenv("AMALGAM_TEST_SEED")) seed = std::strtoull(env, nullptr, 10);
  std::printf("UpdateRandomTest seed=%llu (set AMALGAM_TEST_SEED to replay)\n",
              static_cast<unsigned long long>(seed));
  Rng r(seed);
  for (int iter = 0; iter < 3000; ++iter) {
    bson::Builder db;
    db.AppendInt32("_id", iter);
    int n = r.Int(0, 3);
    for (int i = 0; i < n; ++i) RandomValue(r, db, kNames[i], 0);
    bson::Document doc = std::move(db).Finish();
    std::string path = RandomPath(r);
    bson::FieldPath fp = *bson::FieldPath::Parse(path);
    int which = r.Int(0, 2);
    bson::Builder ub;
    bson::Builder vb;
    RandomValue(r, vb, "v", 1);
    bson::Document vdoc = std::move(vb).Finish();
    bson::Value value = vdoc.view().Get("v");
    int inc = r.Int(-5, 5);
    if (which == 0) {
      ub.StartDocument("$set").AppendValue(path, value).EndDocument();
    } else if (which == 1) {
      ub.StartDocument("$unset").AppendInt32(path, 1).EndDocument();
    } else {
      ub.StartDocument("$inc").AppendInt32(path, inc).EndDocument();
    }
    bson::Document spec = std::move(ub).Finish();
    std::string trace = "seed " + std::to_string(seed) + " iter " + std::to_string(iter) + " doc " +
                        bson::ToJson(doc.view()) + " update " + bson::ToJson(spec.view());
    auto u = Update::Compile(spec.view(), {});
    ASSERT_TRUE(u.ok()) << trace << ": " << u.status().ToString();
    UpdateResultInfo info;
    auto out = u->Apply(doc.view(), {}, &info);
    bson::Value before = bson::GetPath(doc.view(), fp);
    if (!out.ok()) {
      ErrorCode code = out.status().code();
      bool ok_error = (code == ErrorCode::kPathNotViable && !Viable(doc.view(), fp)) ||
                      (code == ErrorCode::kTypeMismatch && which == 2 && !before.missing() &&
                       !before.IsNumber());
      EXPECT_TRUE(ok_error) << trace << ": " << out.status().ToString();
      continue;
    }
    EXPECT_EQ(info.modified, out->bytes() != doc.bytes()) << trace;
    bson::Value after = bson::GetPath(out->view(), fp);
    if (which == 0) {
      ASSERT_FALSE(after.missing()) << trace;
      EXPECT_EQ(after.type(), value.type()) << trace;
      EXPECT_TRUE(std::equal(after.raw().begin(), after.raw().end(), value.raw().begin(),
                             value.raw().end())) << trace;
    } else if (which == 1) {
      // An array element becomes null; a field disappears.
      EXPECT_TRUE(after.missing() || after.type() == bson::BsonType::kNull) << trace;
    } else {
      ASSERT_TRUE(after.IsNumber()) << trace;
      double expect = (before.missing() ? 0 : before.NumberAsDouble()) + inc;
      EXPECT_EQ(after.NumberAsDouble(), expect) << trace;
      if (inc == 0 && !before.missing()) {
        EXPECT_FALSE(info.modified) << trace;
      }
    }
    // Applying the same $set/$unset again changes nothing.
    if (which != 2) {
      UpdateResultInfo again;
      auto twice = u->Apply(out->view(), {}, &again);
      ASSERT_TRUE(twice.ok()) << trace;
      EXPECT_FALSE(again.modified) << trace;
      EXPECT_EQ(twice->bytes(), out->bytes()) << trace;
    }
  }
}

}  // namespace
}  // namespace amalgam::query
