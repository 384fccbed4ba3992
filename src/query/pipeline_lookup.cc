// $lookup (equality and pipeline forms, with let) and $unionWith: stages that read other
// collections through the pipeline's CollectionSource.

#include <optional>
#include <string>
#include <vector>

#include "bson/builder.h"
#include "bson/json.h"
#include "query/expression_internal.h"
#include "query/pipeline_internal.h"
#include "query/projection.h"

namespace amalgam::query::pipeline_internal {

using bson::BsonType;

namespace {

constexpr size_t kMaxLookupBytes = 16 * 1024 * 1024 + 16 * 1024;  // MongoDB's 16793600

Status NoCollections(std::string_view stage) {
  return Status(ErrorCode::kNotImplemented,
                std::string(stage) + " cannot read other collections in this context");
}

Status FailedToParse(std::string msg) { return Status(ErrorCode::kFailedToParse, std::move(msg)); }

// Runs `p` over the documents of `coll` matching `filter` (or over nothing when `coll` is empty:
// a collectionless sub-pipeline starting with $documents).
Result<std::unique_ptr<Stage>> OpenSub(const CollectionSource* source, const std::string& coll,
                                       bson::DocView filter, const Pipeline& p, std::string_view stage) {
  std::unique_ptr<Stage> input;
  if (coll.empty() || p.starts_with_documents()) {
    input = MakeVectorStage({});
  } else {
    if (source == nullptr) return NoCollections(stage);
    AMALGAM_ASSIGN_OR_RETURN(input, source->Open(coll, filter));
  }
  return p.Build(std::move(input), 0);
}

// ---- $lookup ---------------------------------------------------------------------------------

struct LookupDef {
  std::string from;  // empty: collectionless ($documents pipeline)
  std::string as;
  std::vector<std::string> as_parts;
  std::string local_field, foreign_field;  // both empty: pipeline form only
  std::unique_ptr<Expression> local;       // "$<localField>"
  bson::Document let_spec;                 // {name: expression}
  std::vector<std::string> let_names;
  std::vector<std::unique_ptr<Expression>> let_exprs;
  bson::Document pipeline;  // the sub-pipeline's stages (an array), empty if none
  bool has_pipeline = false;
  std::optional<Pipeline> compiled;  // when there is no let: compiled once
  bson::Document outer_variables;
  std::shared_ptr<const CollectionSource> collections;
  size_t memory_limit = kDefaultPipelineMemoryLimit;
  bool allow_disk_use = false;
};

class LookupStage final : public Stage {
 public:
  LookupStage(std::unique_ptr<Stage> in, std::shared_ptr<const LookupDef> def)
      : in_(std::move(in)), def_(std::move(def)) {}

