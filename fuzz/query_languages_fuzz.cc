// libFuzzer target: the query-language compilers (filter, update, projection, sort) on arbitrary
// documents. Whatever compiles is applied to a few fixed documents; any crash, sanitizer report
// or hang is a bug in query/. Bad input must come back as a Status.
//
// fuzz-sources: src/common/*.cc src/bson/*.cc src/query/matcher.cc src/query/match_node.cc src/query/path_walk.cc src/query/regex.cc src/query/expression*.cc src/query/timezone.cc src/query/projection.cc src/query/sort.cc src/query/update.cc src/query/update_apply.cc src/query/update_ops.cc src/query/update_pipeline.cc src/query/update_tree.cc
// fuzz-pkgs: libbson-1.0 libpcre2-8

#include <cstdint>
#include <vector>

#include "bson/json.h"
#include "bson/validate.h"
#include "query/matcher.h"
#include "query/projection.h"
#include "query/sort.h"
#include "query/update.h"

namespace {

const std::vector<amalgam::bson::Document>& Samples() {
  static const std::vector<amalgam::bson::Document> docs = [] {
    std::vector<amalgam::bson::Document> v;
    for (const char* j : {R"({"_id": 1, "a": 1, "b": "x", "c": [1, 2, {"d": 3}], "e": {"f": null}})",
                          R"({"_id": 2, "a": [[1], {"b": 2}], "s": "hello", "n": 1.5})", R"({"_id": 3})"}) {
      v.push_back(amalgam::bson::FromJson(j).value());
    }
    return v;
  }();
  return docs;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  using namespace amalgam;
  auto doc = bson::ValidateDocument(std::span<const uint8_t>(data, size));
  if (!doc.ok()) return 0;
  if (auto m = query::Matcher::Compile(*doc, query::MatchContext{}); m.ok()) {
    for (const bson::Document& d : Samples()) {
      query::MatchDetails details;
      (void)m->Evaluate(d.view(), &details);
    }
  }
  if (auto u = query::Update::Compile(*doc, query::UpdateOptions{}); u.ok()) {
    query::ApplyContext ctx;
    ctx.now_millis = 1;
    for (const bson::Document& d : Samples()) (void)u->Apply(d.view(), ctx);
    (void)query::Update::SeedUpsert(*doc);
  }
  if (auto p = query::Projection::Compile(*doc, query::ProjectionOptions{}); p.ok()) {
    for (const bson::Document& d : Samples()) (void)p->Apply(d.view(), nullptr);
  }
  if (auto s = query::SortSpec::Compile(*doc); s.ok()) {
    const auto& samples = Samples();
    (void)s->Compare(samples[0].view(), samples[1].view());
  }
  return 0;
}
