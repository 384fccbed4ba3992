// Streaming and sorting stages of the aggregation pipeline: $match, $project, $addFields/$set,
// $unset, $replaceRoot/$replaceWith, $sort, $limit, $skip, $count, $unwind.

#include <algorithm>
#include <cmath>
#include <functional>
#include <numeric>
#include <optional>

#include "bson/builder.h"
#include "bson/json.h"
#include "query/matcher.h"
#include "query/pipeline_internal.h"
#include "query/projection.h"
#include "query/sort.h"
#include "query/update_internal.h"

namespace amalgam::query::pipeline_internal {

using bson::BsonType;

namespace {

// ---- $match ---------------------------------------------------------------------------------

class MatchStage final : public Stage {
 public:
  MatchStage(std::unique_ptr<Stage> in, const Matcher* m) : in_(std::move(in)), m_(m) {}
  Result<bool> Next(Row* row) override {
    while (true) {
      AMALGAM_ASSIGN_OR_RETURN(bool more, in_->Next(row));
      if (!more) return false;
      AMALGAM_ASSIGN_OR_RETURN(bool ok, m_->Evaluate(row->doc.view()));
      if (ok) return true;
    }
  }

 private:
  std::unique_ptr<Stage> in_;
  const Matcher* m_;
};

class MatchSpec final : public StageSpec {
 public:
  MatchSpec(bson::DocView filter, Matcher m) : filter_(filter), m_(std::move(m)) {}
  std::string_view name() const override { return "$match"; }
  std::unique_ptr<Stage> Make(std::unique_ptr<Stage> in, const ExecEnv&) const override {
    return std::make_unique<MatchStage>(std::move(in), &m_);
  }
  bson::DocView filter() const { return filter_; }

 private:
  bson::DocView filter_;
  Matcher m_;
};

// ---- per-document transforms ----------------------------------------------------------------

// (document, the row's $meta values) -> new document.
using Transform = std::function<Result<bson::Document>(bson::DocView, bson::DocView)>;

class TransformStage final : public Stage {
 public:
  TransformStage(std::unique_ptr<Stage> in, const Transform* fn) : in_(std::move(in)), fn_(fn) {}
  Result<bool> Next(Row* row) override {
    AMALGAM_ASSIGN_OR_RETURN(bool more, in_->Next(row));
    if (!more) return false;
    AMALGAM_ASSIGN_OR_RETURN(bson::Document out, (*fn_)(row->doc.view(), row->meta.view()));
    row->doc = std::move(out);
    return true;
  }

 private:
  std::unique_ptr<Stage> in_;
  const Transform* fn_;
};

class TransformSpec final : public StageSpec {
 public:
  TransformSpec(std::string_view name, Transform fn) : name_(name), fn_(std::move(fn)) {}
  std::string_view name() const override { return name_; }
  std::unique_ptr<Stage> Make(std::unique_ptr<Stage> in, const ExecEnv&) const override {
    return std::make_unique<TransformStage>(std::move(in), &fn_);
  }