  Result<bool> Next(Row* row) override {
    AMALGAM_ASSIGN_OR_RETURN(bool more, in_->Next(row));
    if (!more) return false;
    const LookupDef& d = *def_;
    bson::DocView doc = row->doc.view();
    // The equality filter on the foreign collection.
    bson::Document filter;
    if (d.local) {
      ExprEvalContext ectx;
      ectx.root = doc;
      AMALGAM_ASSIGN_OR_RETURN(ExprValue local, d.local->Evaluate(ectx));
      bson::Builder fb;
      fb.StartDocument(d.foreign_field).StartArray("$in");
      bson::ArrayBuilder ab(fb);
      if (local.value().type() == BsonType::kArray) {
        for (const bson::Element& e : local.value().AsDocument()) AppendInValue(fb, ab.Next(), e.value);
      } else if (local.missing()) {
        fb.AppendNull(ab.Next());
      } else {
        AppendInValue(fb, ab.Next(), local.value());
      }
      fb.EndArray().EndDocument();
      filter = std::move(fb).Finish();
    }
    // The sub-pipeline: compiled once, or per document when it has let variables.
    std::optional<Pipeline> per_doc;
    const Pipeline* p = d.compiled ? &*d.compiled : nullptr;
    if (!p) {
      bson::Builder vb;
      std::vector<std::string_view> names;
      ExprEvalContext ectx;
      ectx.root = doc;
      for (size_t i = 0; i < d.let_names.size(); ++i) {
        AMALGAM_ASSIGN_OR_RETURN(ExprValue v, d.let_exprs[i]->Evaluate(ectx));
        if (!v.missing()) vb.AppendValue(d.let_names[i], v.value());
        names.push_back(d.let_names[i]);
      }
      for (const bson::Element& e : d.outer_variables.view()) {
        bool shadowed = false;
        for (std::string_view n : names) shadowed |= n == e.name;
        if (!shadowed) vb.AppendValue(e.name, e.value);
      }
      bson::Document vars = std::move(vb).Finish();
      PipelineContext sub;
      sub.variables = vars.view();
      sub.variables_evaluated = true;
      sub.collections = d.collections;
      sub.memory_limit_bytes = d.memory_limit;
      sub.allow_disk_use = d.allow_disk_use;
      AMALGAM_ASSIGN_OR_RETURN(per_doc, Pipeline::Compile(d.pipeline.view(), sub));
      p = &*per_doc;
    }
    AMALGAM_ASSIGN_OR_RETURN(std::unique_ptr<Stage> sub,
                             OpenSub(d.collections.get(), d.from, filter.view(), *p, "$lookup"));
    bson::Builder ab;
    ab.StartArray("");
    bson::ArrayBuilder arr(ab);
    Row r;
    while (true) {
      AMALGAM_ASSIGN_OR_RETURN(bool got, sub->Next(&r));
      if (!got) break;
      ab.AppendDocument(arr.Next(), r.doc.view());
      if (ab.size() > kMaxLookupBytes) {
        return Status(ErrorCode::kBSONObjectTooLarge,
                      "Total size of documents in " + d.from +
                          " matching pipeline's $lookup stage exceeds 16793600 bytes");
      }
    }
    ab.EndArray();
    bson::Document holder = std::move(ab).Finish();
    row->doc = SetField(doc, d.as_parts, holder.view().begin()->value);
    return true;
  }

 private:
  // $in treats a regex as a pattern; $lookup's equality compares it as a value, which {$eq: re}
  // does inside $in only through $elemMatch-free equality: keep regexes as they are (MongoDB
  // matches them as patterns here too).
  static void AppendInValue(bson::Builder& b, std::string_view name, const bson::Value& v) {
    b.AppendValue(name, v);
  }

  std::unique_ptr<Stage> in_;
  std::shared_ptr<const LookupDef> def_;
};

class LookupSpec final : public StageSpec {
 public:
  explicit LookupSpec(std::shared_ptr<const LookupDef> def) : def_(std::move(def)) {}
  std::string_view name() const override { return "$lookup"; }
  std::unique_ptr<Stage> Make(std::unique_ptr<Stage> in, const ExecEnv&) const override {
    return std::make_unique<LookupStage>(std::move(in), def_);
  }

