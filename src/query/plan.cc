#include "query/plan.h"

#include <algorithm>
#include <map>
#include <set>

#include "bson/builder.h"
#include "bson/json.h"
#include "storage/key_codec.h"
#include "storage/store.h"

namespace amalgam::query {
namespace {

constexpr size_t kMaxRanges = 1000;  // cap on the cartesian product of $in lists

// What the filter says about one field path, from the top-level conjunction.
struct FieldPredicates {
  std::vector<bson::Value> points;  // equality / $in values (a set to OR)
  bool has_points = false;
  std::optional<bson::Value> lower;  // $gt / $gte
  bool lower_inclusive = true;
  std::optional<bson::Value> upper;  // $lt / $lte
  bool upper_inclusive = true;
};

// Values that an index lookup can use as a point: not arrays (an array equality also matches
// an element-wise array), not regexes, not null (null also matches missing and undefined keys,
// which sparse indexes lack), not MinKey/MaxKey specifics.
bool UsablePoint(const bson::Value& v) {
  switch (v.type()) {
    case bson::BsonType::kArray:
    case bson::BsonType::kRegex:
    case bson::BsonType::kUndefined: return false;
    default: return true;
  }
}

bool IsOperatorDoc(const bson::Value& v) {
  return v.type() == bson::BsonType::kDocument && !v.AsDocument().empty() &&
         v.AsDocument().begin()->name.starts_with("$");
}

void CollectField(std::string_view path, const bson::Value& v, std::map<std::string, FieldPredicates, std::less<>>* out) {
  FieldPredicates& p = (*out)[std::string(path)];
  if (!IsOperatorDoc(v)) {
    if (UsablePoint(v) && !p.has_points) {
      p.points = {v};
      p.has_points = true;
    }
    return;
  }
  for (const bson::Element& op : v.AsDocument()) {
    const bson::Value& arg = op.value;
    if (op.name == "$eq") {
      if (UsablePoint(arg) && !p.has_points) {
        p.points = {arg};
        p.has_points = true;
      }
    } else if (op.name == "$in") {
      if (arg.type() != bson::BsonType::kArray || p.has_points) continue;
      std::vector<bson::Value> vals;
      bool ok = true;
      for (const bson::Element& e : arg.AsDocument()) {
        if (!UsablePoint(e.value) || e.value.type() == bson::BsonType::kNull) ok = false;
        vals.push_back(e.value);
      }
      if (ok && !vals.empty()) {
        p.points = std::move(vals);
        p.has_points = true;
      }
    } else if ((op.name == "$gt" || op.name == "$gte") && UsablePoint(arg) && arg.type() != bson::BsonType::kNull) {
      if (!p.lower) {
        p.lower = arg;
        p.lower_inclusive = op.name == "$gte";
      }
    } else if ((op.name == "$lt" || op.name == "$lte") && UsablePoint(arg) && arg.type() != bson::BsonType::kNull) {
      if (!p.upper) {
        p.upper = arg;
        p.upper_inclusive = op.name == "$lte";
      }
    }
  }
}

void CollectConjunction(bson::DocView filter, std::map<std::string, FieldPredicates, std::less<>>* out, int depth) {
  if (depth > 10) return;
  for (const bson::Element& e : filter) {
    if (e.name == "$and" && e.value.type() == bson::BsonType::kArray) {
      for (const bson::Element& c : e.value.AsDocument()) {
        if (c.value.type() == bson::BsonType::kDocument) CollectConjunction(c.value.AsDocument(), out, depth + 1);
      }
    } else if (!e.name.starts_with("$")) {
      CollectField(e.name, e.value, out);
    }
  }
}

std::string Encode(const bson::Value& v, bool descending) {
  std::string key, bits;
  storage::AppendValue(&key, &bits, v, descending);
  return key;
}

std::string ValueText(const bson::Value& v) {
  bson::Builder b;
  b.AppendValue("v", v);
  bson::Document d = std::move(b).Finish();
  std::string s = bson::ToShellString(d.view());  // "{ v: ... }"
  return s.substr(5, s.size() - 7);
}

// Appends the encoded [lower, upper) for a range predicate on one component after `prefix`.
KeyRange RangeFor(const std::string& prefix, const FieldPredicates& p, bool descending, bool use_both) {
  std::optional<bson::Value> lo = p.lower, hi = use_both ? p.upper : std::nullopt;
  if (!use_both && !lo) hi = p.upper;
  bool lo_inc = p.lower_inclusive, hi_inc = p.upper_inclusive;
  KeyRange r;
  // In encoded order, ascending components run low..high, descending ones high..low.
  std::optional<bson::Value> first = descending ? hi : lo, last = descending ? lo : hi;
  bool first_inc = descending ? hi_inc : lo_inc, last_inc = descending ? lo_inc : hi_inc;
  if (first) {
    std::string k = prefix + Encode(*first, descending);
    r.lower = first_inc ? k : storage::PrefixSuccessor(k);
  } else {
    r.lower = prefix;
  }
  if (last) {
    std::string k = prefix + Encode(*last, descending);
    r.upper = last_inc ? storage::PrefixSuccessor(k) : k;
  } else {
    r.upper = storage::PrefixSuccessor(prefix);
  }
  return r;
}

struct Candidate {
  Plan plan;
  int score = -1;
};

Candidate PlanIndex(const engine::CollectionHandle& coll, size_t pos,
                    const std::map<std::string, FieldPredicates, std::less<>>& preds, const std::vector<SortField>& sort) {
  Candidate c;
  const catalog::IndexSpec& spec = coll.indexes[pos].spec();
  bool multikey = coll.IsMultikey(pos);
  // Fields under one array ("a.x", "a.y") take their key values from the same element, but a
  // query's predicates on them may be met by different elements: on such a multikey index only
  // the first field may carry bounds (MongoDB does the same without $elemMatch).
  size_t bounded_fields = spec.fields.size();
  if (multikey) {
    for (size_t i = 0; i < spec.fields.size() && bounded_fields > 1; ++i) {
      for (size_t j = i + 1; j < spec.fields.size(); ++j) {
        if (spec.fields[i].path.part(0) == spec.fields[j].path.part(0)) bounded_fields = 1;
      }
    }
  }
  std::vector<std::string> prefixes = {""};
  size_t eq_fields = 0;
  bool range = false;
  bson::Builder bounds;
  size_t f = 0;
  for (; f < bounded_fields; ++f) {
    auto it = preds.find(spec.fields[f].path.dotted());
    if (it == preds.end() || !it->second.has_points) break;
    const auto& points = it->second.points;
    if (prefixes.size() * points.size() > kMaxRanges) break;
    std::vector<std::string> next;
    std::set<std::string> distinct;
    for (const bson::Value& v : points) distinct.insert(Encode(v, spec.fields[f].descending));
    for (const std::string& p : prefixes) {
      for (const std::string& k : distinct) next.push_back(p + k);
    }
    prefixes = std::move(next);
    bounds.StartArray(spec.fields[f].path.dotted());
    bson::ArrayBuilder a(bounds);
    for (const bson::Value& v : points) bounds.AppendString(a.Next(), "[" + ValueText(v) + ", " + ValueText(v) + "]");
    bounds.EndArray();
    ++eq_fields;
  }
  std::sort(prefixes.begin(), prefixes.end());
  std::vector<KeyRange> ranges;
  if (f < bounded_fields) {
    auto it = preds.find(spec.fields[f].path.dotted());
    if (it != preds.end() && (it->second.lower || it->second.upper)) {
      range = true;
      for (const std::string& p : prefixes) ranges.push_back(RangeFor(p, it->second, spec.fields[f].descending, !multikey));
      std::string lo = it->second.lower ? ValueText(*it->second.lower) : "MinKey";
      std::string hi = it->second.upper ? ValueText(*it->second.upper) : "MaxKey";
      bounds.StartArray(spec.fields[f].path.dotted())
          .AppendString("0", std::string(it->second.lower && !it->second.lower_inclusive ? "(" : "[") + lo + ", " + hi +
                                 (it->second.upper && !it->second.upper_inclusive ? ")" : "]"))
          .EndArray();
      ++f;
    }
  }
  if (!range) {
    for (const std::string& p : prefixes) ranges.push_back(KeyRange{p, p.empty() ? "" : storage::PrefixSuccessor(p)});
  }
  for (; f < spec.fields.size(); ++f) bounds.StartArray(spec.fields[f].path.dotted()).AppendString("0", "[MinKey, MaxKey]").EndArray();
  // Does index order serve the sort? The sort fields must follow the equality prefix in index
  // order, all in the index's direction or all reversed, on a non-multikey index, with a
  // single range (several ranges from $in interleave).
  bool provides_sort = false, forward = true;
  if (!sort.empty() && !multikey && ranges.size() == 1 && eq_fields + sort.size() <= spec.fields.size()) {
    provides_sort = true;
    for (size_t i = 0; i < sort.size(); ++i) {
      const catalog::IndexField& field = spec.fields[eq_fields + i];
      bool same = field.descending == sort[i].descending;
      if (field.path.dotted() != sort[i].path || (i == 0 ? false : same != forward)) {
        provides_sort = false;
        break;
      }
      if (i == 0) forward = same;
    }
  }
  c.plan.kind = Plan::Kind::kIndexScan;
  c.plan.index_pos = pos;
  c.plan.ranges = std::move(ranges);
  c.plan.dedup = multikey || c.plan.ranges.size() > 1;
  c.plan.provides_sort = provides_sort;
  c.plan.forward = forward;
  c.plan.bounds = std::move(bounds).Finish();
  if (eq_fields == 0 && !range) {
    c.score = provides_sort ? 1 : -1;  // useful only to avoid a blocking sort
  } else {
    c.score = 10 + static_cast<int>(eq_fields) * 4 + (range ? 2 : 0) + (provides_sort ? 1 : 0);
  }
  return c;
}

bool HintMatches(const catalog::IndexSpec& spec, const bson::Value& hint) {
  if (hint.type() == bson::BsonType::kString) return spec.name == hint.AsString();
  if (hint.type() == bson::BsonType::kDocument) return spec.key_pattern.bytes() == bson::Document(hint.AsDocument()).bytes();
  return false;
}

}  // namespace

std::vector<SortField> SortFieldsForPlanning(bson::DocView sort) {
  std::vector<SortField> out;
  for (const bson::Element& e : sort) {
    if (!e.value.IsNumber()) return {};
    double d = e.value.NumberAsDouble();
    if (d != 1 && d != -1) return {};
    out.push_back(SortField{std::string(e.name), d < 0});
  }
  return out;
}

std::optional<std::vector<std::string>> IdLookupCandidates(bson::DocView filter) {
  bool mentions_id = false;
  size_t fields = 0;
  bson::Value id_value;
  for (const bson::Element& e : filter) {
    ++fields;
    if (e.name == "_id") id_value = e.value;
    if (e.name == "_id" || e.name == "$and") mentions_id = true;
  }
  if (!mentions_id) return std::nullopt;
  // The common {_id: <value>} without the predicate map.
  if (fields == 1 && !id_value.missing() && !IsOperatorDoc(id_value)) {
    if (!UsablePoint(id_value)) return std::nullopt;
    return std::vector<std::string>{storage::EncodeValue(id_value).key};
  }
  std::map<std::string, FieldPredicates, std::less<>> preds;
  CollectConjunction(filter, &preds, 0);
  auto id = preds.find("_id");
  if (id == preds.end() || !id->second.has_points) return std::nullopt;
  std::vector<std::string> ids;
  ids.reserve(id->second.points.size());
  for (const bson::Value& v : id->second.points) ids.push_back(storage::EncodeValue(v).key);
  std::sort(ids.begin(), ids.end());
  ids.erase(std::unique(ids.begin(), ids.end()), ids.end());
  return ids;
}

Result<Plan> PlanQuery(const PlanRequest& req) {
  const engine::CollectionHandle& coll = *req.coll;
  Plan collscan;
  if (!req.hint.missing()) {
    if (req.hint.type() == bson::BsonType::kDocument) {
      bson::Value natural = req.hint.AsDocument().Get("$natural");
      if (natural.IsNumber()) {
        collscan.forward = natural.NumberAsDouble() >= 0;
        return collscan;
      }
    }
  }
  std::map<std::string, FieldPredicates, std::less<>> preds;
  CollectConjunction(req.filter, &preds, 0);
  if (!req.hint.missing()) {
    for (size_t i = 0; i < coll.indexes.size(); ++i) {
      if (HintMatches(coll.indexes[i].spec(), req.hint)) {
        Candidate c = PlanIndex(coll, i, preds, req.sort);
        return std::move(c.plan);
      }
    }
    bool id_hint = (req.hint.type() == bson::BsonType::kString && req.hint.AsString() == "_id_") ||
                   (req.hint.type() == bson::BsonType::kDocument && HintMatches(coll.info->indexes[0], req.hint));
    if (!id_hint) return Status(ErrorCode::kBadValue, "hint provided does not correspond to an existing index");
  }
  auto id = preds.find("_id");
  if (id != preds.end() && id->second.has_points) {
    Plan p;
    p.kind = Plan::Kind::kIdLookup;
    p.ids.reserve(id->second.points.size());
    for (const bson::Value& v : id->second.points) p.ids.push_back(storage::EncodeValue(v).key);
    std::sort(p.ids.begin(), p.ids.end());
    p.ids.erase(std::unique(p.ids.begin(), p.ids.end()), p.ids.end());
    return p;
  }
  Candidate best;
  for (size_t i = 0; i < coll.indexes.size(); ++i) {
    const catalog::IndexSpec& spec = coll.indexes[i].spec();
    if (spec.state != catalog::IndexSpec::State::kReady) continue;
    // Sparse and partial indexes lack documents some predicates match: only by hint.
    if (spec.sparse || spec.partial_filter) continue;
    Candidate c = PlanIndex(coll, i, preds, req.sort);
    if (c.score > best.score) best = std::move(c);
  }
  if (best.score >= 0) return std::move(best.plan);
  // The documents themselves are in _id order: a sort on _id alone needs no blocking sort.
  if (req.sort.size() == 1 && req.sort[0].path == "_id") {
    collscan.provides_sort = true;
    collscan.forward = !req.sort[0].descending;
  }
  return collscan;
}

}  // namespace amalgam::query