 private:
  std::string_view name_;
  Transform fn_;
};

// Runs one update-pipeline stage ($set/$unset) of query/update_internal.h; `holder` owns the bytes
// the compiled stage borrows.
Status AddUpdateStyleStage(std::string_view name, const bson::Value& arg, const ParseEnv& env,
                           std::vector<StagePtr>* out) {
  bson::Builder b;
  b.StartDocument("0");
  b.AppendValue(name, arg);
  b.EndDocument();
  auto holder = std::make_shared<bson::Document>(std::move(b).Finish());
  AMALGAM_ASSIGN_OR_RETURN(update_internal::Pipeline p,
                           update_internal::ParsePipeline(holder->view(), env.variables));
  auto shared = std::make_shared<update_internal::Pipeline>(std::move(p));
  out->push_back(std::make_shared<TransformSpec>(name, [holder, shared](bson::DocView doc, bson::DocView) {
    return update_internal::RunPipeline(*shared, doc);
  }));
  return Status::OK();
}

// $addFields / $set: fields whose value is exactly {$meta: "<name>"} are set from the row's $meta
// values (after the other fields); the rest runs as an update-style stage.
Status AddFieldsWithMeta(std::string_view name, const bson::Value& arg, const ParseEnv& env,
                         std::vector<StagePtr>* out) {
  static constexpr std::string_view kMetaNames[] = {
      "textScore", "randVal", "searchScore", "searchHighlights", "geoNearDistance", "geoNearPoint",
      "recordId", "indexKey", "sortKey", "searchScoreDetails", "vectorSearchScore"};
  std::vector<std::pair<std::vector<std::string>, std::string>> metas;
  bson::Builder rest;
  rest.StartDocument("");
  for (const bson::Element& e : arg.AsDocument()) {
    if (e.value.type() == BsonType::kDocument && e.value.AsDocument().CountElements() == 1 &&
        e.value.AsDocument().begin()->name == "$meta") {
      bson::Value m = e.value.AsDocument().begin()->value;
      if (m.type() != BsonType::kString) {
        return MongoCodedError(17307, "$meta only supports string arguments");
      }
      bool known = false;
      for (std::string_view n : kMetaNames) known = known || n == m.AsString();
      if (!known) return MongoCodedError(17308, "Unsupported argument to $meta: " + std::string(m.AsString()));
      metas.emplace_back(SplitDotted(e.name), std::string(m.AsString()));
    } else {
      rest.AppendValue(e.name, e.value);
    }
  }
  rest.EndDocument();
  if (metas.empty()) return AddUpdateStyleStage(name, arg, env, out);
  bson::Document holder = std::move(rest).Finish();
  bson::Value rest_value = holder.view().begin()->value;
  if (!rest_value.AsDocument().empty()) {
    AMALGAM_RETURN_IF_ERROR(AddUpdateStyleStage(name, rest_value, env, out));
  }
  out->push_back(std::make_shared<TransformSpec>(
      name, [metas](bson::DocView doc, bson::DocView meta) -> Result<bson::Document> {
        bson::Document d(doc);
        for (const auto& [parts, meta_name] : metas) {
          bson::Value v = meta.Get(meta_name);
          if (!v.missing()) d = SetField(d.view(), parts, v);
        }
        return d;
      }));
  return Status::OK();
}

Status Prefixed(std::string_view stage, const Status& st) {
  return Status(st.code(),
                "Invalid " + std::string(stage) + " :: caused by :: " + std::string(st.message()));
}

// ---- $sort ----------------------------------------------------------------------------------

class SortStage final : public MaterializingStage {
 public:
  SortStage(std::unique_ptr<Stage> in, const SortSpec* spec, int64_t limit, size_t mem)
      : in_(std::move(in)), spec_(spec), limit_(limit), mem_(mem) {}

 private:
  bool EmitNext(Row* row) override {
    if (pos_ >= order_.size()) return false;
    row->meta = std::move(metas_[order_[pos_]]);
    row->doc = std::move(docs_[order_[pos_++]]);
    return true;
  }
  void SortAndTrim() {
    order_.resize(docs_.size());
    std::iota(order_.begin(), order_.end(), 0);
    std::stable_sort(order_.begin(), order_.end(), [this](size_t a, size_t b) {
      return spec_->CompareKeys(keys_[a].view(), keys_[b].view()) < 0;
    });
    if (limit_ > 0 && order_.size() > static_cast<size_t>(limit_))
      order_.resize(static_cast<size_t>(limit_));
  }
  Status Load() override {
    size_t bytes = 0;
    auto take = [&](Row& row) -> Result<size_t> {
      AMALGAM_ASSIGN_OR_RETURN(bson::Document key, spec_->SortKey(row.doc.view()));
      bytes += row.doc.bytes().size() + key.bytes().size() + 64;
      docs_.push_back(std::move(row.doc));
      metas_.push_back(std::move(row.meta));
      keys_.push_back(std::move(key));
      if (limit_ > 0 && docs_.size() > static_cast<size_t>(limit_) * 2 + 64) {
        SortAndTrim();  // keep the best `limit` so far, in order (stable across rounds)
        std::vector<bson::Document> docs;
        std::vector<bson::Document> keys, metas;
        bytes = 0;
        for (size_t i : order_) {
          bytes += docs_[i].bytes().size() + keys_[i].bytes().size() + 64;
          docs.push_back(std::move(docs_[i]));
          keys.push_back(std::move(keys_[i]));
          metas.push_back(std::move(metas_[i]));
        }
        docs_ = std::move(docs);
        keys_ = std::move(keys);
        metas_ = std::move(metas);
      }
      return bytes;
    };
    AMALGAM_RETURN_IF_ERROR(
        DrainInput(*in_, mem_, take, [this] { return MemoryLimitError("Sort", mem_); }));
    SortAndTrim();
    return Status::OK();
  }