 private:
  std::shared_ptr<const LookupDef> def_;
};

Status ValidatePathArg(std::string_view stage, std::string_view field, const bson::Value& v) {
  if (v.type() != BsonType::kString) {
    return FailedToParse(std::string(stage) + " argument '" + std::string(field) + ": " +
                         ValueString(v) + "' must be a string, is type " + TypeNameOf(v));
  }
  return Status::OK();
}

// Checks the sub-pipeline's stages: no $out/$merge inside.
Status CheckSubPipeline(std::string_view stage, const bson::Value& v) {
  if (v.type() != BsonType::kArray) {
    return FailedToParse("'pipeline' option must be specified as an array");
  }
  for (const bson::Element& e : v.AsDocument()) {
    if (e.value.type() != BsonType::kDocument) {
      return FailedToParse("'pipeline' option must be specified as an array of objects");
    }
    bson::DocView s = e.value.AsDocument();
    if (!s.empty() && (s.begin()->name == "$out" || s.begin()->name == "$merge")) {
      return MongoCodedError(51047, std::string(s.begin()->name) + " is not allowed within a " +
                                        std::string(stage) + "'s sub-pipeline");
    }
  }
  return Status::OK();
}

}  // namespace

Status ParseLookup(const bson::Value& arg, const ParseEnv& env, std::vector<StagePtr>* out) {
  if (arg.type() != BsonType::kDocument) {
    return FailedToParse("the $lookup stage specification must be an object, but found " + TypeNameOf(arg));
  }
  auto def = std::make_shared<LookupDef>();
  bson::Value let;
  for (const bson::Element& e : arg.AsDocument()) {
    if (e.name == "from") {
      if (e.value.type() == BsonType::kDocument) {
        return Status(ErrorCode::kNotImplemented,
                      "$lookup from another database ({db, coll}) is not supported");
      }
      if (e.value.type() != BsonType::kString) {
        return FailedToParse("$lookup 'from' field must be a string, but found " + TypeNameOf(e.value));
      }
      def->from = std::string(e.value.AsString());
    } else if (e.name == "as" || e.name == "localField" || e.name == "foreignField") {
      AMALGAM_RETURN_IF_ERROR(ValidatePathArg("$lookup", e.name, e.value));
      std::string s(e.value.AsString());
      (e.name == "as" ? def->as : e.name == "localField" ? def->local_field : def->foreign_field) = s;
    } else if (e.name == "let") {
      if (e.value.type() != BsonType::kDocument) {
        return FailedToParse("$lookup argument 'let: " + ValueString(e.value) +
                             "' must be an object, is type " + TypeNameOf(e.value));
      }
      let = e.value;
    } else if (e.name == "pipeline") {
      AMALGAM_RETURN_IF_ERROR(CheckSubPipeline("$lookup", e.value));
      def->pipeline = bson::Document(e.value.AsDocument());
      def->has_pipeline = true;
    } else {
      return FailedToParse("unknown argument to $lookup: " + std::string(e.name));
    }
  }
  if (def->as.empty()) return FailedToParse("must specify 'as' field for a $lookup");
  bool has_local = !def->local_field.empty(), has_foreign = !def->foreign_field.empty();
  if (has_local != has_foreign) {
    return FailedToParse(has_local ? "$lookup requires 'foreignField' to be specified when 'localField' is"
                                   : "$lookup requires 'localField' to be specified when 'foreignField' is");
  }
  if (!def->has_pipeline && !has_local) {
    return FailedToParse(
        "$lookup requires either 'pipeline' or both 'localField' and 'foreignField' to be specified");
  }
  if (!let.missing() && !def->has_pipeline) {
    return FailedToParse("$lookup with a 'let' argument must also specify 'pipeline'");
  }
  if (def->from.empty()) {
    bson::DocView stages = def->pipeline.view();
    bool documents = !stages.empty() && stages.begin()->value.AsDocument().begin()->name == "$documents";
    if (!documents) {
      return FailedToParse("missing 'from' option to $lookup stage specification: " +
                           bson::ToShellString(arg.AsDocument()));
    }
  }
  AMALGAM_RETURN_IF_ERROR(ValidateFieldPathForProjection(def->as));
  def->as_parts = SplitDotted(def->as);
  if (has_local) {
    AMALGAM_RETURN_IF_ERROR(ValidateFieldPathForProjection(def->local_field));
    AMALGAM_RETURN_IF_ERROR(ValidateFieldPathForProjection(def->foreign_field));
    bson::Builder b;
    b.AppendString("", "$" + def->local_field);
    bson::Document path = std::move(b).Finish();
    ExprParseContext pctx;
    pctx.variables = env.variables;
    // The parsed path copies its parts: `path` may go.
    AMALGAM_ASSIGN_OR_RETURN(def->local, Expression::Parse(path.view().begin()->value, pctx));
  }
  if (!def->has_pipeline) {
    // The equality form: the sub-pipeline is empty.
    def->pipeline = std::move(bson::Builder().StartArray("p").EndArray()).Finish();
    def->pipeline = bson::Document(def->pipeline.view().begin()->value.AsDocument());
  }
  def->outer_variables = bson::Document(env.variables);
  if (env.ctx) {
    def->collections = env.ctx->collections;
    def->memory_limit = env.ctx->memory_limit_bytes;
    def->allow_disk_use = env.ctx->allow_disk_use;
  }
  if (!let.missing()) {
    def->let_spec = bson::Document(let.AsDocument());
    ExprParseContext pctx;
    pctx.variables = env.variables;
    for (const bson::Element& e : def->let_spec.view()) {
      AMALGAM_RETURN_IF_ERROR(expr_internal::ValidateVariableName(e.name));
      AMALGAM_ASSIGN_OR_RETURN(std::unique_ptr<Expression> x, Expression::Parse(e.value, pctx));
      def->let_names.emplace_back(e.name);
      def->let_exprs.push_back(std::move(x));
    }
  }
  // Compile now: errors in the sub-pipeline surface at parse time, and without let it is reused.
  {
    PipelineContext sub;
    bson::Builder vb;
    for (const std::string& n : def->let_names) vb.AppendNull(n);  // placeholders, for parsing
    vb.AppendElements(env.variables);
    bson::Document vars = std::move(vb).Finish();
    sub.variables = vars.view();
    sub.variables_evaluated = true;
    sub.collections = def->collections;
    sub.memory_limit_bytes = def->memory_limit;
    sub.allow_disk_use = def->allow_disk_use;
    AMALGAM_ASSIGN_OR_RETURN(Pipeline p, Pipeline::Compile(def->pipeline.view(), sub));
    if (def->let_names.empty()) def->compiled = std::move(p);
  }
  out->push_back(std::make_shared<LookupSpec>(std::move(def)));
  return Status::OK();
}

// ---- $out / $merge --------------------------------------------------------------------------
// The aggregate command runs a final $out/$merge itself; the compiler sees one only elsewhere.

Status ParseOutOrMerge(std::string_view stage, const ParseEnv& env) {
  if (env.in_facet) {
    return MongoCodedError(40600, std::string(stage) + " is not allowed to be used within a $facet stage");
  }
  return MongoCodedError(40601, std::string(stage) + " can only be the final stage in the pipeline");
}

Status ParseOut(const bson::Value&, const ParseEnv& env, std::vector<StagePtr>*) {
  return ParseOutOrMerge("$out", env);
}

Status ParseMerge(const bson::Value&, const ParseEnv& env, std::vector<StagePtr>*) {
  return ParseOutOrMerge("$merge", env);
}

// ---- $collStats / $indexStats ---------------------------------------------------------------
// The aggregate command produces their documents (it knows the catalog); in the compiled pipeline
// they pass their input through, and they must come first.

class PassThroughSpec final : public StageSpec {
 public:
  explicit PassThroughSpec(std::string_view name) : name_(name) {}
  std::string_view name() const override { return name_; }
  std::unique_ptr<Stage> Make(std::unique_ptr<Stage> in, const ExecEnv&) const override { return in; }

