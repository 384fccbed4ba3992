// Stages that produce or consume many documents at once: $sample, $facet, $documents.

#include <algorithm>
#include <random>

#include "bson/builder.h"
#include "bson/validate.h"
#include "query/pipeline_internal.h"
#include "query/projection.h"

namespace amalgam::query::pipeline_internal {

using bson::BsonType;

namespace {

// ---- $sample --------------------------------------------------------------------------------

class SampleStage final : public MaterializingStage {
 public:
  SampleStage(std::unique_ptr<Stage> in, int64_t size, const ExecEnv& env)
      : in_(std::move(in)),
        size_(size),
        mem_(env.limit()),
        rng_(env.random_seed ? env.random_seed : std::random_device{}()) {}

 private:
  // Reservoir sampling: memory bounded by `size` documents.
  Status Load() override {
    int64_t seen = 0;
    size_t bytes = 0;
    auto take = [&](Row& r) -> Result<size_t> {
      ++seen;
      if (static_cast<int64_t>(docs_.size()) < size_) {
        bytes += r.doc.bytes().size() + 64;
        docs_.push_back(std::move(r.doc));
      } else {
        uint64_t j = rng_() % static_cast<uint64_t>(seen);
        if (j < static_cast<uint64_t>(size_)) {
          bytes += r.doc.bytes().size();
          bytes -= std::min(bytes, docs_[j].bytes().size());
          docs_[j] = std::move(r.doc);
        }
      }
      return bytes;
    };
    AMALGAM_RETURN_IF_ERROR(
        DrainInput(*in_, mem_, take, [this] { return MemoryLimitError("$sample", mem_); }));
    std::shuffle(docs_.begin(), docs_.end(), rng_);
    return Status::OK();
  }
  bool EmitNext(Row* row) override {
    if (pos_ >= docs_.size()) return false;
    row->doc = std::move(docs_[pos_++]);
    return true;
  }

  std::unique_ptr<Stage> in_;
  int64_t size_;
  size_t mem_;
  std::mt19937_64 rng_;
  std::vector<bson::Document> docs_;
  size_t pos_ = 0;
};

class SampleSpec final : public StageSpec {
 public:
  explicit SampleSpec(int64_t size) : size_(size) {}
  std::string_view name() const override { return "$sample"; }
  std::unique_ptr<Stage> Make(std::unique_ptr<Stage> in, const ExecEnv& env) const override {
    return std::make_unique<SampleStage>(std::move(in), size_, env);
  }

 private:
  int64_t size_;
};

// ---- $documents -----------------------------------------------------------------------------

class DocumentsStage final : public BufferedStage {
 public:
  explicit DocumentsStage(const Expression* expr) : expr_(expr) {}

 private:
  Status Load() override {
    bson::Document empty;
    ExprEvalContext ectx;
    ectx.root = empty.view();
    AMALGAM_ASSIGN_OR_RETURN(ExprValue v, expr_->Evaluate(ectx));
    if (v.value().type() != BsonType::kArray) {
      return MongoCodedError(
          5858203,
          "error during $documents evaluation: an array is expected, got " + TypeNameOf(v.value()));
    }
    for (const bson::Element& e : v.value().AsDocument()) {
      if (e.value.type() != BsonType::kDocument) {
        return MongoCodedError(
            40228, "'newRoot' expression must evaluate to an object, but resulting value was: " +
                       TypeNameOf(e.value) + ". Type of resulting value: '" + TypeNameOf(e.value) +
                       "'.");
      }
      Output(bson::Document(e.value.AsDocument()));
    }
    return Status::OK();
  }

  const Expression* expr_;
};

class DocumentsSpec final : public StageSpec {
 public:
  explicit DocumentsSpec(std::unique_ptr<Expression> expr) : expr_(std::move(expr)) {}
  std::string_view name() const override { return "$documents"; }
  std::unique_ptr<Stage> Make(std::unique_ptr<Stage>, const ExecEnv&) const override {
    return std::make_unique<DocumentsStage>(expr_.get());  // the input is ignored
  }

 private:
  std::unique_ptr<Expression> expr_;
};

// ---- $facet ---------------------------------------------------------------------------------

struct Facet {
  std::string name;
  std::vector<StagePtr> specs;
};

class FacetStage final : public Stage {
 public:
  FacetStage(std::unique_ptr<Stage> in, const std::vector<Facet>* facets, const ExecEnv& env)
      : in_(std::move(in)), facets_(facets), env_(env) {}
  Result<bool> Next(Row* row) override {
    if (done_) return false;
    done_ = true;
    std::vector<bson::Document> input;
    size_t bytes = 0;
    Row r;
    while (true) {
      AMALGAM_ASSIGN_OR_RETURN(bool more, in_->Next(&r));
      if (!more) break;
      bytes += r.doc.bytes().size() + 64;
      if (bytes > env_.limit()) return MemoryLimitError("$facet", env_.limit());
      input.push_back(std::move(r.doc));
    }
    bson::Builder b;
    for (const Facet& f : *facets_) {
      std::unique_ptr<Stage> chain = BuildChain(f.specs, 0, MakeVectorStage(input), env_);
      b.StartArray(f.name);
      bson::ArrayBuilder ab(b);
      Row out;
      while (true) {
        AMALGAM_ASSIGN_OR_RETURN(bool more, chain->Next(&out));
        if (!more) break;
        b.AppendDocument(ab.Next(), out.doc.view());
        if (b.size() > bson::kMaxUserDocumentSize) {
          return MongoCodedError(4031700,
                                 "document constructed by $facet is " + std::to_string(b.size()) +
                                     " bytes, which exceeds the limit of " +
                                     std::to_string(bson::kMaxUserDocumentSize) + " bytes");
        }
      }
      b.EndArray();
    }
    row->doc = std::move(b).Finish();
    row->details = MatchDetails();
    return true;
  }