  std::unique_ptr<Stage> in_;
  const SortSpec* spec_;
  int64_t limit_;
  size_t mem_;
  std::vector<bson::Document> docs_, keys_, metas_;
  std::vector<size_t> order_;
  size_t pos_ = 0;
};

class SortSpecStage final : public StageSpec {
 public:
  SortSpecStage(bson::DocView sort, std::shared_ptr<const SortSpec> spec, int64_t limit)
      : sort_(sort), spec_(std::move(spec)), limit_(limit) {}
  std::string_view name() const override { return "$sort"; }
  std::unique_ptr<Stage> Make(std::unique_ptr<Stage> in, const ExecEnv& env) const override {
    return std::make_unique<SortStage>(std::move(in), spec_.get(), limit_, env.limit());
  }
  bson::DocView sort() const { return sort_; }
  StagePtr WithLimit(int64_t limit) const {
    int64_t l = limit_ > 0 ? std::min(limit_, limit) : limit;
    return std::make_shared<SortSpecStage>(sort_, spec_, l);
  }

 private:
  bson::DocView sort_;
  std::shared_ptr<const SortSpec> spec_;
  int64_t limit_;
};

// ---- $skip / $limit -------------------------------------------------------------------------

class SkipLimitSpec final : public StageSpec {
 public:
  SkipLimitSpec(bool is_skip, int64_t n) : is_skip_(is_skip), n_(n) {}
  std::string_view name() const override { return is_skip_ ? "$skip" : "$limit"; }
  std::unique_ptr<Stage> Make(std::unique_ptr<Stage> in, const ExecEnv&) const override {
    return MakeSkipLimitStage(std::move(in), is_skip_ ? n_ : 0, is_skip_ ? 0 : n_);
  }
  bool is_skip() const { return is_skip_; }
  int64_t n() const { return n_; }

 private:
  bool is_skip_;
  int64_t n_;
};

// MongoDB's BSONElement::parseIntegerElementToNonNegativeLong.
Result<int64_t> NonNegativeInteger(const bson::Value& v, std::string_view stage, int32_t code) {
  std::string shown = ValueString(v);
  std::string prefix = "invalid argument to " + std::string(stage) + " stage: ";
  if (!v.IsNumber()) {
    return MongoCodedError(code,
                           prefix + "Expected a number in: " + std::string(stage) + ": " + shown);
  }
  int64_t n = 0;
  if (v.type() == BsonType::kInt64) {
    n = v.AsInt64();
  } else if (v.type() == BsonType::kInt32) {
    n = v.AsInt32();
  } else {
    double d = v.NumberAsDouble();
    if (std::isnan(d) || d != std::trunc(d) || std::fabs(d) >= 9.2e18) {
      return MongoCodedError(code,
                             prefix + "Expected an integer: " + std::string(stage) + ": " + shown);
    }
    n = static_cast<int64_t>(d);
  }
  if (n < 0) {
    return MongoCodedError(
        code, prefix + "Expected a non-negative number in: " + std::string(stage) + ": " + shown);
  }
  return n;
}

// ---- $count ---------------------------------------------------------------------------------

class CountStage final : public Stage {
 public:
  CountStage(std::unique_ptr<Stage> in, const std::string* field)
      : in_(std::move(in)), field_(field) {}
  Result<bool> Next(Row* row) override {
    if (done_) return false;
    done_ = true;
    int64_t n = 0;
    Row r;
    while (true) {
      AMALGAM_ASSIGN_OR_RETURN(bool more, in_->Next(&r));
      if (!more) break;
      ++n;
    }
    if (n == 0) return false;
    bson::Builder b;
    if (n <= INT32_MAX) {
      b.AppendInt32(*field_, static_cast<int32_t>(n));
    } else {
      b.AppendInt64(*field_, n);
    }
    row->doc = std::move(b).Finish();
    row->details = MatchDetails();
    return true;
  }