 private:
  std::string_view name_;
};

Status ParseCommandSource(std::string_view stage, const bson::Value& arg, const ParseEnv& env,
                          std::vector<StagePtr>* out) {
  if (env.in_facet) {
    return MongoCodedError(40600, std::string(stage) + " is not allowed to be used within a $facet stage");
  }
  if (env.position != 0) {
    return MongoCodedError(40602, std::string(stage) + " is only valid as the first stage in a pipeline");
  }
  if (arg.type() != BsonType::kDocument) {
    return MongoCodedError(stage == "$indexStats" ? 28803 : 5447000,
                           std::string(stage) + " must take a nested object but found: " + ValueString(arg));
  }
  out->push_back(std::make_shared<PassThroughSpec>(stage));
  return Status::OK();
}

Status ParseCollStats(const bson::Value& arg, const ParseEnv& env, std::vector<StagePtr>* out) {
  return ParseCommandSource("$collStats", arg, env, out);
}

Status ParseIndexStats(const bson::Value& arg, const ParseEnv& env, std::vector<StagePtr>* out) {
  return ParseCommandSource("$indexStats", arg, env, out);
}

// $listSessions / $listLocalSessions: {} or {allUsers: bool} or {users: [{user, db}, ...]}.
Status ParseSessionListing(std::string_view stage, const bson::Value& arg, const ParseEnv& env,
                           std::vector<StagePtr>* out) {
  if (arg.type() == BsonType::kDocument) {
    for (const bson::Element& e : arg.AsDocument()) {
      if (e.name == "allUsers") {
        if (e.value.type() != BsonType::kBool) {
          return Status(ErrorCode::kTypeMismatch, "BSON field 'ListSessionsSpec.allUsers' is the wrong type '" +
                                                      std::string(bson::TypeAlias(e.value.type())) +
                                                      "', expected type 'bool'");
        }
      } else if (e.name == "users") {
        if (e.value.type() != BsonType::kArray) {
          return Status(ErrorCode::kTypeMismatch, "BSON field 'ListSessionsSpec.users' is the wrong type '" +
                                                      std::string(bson::TypeAlias(e.value.type())) +
                                                      "', expected type 'array'");
        }
      } else if (e.name != "$_internalPredicate") {
        return Status(ErrorCode::kUnknownField,
                      "BSON field 'ListSessionsSpec." + std::string(e.name) + "' is an unknown field.");
      }
    }
  }
  return ParseCommandSource(stage, arg, env, out);
}

Status ParseListSessions(const bson::Value& arg, const ParseEnv& env, std::vector<StagePtr>* out) {
  return ParseSessionListing("$listSessions", arg, env, out);
}

Status ParseListLocalSessions(const bson::Value& arg, const ParseEnv& env, std::vector<StagePtr>* out) {
  return ParseSessionListing("$listLocalSessions", arg, env, out);
}

// ---- $unionWith ------------------------------------------------------------------------------

namespace {

struct UnionDef {
  std::string coll;
  std::optional<Pipeline> pipeline;
  std::shared_ptr<const CollectionSource> collections;
};

class UnionStage final : public Stage {
 public:
  UnionStage(std::unique_ptr<Stage> in, std::shared_ptr<const UnionDef> def)
      : in_(std::move(in)), def_(std::move(def)) {}
  Result<bool> Next(Row* row) override {
    if (!sub_) {
      AMALGAM_ASSIGN_OR_RETURN(bool more, in_->Next(row));
      if (more) return true;
      bson::Document all;
      AMALGAM_ASSIGN_OR_RETURN(sub_, OpenSub(def_->collections.get(), def_->coll, all.view(),
                                             *def_->pipeline, "$unionWith"));
    }
    AMALGAM_ASSIGN_OR_RETURN(bool more, sub_->Next(row));
    row->details = MatchDetails();
    return more;
  }