 private:
  std::unique_ptr<Stage> in_;
  const std::vector<Facet>* facets_;
  ExecEnv env_;
  bool done_ = false;
};

class FacetSpec final : public StageSpec {
 public:
  explicit FacetSpec(std::vector<Facet> facets) : facets_(std::move(facets)) {}
  std::string_view name() const override { return "$facet"; }
  std::unique_ptr<Stage> Make(std::unique_ptr<Stage> in, const ExecEnv& env) const override {
    return std::make_unique<FacetStage>(std::move(in), &facets_, env);
  }

 private:
  std::vector<Facet> facets_;
};

}  // namespace

Status ParseSample(const bson::Value& arg, const ParseEnv&, std::vector<StagePtr>* out) {
  if (arg.type() != BsonType::kDocument) {
    return MongoCodedError(28745, "the $sample stage specification must be an object");
  }
  bool have = false;
  int64_t size = 0;
  for (const bson::Element& e : arg.AsDocument()) {
    if (e.name != "size")
      return MongoCodedError(28748, "unrecognized option to $sample: " + std::string(e.name));
    if (!e.value.IsNumber())
      return MongoCodedError(28746, "size argument to $sample must be a number");
    double d = e.value.NumberAsDouble();
    if (d < 0) return MongoCodedError(28747, "size argument to $sample must not be negative");
    size = e.value.type() == BsonType::kInt64 ? e.value.AsInt64()
                                              : static_cast<int64_t>(std::min(d, 9.2e18));
    have = true;
  }
  if (!have) return MongoCodedError(28749, "$sample stage must specify a size");
  out->push_back(std::make_shared<SampleSpec>(size));
  return Status::OK();
}

Status ParseDocuments(const bson::Value& arg, const ParseEnv& env, std::vector<StagePtr>* out) {
  if (env.in_facet)
    return MongoCodedError(40600, "$documents is not allowed to be used within a $facet stage");
  if (env.position != 0) {
    return MongoCodedError(40602, "$documents is only valid as the first stage in a pipeline");
  }
  ExprParseContext pctx;
  pctx.variables = env.variables;
  AMALGAM_ASSIGN_OR_RETURN(std::unique_ptr<Expression> e, Expression::Parse(arg, pctx));
  out->push_back(std::make_shared<DocumentsSpec>(std::move(e)));
  return Status::OK();
}

Status ParseFacet(const bson::Value& arg, const ParseEnv& env, std::vector<StagePtr>* out) {
  if (env.in_facet)
    return MongoCodedError(40600, "$facet is not allowed to be used within a $facet stage");
  if (arg.type() != BsonType::kDocument || arg.AsDocument().empty()) {
    return MongoCodedError(
        40169,
        "the $facet specification must be a non-empty object, but found: " + TypeNameOf(arg));
  }
  std::vector<Facet> facets;
  for (const bson::Element& e : arg.AsDocument()) {
    AMALGAM_RETURN_IF_ERROR(ValidateFieldPathForProjection(e.name));
    if (e.name.find('.') != std::string_view::npos) {
      return MongoCodedError(40173, "facet names may not contain '.': " + std::string(e.name));
    }
    if (e.value.type() != BsonType::kArray) {
      return MongoCodedError(40170, "arguments to $facet must be arrays, " + std::string(e.name) +
                                        " is type " + TypeNameOf(e.value));
    }
    Facet f;
    f.name = std::string(e.name);
    ParseEnv sub = env;
    sub.in_facet = true;
    AMALGAM_RETURN_IF_ERROR(ParseStages(e.value.AsDocument(), sub, &f.specs));
    if (f.specs.empty()) {
      return MongoCodedError(40171, "sub-pipeline in $facet stage cannot be empty: " + f.name);
    }
    for (size_t i = 0; i + 1 < f.specs.size(); ++i) {
      bson::DocView sort;
      int64_t limit = 0;
      if (AsSort(*f.specs[i], &sort) && AsLimit(*f.specs[i + 1], &limit))
        f.specs[i] = WithTopK(*f.specs[i], limit);
    }
    facets.push_back(std::move(f));
  }
  out->push_back(std::make_shared<FacetSpec>(std::move(facets)));
  return Status::OK();
}

}  // namespace amalgam::query::pipeline_internal