 private:
  std::unique_ptr<Stage> in_;
  const std::string* field_;
  bool done_ = false;
};

class CountSpec final : public StageSpec {
 public:
  explicit CountSpec(std::string field) : field_(std::move(field)) {}
  std::string_view name() const override { return "$count"; }
  std::unique_ptr<Stage> Make(std::unique_ptr<Stage> in, const ExecEnv&) const override {
    return std::make_unique<CountStage>(std::move(in), &field_);
  }

 private:
  std::string field_;
};

// ---- $unwind --------------------------------------------------------------------------------

struct UnwindOptions {
  std::vector<std::string> path;
  std::vector<std::string> index_path;  // empty: no includeArrayIndex
  bool preserve = false;
};

class UnwindStage final : public Stage {
 public:
  UnwindStage(std::unique_ptr<Stage> in, const UnwindOptions* o) : in_(std::move(in)), o_(o) {}
  Result<bool> Next(Row* row) override {
    while (true) {
      if (current_) {
        bson::Value arr = GetField(current_->view(), o_->path);
        if (arr.type() == BsonType::kArray) {
          bson::DocView elems = arr.AsDocument();
          size_t i = 0;
          for (const bson::Element& e : elems) {
            if (i++ < next_) continue;
            Emit(SetField(current_->view(), o_->path, e.value), static_cast<int64_t>(next_), row);
            ++next_;
            return true;
          }
        }
        current_.reset();
      }
      Row in;
      AMALGAM_ASSIGN_OR_RETURN(bool more, in_->Next(&in));
      if (!more) return false;
      bson::Value v = GetField(in.doc.view(), o_->path);
      if (v.type() == BsonType::kArray) {
        if (!v.AsDocument().empty()) {
          current_ = std::move(in.doc);
          next_ = 0;
          continue;
        }
        if (!o_->preserve) continue;
        Emit(SetField(in.doc.view(), o_->path, bson::Value()), -1, row);
        return true;
      }
      bool nullish = v.missing() || v.type() == BsonType::kNull || v.type() == BsonType::kUndefined;
      if (nullish && !o_->preserve) continue;
      Emit(std::move(in.doc), -1, row);
      return true;
    }
  }

 private:
  void Emit(bson::Document doc, int64_t index, Row* row) {
    if (!o_->index_path.empty()) {
      bson::Builder b;
      if (index >= 0) {
        b.AppendInt64("", index);
      } else {
        b.AppendNull("");
      }
      bson::Document h = std::move(b).Finish();
      doc = SetField(doc.view(), o_->index_path, h.view().begin()->value);
    }
    row->doc = std::move(doc);
    row->details = MatchDetails();
  }