 private:
  std::unique_ptr<Stage> in_;
  std::shared_ptr<const UnionDef> def_;
  std::unique_ptr<Stage> sub_;
};

class UnionSpec final : public StageSpec {
 public:
  explicit UnionSpec(std::shared_ptr<const UnionDef> def) : def_(std::move(def)) {}
  std::string_view name() const override { return "$unionWith"; }
  std::unique_ptr<Stage> Make(std::unique_ptr<Stage> in, const ExecEnv&) const override {
    return std::make_unique<UnionStage>(std::move(in), def_);
  }

 private:
  std::shared_ptr<const UnionDef> def_;
};

}  // namespace

Status ParseUnionWith(const bson::Value& arg, const ParseEnv& env, std::vector<StagePtr>* out) {
  auto def = std::make_shared<UnionDef>();
  bson::Document stages = std::move(bson::Builder().StartArray("p").EndArray()).Finish();
  bson::DocView stage_view = stages.view().begin()->value.AsDocument();
  if (arg.type() == BsonType::kString) {
    def->coll = std::string(arg.AsString());
  } else if (arg.type() == BsonType::kDocument) {
    for (const bson::Element& e : arg.AsDocument()) {
      if (e.name == "coll") {
        if (e.value.type() != BsonType::kString) {
          return Status(ErrorCode::kTypeMismatch, "BSON field '$unionWith.coll' is the wrong type '" +
                                                      TypeNameOf(e.value) + "', expected type 'string'");
        }
        def->coll = std::string(e.value.AsString());
      } else if (e.name == "pipeline") {
        AMALGAM_RETURN_IF_ERROR(CheckSubPipeline("$unionWith", e.value));
        stage_view = e.value.AsDocument();
      } else {
        return Status(ErrorCode::kUnknownField,
                      "BSON field '$unionWith." + std::string(e.name) + "' is an unknown field.");
      }
    }
  } else {
    return FailedToParse(
        "the $unionWith stage specification must be an object or string, but found " + TypeNameOf(arg));
  }
  bool documents = !stage_view.empty() && stage_view.begin()->value.AsDocument().begin()->name == "$documents";
  if (def->coll.empty() && !documents) {
    return Status(ErrorCode::kFailedToParse,
                  "$unionWith stage without explicit collection must have a pipeline with $documents as "
                  "first stage");
  }
  PipelineContext sub;
  sub.variables = env.variables;
  sub.variables_evaluated = true;
  if (env.ctx) {
    sub.collections = env.ctx->collections;
    sub.memory_limit_bytes = env.ctx->memory_limit_bytes;
    sub.allow_disk_use = env.ctx->allow_disk_use;
    def->collections = env.ctx->collections;
  }
  AMALGAM_ASSIGN_OR_RETURN(Pipeline p, Pipeline::Compile(stage_view, sub));
  def->pipeline = std::move(p);
  out->push_back(std::make_shared<UnionSpec>(std::move(def)));
  return Status::OK();
}

}  // namespace amalgam::query::pipeline_internal
