#include "query/pipeline.h"

#include <chrono>
#include <string>

#include "bson/builder.h"
#include "bson/json.h"
#include "query/expression_internal.h"
#include "query/pipeline_internal.h"
#include "query/projection.h"
#include "query/vector_search.h"

namespace amalgam::query {

using bson::BsonType;
using namespace pipeline_internal;

namespace pipeline_internal {
namespace {

struct StageRow {
  std::string_view name;
  StageParser parse;
};

// The stages this server runs. A stage not listed here is "Unrecognized" (40324).
constexpr StageRow kStages[] = {
    {"$match", ParseMatch},
    {"$project", ParseProject},
    {"$addFields", ParseAddFields},
    {"$set", ParseSet},
    {"$unset", ParseUnset},
    {"$sort", ParseSort},
    {"$limit", ParseLimit},
    {"$skip", ParseSkip},
    {"$count", ParseCount},
    {"$group", ParseGroup},
    {"$unwind", ParseUnwind},
    {"$replaceRoot", ParseReplaceRoot},
    {"$replaceWith", ParseReplaceWith},
    {"$sortByCount", ParseSortByCount},
    {"$sample", ParseSample},
    {"$facet", ParseFacet},
    {"$documents", ParseDocuments},
    {"$lookup", ParseLookup},
    {"$unionWith", ParseUnionWith},
    {"$bucket", ParseBucket},
    {"$bucketAuto", ParseBucketAuto},
    {"$setWindowFields", ParseSetWindowFields},
    {"$out", ParseOut},
    {"$merge", ParseMerge},
    {"$collStats", ParseCollStats},
    {"$indexStats", ParseIndexStats},
    {"$listSessions", ParseListSessions},
    {"$listLocalSessions", ParseListLocalSessions},
    {"$vectorSearch", ParseVectorSearchStage},
    {"$listSearchIndexes", ParseListSearchIndexesStage},
};

}  // namespace

Status ParseStages(bson::DocView stages, const ParseEnv& env, std::vector<StagePtr>* out) {
  size_t position = 0;
  for (const bson::Element& e : stages) {
    if (e.value.type() != BsonType::kDocument || e.value.AsDocument().CountElements() != 1) {
      return MongoCodedError(
          40323, "A pipeline stage specification object must contain exactly one field.");
    }
    const bson::Element stage = *e.value.AsDocument().begin();
    const StageRow* row = nullptr;
    for (const StageRow& r : kStages) {
      if (r.name == stage.name) row = &r;
    }
    if (row == nullptr) {
      return MongoCodedError(40324,
                             "Unrecognized pipeline stage name: '" + std::string(stage.name) + "'");
    }
    ParseEnv sub = env;
    sub.position = position++;
    AMALGAM_RETURN_IF_ERROR(row->parse(stage.value, sub, out));
  }
  return Status::OK();
}

std::unique_ptr<Stage> BuildChain(const std::vector<StagePtr>& specs, size_t from,
                                  std::unique_ptr<Stage> input, const ExecEnv& env) {
  for (size_t i = from; i < specs.size(); ++i) input = specs[i]->Make(std::move(input), env);
  return input;
}

Status MemoryLimitError(std::string_view what, size_t limit) {
  return Status(ErrorCode::kQueryExceededMemoryLimit,
                std::string(what) + " exceeded memory limit of " + std::to_string(limit) +
                    " bytes, but did not opt in to external sorting. Aborting operation. Pass "
                    "allowDiskUse:true "
                    "to opt in.");
}

Result<bool> MaterializingStage::Next(Row* row) {
  if (!loaded_) {
    AMALGAM_RETURN_IF_ERROR(Load());
    loaded_ = true;
  }
  if (!EmitNext(row)) return false;
  row->details = MatchDetails();
  return true;
}

bool BufferedStage::EmitNext(Row* row) {
  if (pos_ >= out_.size()) return false;
  row->doc = std::move(out_[pos_++]);
  return true;
}

std::vector<std::string> SplitDotted(std::string_view path) {
  std::vector<std::string> parts;
  size_t start = 0;
  while (true) {
    size_t dot = path.find('.', start);
    parts.emplace_back(
        path.substr(start, dot == std::string_view::npos ? std::string_view::npos : dot - start));
    if (dot == std::string_view::npos) return parts;
    start = dot + 1;
  }
}

std::string TypeNameOf(const bson::Value& v) {
  return v.missing() ? "missing" : std::string(bson::TypeAlias(v.type()));
}

std::string ValueString(const bson::Value& v) {
  if (v.missing()) return "MISSING";
  bson::Builder b;
  b.AppendValue("v", v);
  std::string s = bson::ToShellString(std::move(b).Finish().view());
  return s.size() > 7 ? s.substr(5, s.size() - 7) : s;  // "{ v: 5 }" -> "5"
}

bson::Document Holder(const bson::Value& v) {
  bson::Builder b;
  b.AppendValue("", v);
  return std::move(b).Finish();
}

bson::Value GetField(bson::DocView doc, const std::vector<std::string>& parts) {
  bson::Value cur;
  for (size_t i = 0; i < parts.size(); ++i) {
    cur = doc.Get(parts[i]);
    if (i + 1 == parts.size()) return cur;
    if (cur.type() != BsonType::kDocument) return bson::Value();
    doc = cur.AsDocument();
  }
  return cur;
}

namespace {

void AppendNew(bson::Builder& b, const std::vector<std::string>& parts, size_t i,
               const bson::Value& v) {
  if (i + 1 == parts.size()) {
    b.AppendValue(parts[i], v);
    return;
  }
  b.StartDocument(parts[i]);
  AppendNew(b, parts, i + 1, v);
  b.EndDocument();
}

void SetIn(bson::Builder& b, bson::DocView doc, const std::vector<std::string>& parts, size_t i,
           const bson::Value& v) {
  bool found = false;
  for (const bson::Element& e : doc) {
    if (e.name != parts[i]) {
      b.AppendValue(e.name, e.value);
      continue;
    }
    found = true;
    if (i + 1 == parts.size()) {
      if (!v.missing()) b.AppendValue(e.name, v);
    } else if (e.value.type() == BsonType::kDocument) {
      b.StartDocument(e.name);
      SetIn(b, e.value.AsDocument(), parts, i + 1, v);
      b.EndDocument();
    } else if (!v.missing()) {
      AppendNew(b, parts, i, v);
    } else {
      b.AppendValue(e.name, e.value);
    }
  }
  if (!found && !v.missing()) AppendNew(b, parts, i, v);
}

class VectorStage final : public Stage {
 public:
  explicit VectorStage(std::vector<bson::Document> docs) : docs_(std::move(docs)) {}
  Result<bool> Next(Row* row) override {
    if (pos_ >= docs_.size()) return false;
    row->doc = std::move(docs_[pos_++]);
    row->details = MatchDetails();
    return true;
  }