  std::unique_ptr<Stage> in_;
  const UnwindOptions* o_;
  std::optional<bson::Document> current_;
  size_t next_ = 0;
};

class UnwindSpec final : public StageSpec {
 public:
  explicit UnwindSpec(UnwindOptions o) : o_(std::move(o)) {}
  std::string_view name() const override { return "$unwind"; }
  std::unique_ptr<Stage> Make(std::unique_ptr<Stage> in, const ExecEnv&) const override {
    return std::make_unique<UnwindStage>(std::move(in), &o_);
  }

 private:
  UnwindOptions o_;
};

Result<std::vector<std::string>> UnwindPath(std::string_view path, std::string_view shown) {
  if (path.empty() || path[0] != '$') {
    return MongoCodedError(
        28818, "path option to $unwind stage should be prefixed with a '$': " + std::string(shown));
  }
  AMALGAM_RETURN_IF_ERROR(ValidateFieldPathForProjection(path.substr(1)));
  return SplitDotted(path.substr(1));
}

}  // namespace

// ---- parsers --------------------------------------------------------------------------------

Status ParseMatch(const bson::Value& arg, const ParseEnv& env, std::vector<StagePtr>* out) {
  if (arg.type() != BsonType::kDocument) {
    return MongoCodedError(15959, "the match filter must be an expression in an object");
  }
  MatchContext mctx;
  mctx.variables = env.variables;
  AMALGAM_ASSIGN_OR_RETURN(Matcher m, Matcher::Compile(arg.AsDocument(), mctx));
  out->push_back(std::make_shared<MatchSpec>(arg.AsDocument(), std::move(m)));
  return Status::OK();
}

Status ParseProject(const bson::Value& arg, const ParseEnv& env, std::vector<StagePtr>* out) {
  if (arg.type() != BsonType::kDocument) {
    return MongoCodedError(15969, "$project specification must be an object");
  }
  if (arg.AsDocument().empty()) {
    return MongoCodedError(
        51272,
        "Invalid $project :: caused by :: projection specification must have at least one field");
  }
  ProjectionOptions popts;
  popts.variables = env.variables;
  Result<Projection> p = Projection::Compile(arg.AsDocument(), popts);
  if (!p.ok()) return Prefixed("$project", p.status());
  if (p->has_positional()) {
    return MongoCodedError(31324,
                           "Invalid $project :: caused by :: Cannot use positional projection in "
                           "aggregation projection");
  }
  auto shared = std::make_shared<const Projection>(std::move(p).value());
  out->push_back(std::make_shared<TransformSpec>("$project", [shared](bson::DocView doc, bson::DocView meta) {
    ProjectionApplyContext pctx;
    pctx.meta = meta;
    return shared->Apply(doc, pctx);
  }));
  return Status::OK();
}

Status ParseAddFields(const bson::Value& arg, const ParseEnv& env, std::vector<StagePtr>* out) {
  if (arg.type() != BsonType::kDocument) {
    return MongoCodedError(
        40272, "$addFields specification stage must be an object, got " + TypeNameOf(arg));
  }
  return AddFieldsWithMeta("$addFields", arg, env, out);
}

Status ParseSet(const bson::Value& arg, const ParseEnv& env, std::vector<StagePtr>* out) {
  if (arg.type() != BsonType::kDocument) {
    return MongoCodedError(40272,
                           "$set specification stage must be an object, got " + TypeNameOf(arg));
  }
  return AddFieldsWithMeta("$set", arg, env, out);
}

Status ParseUnset(const bson::Value& arg, const ParseEnv& env, std::vector<StagePtr>* out) {
  if (arg.type() == BsonType::kArray) {
    if (arg.AsDocument().empty()) {
      return MongoCodedError(
          31119, "$unset specification must be a string or an array with at least one field");
    }
    for (const bson::Element& e : arg.AsDocument()) {
      if (e.value.type() != BsonType::kString) {
        return MongoCodedError(
            31120,
            "$unset specification must be a string or an array containing only string values");
      }
    }
  } else if (arg.type() != BsonType::kString) {
    return MongoCodedError(31002, "$unset specification must be a string or an array");
  }
  return AddUpdateStyleStage("$unset", arg, env, out);
}

Status ParseReplaceRootCommon(std::string_view stage, const bson::Value& root, const ParseEnv& env,
                              std::vector<StagePtr>* out) {
  ExprParseContext pctx;
  pctx.variables = env.variables;
  AMALGAM_ASSIGN_OR_RETURN(std::unique_ptr<Expression> e, Expression::Parse(root, pctx));
  std::shared_ptr<const Expression> expr(std::move(e));
  out->push_back(
      std::make_shared<TransformSpec>(stage, [expr](bson::DocView doc, bson::DocView) -> Result<bson::Document> {
        ExprEvalContext ectx;
        ectx.root = doc;
        AMALGAM_ASSIGN_OR_RETURN(ExprValue v, expr->Evaluate(ectx));
        if (v.value().type() != BsonType::kDocument) {
          std::string shown = ValueString(v.value());
          return MongoCodedError(
              40228,
              "'replacement document' must evaluate to an object, but resulting value was: " +
                  shown + ". Type of resulting value: '" + TypeNameOf(v.value()) +
                  "'. Input document: " + bson::ToShellString(doc));
        }
        return bson::Document(v.value().AsDocument());
      }));
  return Status::OK();
}

Status ParseReplaceRoot(const bson::Value& arg, const ParseEnv& env, std::vector<StagePtr>* out) {
  if (arg.type() != BsonType::kDocument) {
    return MongoCodedError(
        40229,
        "expected an object as specification for $replaceRoot stage, got " + TypeNameOf(arg));
  }
  bson::Value root;
  for (const bson::Element& e : arg.AsDocument()) {
    if (e.name != "newRoot") {
      return MongoCodedError(40230, "unrecognized option to $replaceRoot stage: " +
                                        std::string(e.name) + ", only valid option is 'newRoot'.");
    }
    root = e.value;
  }
  if (root.missing())
    return MongoCodedError(40231, "no newRoot specified for the $replaceRoot stage");
  return ParseReplaceRootCommon("$replaceRoot", root, env, out);
}

Status ParseReplaceWith(const bson::Value& arg, const ParseEnv& env, std::vector<StagePtr>* out) {
  return ParseReplaceRootCommon("$replaceWith", arg, env, out);
}

Status ParseSort(const bson::Value& arg, const ParseEnv&, std::vector<StagePtr>* out) {
  if (arg.type() != BsonType::kDocument) {
    return MongoCodedError(15973, "the $sort key specification must be an object");
  }
  if (arg.AsDocument().empty())
    return MongoCodedError(15976, "$sort stage must have at least one sort key");
  AMALGAM_ASSIGN_OR_RETURN(SortSpec spec, SortSpec::Compile(arg.AsDocument()));
  out->push_back(std::make_shared<SortSpecStage>(
      arg.AsDocument(), std::make_shared<const SortSpec>(std::move(spec)), 0));
  return Status::OK();
}

Status ParseLimit(const bson::Value& arg, const ParseEnv&, std::vector<StagePtr>* out) {
  AMALGAM_ASSIGN_OR_RETURN(int64_t n, NonNegativeInteger(arg, "$limit", 5107201));
  if (n == 0) return MongoCodedError(15958, "the limit must be positive");
  out->push_back(std::make_shared<SkipLimitSpec>(false, n));
  return Status::OK();
}

Status ParseSkip(const bson::Value& arg, const ParseEnv&, std::vector<StagePtr>* out) {
  AMALGAM_ASSIGN_OR_RETURN(int64_t n, NonNegativeInteger(arg, "$skip", 5107200));
  out->push_back(std::make_shared<SkipLimitSpec>(true, n));
  return Status::OK();
}

Status ParseCount(const bson::Value& arg, const ParseEnv&, std::vector<StagePtr>* out) {
  if (arg.type() != BsonType::kString)
    return MongoCodedError(40156, "the count field must be a non-empty string");
  if (arg.AsString().empty())
    return MongoCodedError(40157, "the count field must be a non-empty string");
  std::string_view f = arg.AsString();
  if (f[0] == '$') return MongoCodedError(40158, "the count field cannot be a $-prefixed path");
  if (f.find('.') != std::string_view::npos)
    return MongoCodedError(40160, "the count field cannot contain '.'");
  out->push_back(std::make_shared<CountSpec>(std::string(f)));
  return Status::OK();
}

Status ParseUnwind(const bson::Value& arg, const ParseEnv&, std::vector<StagePtr>* out) {
  UnwindOptions o;
  if (arg.type() == BsonType::kString) {
    AMALGAM_ASSIGN_OR_RETURN(o.path, UnwindPath(arg.AsString(), arg.AsString()));
  } else if (arg.type() == BsonType::kDocument) {
    bool have_path = false;
    for (const bson::Element& e : arg.AsDocument()) {
      if (e.name == "path") {
        if (e.value.type() != BsonType::kString) {
          return MongoCodedError(
              28808, "expected a string as the path for $unwind stage, got " + TypeNameOf(e.value));
        }
        AMALGAM_ASSIGN_OR_RETURN(o.path, UnwindPath(e.value.AsString(), e.value.AsString()));
        have_path = true;
      } else if (e.name == "preserveNullAndEmptyArrays") {
        if (e.value.type() != BsonType::kBool) {
          return MongoCodedError(28809,
                                 "expected a boolean for the preserveNullAndEmptyArrays option to "
                                 "$unwind stage, got " +
                                     TypeNameOf(e.value));
        }
        o.preserve = e.value.AsBool();
      } else if (e.name == "includeArrayIndex") {
        if (e.value.type() != BsonType::kString || e.value.AsString().empty()) {
          return MongoCodedError(28810,
                                 "expected a non-empty string for the includeArrayIndex  option to "
                                 "$unwind stage, got " +
                                     TypeNameOf(e.value));
        }
        std::string_view idx = e.value.AsString();
        if (idx[0] == '$') {
          return MongoCodedError(
              28822,
              "includeArrayIndex option to $unwind stage should not be prefixed with a '$': " +
                  std::string(idx));
        }
        AMALGAM_RETURN_IF_ERROR(ValidateFieldPathForProjection(idx));
        o.index_path = SplitDotted(idx);
      } else {
        return MongoCodedError(28811,
                               "unrecognized option to $unwind stage: " + std::string(e.name));
      }
    }
    if (!have_path) return MongoCodedError(28812, "no path specified to $unwind stage");
  } else {
    return MongoCodedError(
        15981, "expected either a string or an object as specification for $unwind stage, got " +
                   TypeNameOf(arg));
  }
  out->push_back(std::make_shared<UnwindSpec>(std::move(o)));
  return Status::OK();
}

bool AsMatch(const StageSpec& spec, bson::DocView* filter) {
  auto* m = dynamic_cast<const MatchSpec*>(&spec);
  if (m) *filter = m->filter();
  return m != nullptr;
}

bool AsSort(const StageSpec& spec, bson::DocView* sort) {
  auto* s = dynamic_cast<const SortSpecStage*>(&spec);
  if (s) *sort = s->sort();
  return s != nullptr;
}

bool AsSkip(const StageSpec& spec, int64_t* n) {
  auto* s = dynamic_cast<const SkipLimitSpec*>(&spec);
  if (!s || !s->is_skip()) return false;
  *n = s->n();
  return true;
}

bool AsLimit(const StageSpec& spec, int64_t* n) {
  auto* s = dynamic_cast<const SkipLimitSpec*>(&spec);
  if (!s || s->is_skip()) return false;
  *n = s->n();
  return true;
}

StagePtr WithTopK(const StageSpec& sort, int64_t limit) {
  return static_cast<const SortSpecStage&>(sort).WithLimit(limit);
}

}  // namespace amalgam::query::pipeline_internal
