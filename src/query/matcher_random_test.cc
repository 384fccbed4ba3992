// Randomized properties of the matcher: $nor is negation, $and/$or agree with evaluating their
// parts, and several operators on one field equal the $and of each operator alone.

#include <gtest/gtest.h>

#include <cstdio>
#include <random>
#include <string>

#include "bson/builder.h"
#include "bson/json.h"
#include "query/matcher.h"

namespace amalgam::query {
namespace {

class Gen {
 public:
  explicit Gen(uint32_t seed) : rng_(seed) {}

  int Pick(int n) { return std::uniform_int_distribution<int>(0, n - 1)(rng_); }

  // A small value domain so that equalities and comparisons often hit.
  void AppendScalar(bson::Builder& b, std::string_view name) {
    switch (Pick(8)) {
      case 0: b.AppendInt32(name, Pick(4)); break;
      case 1: b.AppendInt64(name, Pick(4)); break;
      case 2: b.AppendDouble(name, Pick(8) / 2.0); break;
      case 3: b.AppendString(name, std::string(1, static_cast<char>('a' + Pick(3)))); break;
      case 4: b.AppendNull(name); break;
      case 5: b.AppendBool(name, Pick(2) == 1); break;
      case 6: b.AppendDouble(name, std::nan("")); break;
      default: b.AppendInt32(name, Pick(2)); break;
    }
  }

  void AppendValue(bson::Builder& b, std::string_view name, int depth) {
    int k = depth > 2 ? 0 : Pick(6);
    if (k <= 2) {
      AppendScalar(b, name);
    } else if (k <= 4) {
      b.StartArray(name);
      bson::ArrayBuilder ab(b);
      int n = Pick(4);
      for (int i = 0; i < n; ++i) AppendValue(b, ab.Next(), depth + 1);
      b.EndArray();
    } else {
      b.StartDocument(name);
      AppendFields(b, depth + 1);
      b.EndDocument();
    }
  }

  void AppendFields(bson::Builder& b, int depth) {
    static const char* kNames[] = {"a", "b"};
    for (const char* n : kNames) {
      if (Pick(4) != 0) AppendValue(b, n, depth);
    }
  }

  bson::Document RandomDoc() {
    bson::Builder b;
    AppendFields(b, 0);
    return std::move(b).Finish();
  }

  std::string RandomPath() {
    static const char* kPaths[] = {"a", "b", "a.b", "a.a", "a.0", "b.1", "a.b.a", "a.0.b"};
    return kPaths[Pick(8)];
  }

  // Appends one operator (name: argument) to an open operator document.
  void AppendOperator(bson::Builder& b) {
    static const char* kCompare[] = {"$eq", "$ne", "$gt", "$gte", "$lt", "$lte"};
    switch (Pick(9)) {
      case 0:
      case 1:
      case 2: AppendScalar(b, kCompare[Pick(6)]); break;
      case 3:
      case 4: {
        b.StartArray(Pick(2) ? "$in" : "$nin");
        bson::ArrayBuilder ab(b);
        int n = 1 + Pick(3);
        for (int i = 0; i < n; ++i) AppendScalar(b, ab.Next());
        b.EndArray();
        break;
      }
      case 5: b.AppendBool("$exists", Pick(2) == 1); break;
      case 6: b.AppendString("$type", Pick(2) ? "number" : (Pick(2) ? "array" : "null")); break;
      case 7: b.AppendInt32("$size", Pick(3)); break;
      default: {
        b.StartDocument("$elemMatch");
        AppendScalar(b, kCompare[Pick(6)]);
        b.EndDocument();
        break;
      }
    }
  }

  // {path: {$op: arg}} or {path: scalar}.
  void AppendSimpleFilter(bson::Builder& b) {
    std::string path = RandomPath();
    if (Pick(4) == 0) {
      AppendScalar(b, path);
      return;
    }
    b.StartDocument(path);
    AppendOperator(b);
    b.EndDocument();
  }