 private:
  std::vector<bson::Document> docs_;
  size_t pos_ = 0;
};

class SourceStage final : public Stage {
 public:
  explicit SourceStage(std::unique_ptr<engine::DocumentSource> source)
      : source_(std::move(source)) {}
  Result<bool> Next(Row* row) override {
    row->details = MatchDetails();
    return source_->Next(&row->doc);
  }

 private:
  std::unique_ptr<engine::DocumentSource> source_;
};

}  // namespace

bson::Document SetField(bson::DocView doc, const std::vector<std::string>& parts,
                        const bson::Value& v) {
  bson::Builder b;
  SetIn(b, doc, parts, 0, v);
  return std::move(b).Finish();
}

}  // namespace pipeline_internal

// ---- Pipeline -------------------------------------------------------------------------------

struct Pipeline::Impl {
  bson::Document stages_bytes;  // owns the bytes every spec borrows
  bson::Document variables;
  std::vector<StagePtr> specs;
  AccessPrefix prefix;
  ExecEnv env;
  bool starts_with_documents = false;
};

namespace {

// Keeps the pipeline's compiled state alive for as long as its executor runs.
class OwningStage final : public Stage {
 public:
  OwningStage(std::shared_ptr<const Pipeline::Impl> impl, std::unique_ptr<Stage> chain)
      : impl_(std::move(impl)), chain_(std::move(chain)) {}
  Result<bool> Next(Row* row) override { return chain_->Next(row); }