  bson::Document SimpleFilter() {
    bson::Builder b;
    AppendSimpleFilter(b);
    return std::move(b).Finish();
  }

 private:
  std::mt19937 rng_;
};

Matcher MustCompile(const bson::Document& filter) {
  auto m = Matcher::Compile(filter.view(), {});
  EXPECT_TRUE(m.ok()) << bson::ToJson(filter.view()) << ": " << m.status().ToString();
  return std::move(m).value();
}

bson::Document Wrap(std::string_view op, const std::vector<const bson::Document*>& parts) {
  bson::Builder b;
  b.StartArray(op);
  bson::ArrayBuilder ab(b);
  for (const bson::Document* p : parts) b.AppendDocument(ab.Next(), p->view());
  b.EndArray();
  return std::move(b).Finish();
}

TEST(MatcherRandomTest, LogicalOperatorsAgreeWithTheirParts) {
  uint32_t seed = std::random_device{}();
  std::printf("MatcherRandomTest seed: %u\n", seed);
  SCOPED_TRACE("seed " + std::to_string(seed));
  Gen g(seed);
  for (int round = 0; round < 300; ++round) {
    bson::Document f1 = g.SimpleFilter();
    bson::Document f2 = g.SimpleFilter();
    Matcher m1 = MustCompile(f1);
    Matcher m2 = MustCompile(f2);
    Matcher nor = MustCompile(Wrap("$nor", {&f1}));
    Matcher conj = MustCompile(Wrap("$and", {&f1, &f2}));
    Matcher disj = MustCompile(Wrap("$or", {&f1, &f2}));
    for (int d = 0; d < 20; ++d) {
      bson::Document doc = g.RandomDoc();
      bool a = m1.Matches(doc.view());
      bool b = m2.Matches(doc.view());
      std::string ctx = bson::ToJson(f1.view()) + " / " + bson::ToJson(f2.view()) + " on " + bson::ToJson(doc.view());
      ASSERT_EQ(nor.Matches(doc.view()), !a) << ctx;
      ASSERT_EQ(conj.Matches(doc.view()), a && b) << ctx;
      ASSERT_EQ(disj.Matches(doc.view()), a || b) << ctx;
    }
  }
}

TEST(MatcherRandomTest, OperatorsOnOneFieldAreIndependent) {
  uint32_t seed = std::random_device{}();
  std::printf("MatcherRandomTest seed: %u\n", seed);
  SCOPED_TRACE("seed " + std::to_string(seed));
  Gen g(seed);
  for (int round = 0; round < 300; ++round) {
    std::string path = g.RandomPath();
    bson::Builder both, first, second;
    // Generate two operators, then rebuild each alone from the combined document.
    both.StartDocument(path);
    g.AppendOperator(both);
    g.AppendOperator(both);
    both.EndDocument();
    bson::Document combined = std::move(both).Finish();
    bson::DocView ops = combined.view().begin()->value.AsDocument();
    auto it = ops.begin();
    bson::Element op1 = *it;
    ++it;
    bson::Element op2 = *it;
    first.StartDocument(path).AppendValue(op1.name, op1.value).EndDocument();
    second.StartDocument(path).AppendValue(op2.name, op2.value).EndDocument();
    bson::Document f1 = std::move(first).Finish();
    bson::Document f2 = std::move(second).Finish();
    Matcher mc = MustCompile(combined);
    Matcher m1 = MustCompile(f1);
    Matcher m2 = MustCompile(f2);
    for (int d = 0; d < 20; ++d) {
      bson::Document doc = g.RandomDoc();
      ASSERT_EQ(mc.Matches(doc.view()), m1.Matches(doc.view()) && m2.Matches(doc.view()))
          << bson::ToJson(combined.view()) << " on " << bson::ToJson(doc.view());
    }
  }
}

}  // namespace
}  // namespace amalgam::query