 private:
  std::shared_ptr<const Pipeline::Impl> impl_;  // declared first: destroyed after the chain
  std::unique_ptr<Stage> chain_;
};

void ComputePrefix(Pipeline::Impl* impl, bool collectionless) {
  AccessPrefix& p = impl->prefix;
  const auto& specs = impl->specs;
  if (collectionless) return;
  size_t i = 0;
  bson::DocView view;
  int64_t n = 0;
  if (i < specs.size() && AsMatch(*specs[i], &view)) {
    p.filter = bson::Document(view);
    ++i;
  }
  if (i < specs.size() && AsSort(*specs[i], &view)) {
    p.sort = bson::Document(view);
    ++i;
  }
  if (i < specs.size() && AsSkip(*specs[i], &n)) {
    p.skip = n;
    ++i;
  }
  if (i < specs.size() && AsLimit(*specs[i], &n)) {
    p.limit = n;
    ++i;
  }
  p.stages = i;
}

}  // namespace

// The command's `let`: each value is an expression evaluated once, against no document; $$NOW is
// fixed here for the whole pipeline.
Result<bson::Document> EvaluateVariables(bson::DocView let) {
  bson::Builder b;
  int64_t now = std::chrono::duration_cast<std::chrono::milliseconds>(
                    std::chrono::system_clock::now().time_since_epoch())
                    .count();
  bson::Document partial = std::move(bson::Builder().AppendDate("NOW", now)).Finish();
  b.AppendDate("NOW", now);
  for (const bson::Element& e : let) {
    AMALGAM_RETURN_IF_ERROR(expr_internal::ValidateVariableName(e.name));
    ExprParseContext pctx;
    pctx.variables = partial.view();
    AMALGAM_ASSIGN_OR_RETURN(std::unique_ptr<Expression> expr, Expression::Parse(e.value, pctx));
    bson::Document empty;
    ExprEvalContext ectx;
    ectx.root = empty.view();
    AMALGAM_ASSIGN_OR_RETURN(ExprValue v, expr->Evaluate(ectx));
    if (v.missing()) continue;
    b.AppendValue(e.name, v.value());
  }
  return std::move(b).Finish();
}

Result<Pipeline> Pipeline::Compile(bson::DocView stages, const PipelineContext& ctx) {
  auto impl = std::make_shared<Impl>();
  impl->stages_bytes = bson::Document(stages);
  bson::DocView let = ctx.variables.data() ? ctx.variables : bson::DocView();
  if (ctx.variables_evaluated) {
    impl->variables = bson::Document(let);
  } else {
    AMALGAM_ASSIGN_OR_RETURN(impl->variables, EvaluateVariables(let));
  }
  impl->env.memory_limit_bytes = ctx.memory_limit_bytes;
  impl->env.allow_disk_use = ctx.allow_disk_use;
  impl->env.random_seed = ctx.random_seed;
  impl->env.collections = ctx.collections;
  ParseEnv env;
  env.variables = impl->variables.view();
  env.ctx = &ctx;
  AMALGAM_RETURN_IF_ERROR(ParseStages(impl->stages_bytes.view(), env, &impl->specs));
  // $sort followed by $limit: a top-k sort (the $limit stays, and is then a no-op).
  for (size_t i = 0; i + 1 < impl->specs.size(); ++i) {
    bson::DocView sort;
    int64_t limit = 0;
    if (AsSort(*impl->specs[i], &sort) && AsLimit(*impl->specs[i + 1], &limit)) {
      impl->specs[i] = WithTopK(*impl->specs[i], limit);
    }
  }
  impl->starts_with_documents = !impl->specs.empty() && impl->specs[0]->name() == "$documents";
  // Collectionless pipelines need a first stage that makes documents of its own.
  bool collectionless_source =
      impl->starts_with_documents || (!impl->specs.empty() && impl->specs[0]->name() == "$listLocalSessions");
  if (ctx.collectionless && !collectionless_source) {
    std::string first =
        impl->specs.empty() ? "an empty pipeline" : "'" + std::string(impl->specs[0]->name()) + "'";
    return Status(ErrorCode::kInvalidNamespace,
                  "{aggregate: 1} is not valid for " + first + "; a collection is required.");
  }
  ComputePrefix(impl.get(), ctx.collectionless || impl->starts_with_documents);
  Pipeline p;
  p.impl_ = std::move(impl);
  return p;
}

const AccessPrefix& Pipeline::access_prefix() const { return impl_->prefix; }
bson::DocView Pipeline::variables() const { return impl_->variables.view(); }
size_t Pipeline::size() const { return impl_->specs.size(); }
bool Pipeline::starts_with_documents() const { return impl_->starts_with_documents; }
bool Pipeline::GroupsAt(size_t i) const { return i < impl_->specs.size() && AsGroup(*impl_->specs[i]); }

std::unique_ptr<Stage> Pipeline::Build(std::unique_ptr<Stage> input, size_t from) const {
  std::unique_ptr<Stage> chain = BuildChain(impl_->specs, from, std::move(input), impl_->env);
  return std::make_unique<OwningStage>(impl_, std::move(chain));
}

std::unique_ptr<Stage> Pipeline::BuildOverScan(ScanInput scan, size_t from) const {
  if (from < impl_->specs.size() && AsGroup(*impl_->specs[from])) {
    std::unique_ptr<Stage> group = MakeScanGroupStage(*impl_->specs[from], std::move(scan), impl_->env);
    std::unique_ptr<Stage> chain = BuildChain(impl_->specs, from + 1, std::move(group), impl_->env);
    return std::make_unique<OwningStage>(impl_, std::move(chain));
  }
  Plan plan;
  plan.kind = Plan::Kind::kCollScan;
  ReadSource src;
  src.view = scan.view;
  ExecStats* stats = scan.stats.get();
  // The access stage points at the stats: the pipeline keeps them alive with it.
  struct StatsKeeper final : Stage {
    StatsKeeper(std::shared_ptr<ExecStats> s, std::unique_ptr<Stage> in) : stats(std::move(s)), input(std::move(in)) {}
    Result<bool> Next(Row* row) override { return input->Next(row); }
    std::shared_ptr<ExecStats> stats;
    std::unique_ptr<Stage> input;
  };
  auto input = std::make_unique<StatsKeeper>(
      scan.stats, MakeAccessStage(src, std::move(scan.coll), plan, std::move(scan.matcher), stats));
  return Build(std::move(input), from);
}

Pipeline::Pipeline() = default;
Pipeline::Pipeline(const Pipeline&) = default;
Pipeline& Pipeline::operator=(const Pipeline&) = default;
Pipeline::Pipeline(Pipeline&&) noexcept = default;
Pipeline& Pipeline::operator=(Pipeline&&) noexcept = default;
Pipeline::~Pipeline() = default;

std::unique_ptr<Stage> MakeVectorStage(std::vector<bson::Document> docs) {
  return std::make_unique<VectorStage>(std::move(docs));
}

std::unique_ptr<Stage> MakeSourceStage(std::unique_ptr<engine::DocumentSource> source) {
  return std::make_unique<SourceStage>(std::move(source));
}

}  // namespace amalgam::query
