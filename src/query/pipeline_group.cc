// $group (its accumulators are in pipeline_accumulators.cc) and $sortByCount (a $group followed
// by a $sort).

#include <cmath>
#include <map>

#include "bson/builder.h"
#include "bson/compare.h"
#include "bson/json.h"
#include "query/pipeline_accumulators.h"
#include "query/pipeline_internal.h"
#include "query/projection.h"
#include "query/sort.h"

namespace amalgam::query::pipeline_internal {

using bson::BsonType;

namespace {

struct GroupDef {
  std::unique_ptr<Expression> id;
  std::vector<AccDef> accs;
};

// ---- the stage ------------------------------------------------------------------------------

struct KeyLess {
  bool operator()(const bson::Document& a, const bson::Document& b) const {
    return bson::CompareValues(a.view().begin()->value, b.view().begin()->value) < 0;
  }
};

class GroupStage final : public Stage {
 public:
  GroupStage(std::unique_ptr<Stage> in, const GroupDef* def, size_t mem)
      : in_(std::move(in)), def_(def), mem_(mem) {}
  Result<bool> Next(Row* row) override {
    if (!loaded_) {
      AMALGAM_RETURN_IF_ERROR(Load());
      loaded_ = true;
    }
    if (pos_ >= groups_.size()) return false;
    Group& g = groups_[pos_++];
    bson::Builder b;
    b.AppendValue("_id", g.key.view().begin()->value);
    for (size_t i = 0; i < def_->accs.size(); ++i) g.states[i]->Finish(b, def_->accs[i].field);
    row->doc = std::move(b).Finish();
    row->details = MatchDetails();
    g = Group();
    return true;
  }

 private:
  struct Group {
    bson::Document key;
    std::vector<std::unique_ptr<AccState>> states;
  };

  Status Load() {
    Row r;
    size_t fixed = 0;
    while (true) {
      AMALGAM_ASSIGN_OR_RETURN(bool more, in_->Next(&r));
      if (!more) break;
      ExprEvalContext ectx;
      ectx.root = r.doc.view();
      AMALGAM_ASSIGN_OR_RETURN(ExprValue id, def_->id->Evaluate(ectx));
      bson::Document key;
      if (id.missing()) {
        bson::Builder b;
        b.AppendNull("");
        key = std::move(b).Finish();
      } else {
        key = Holder(id.value());
      }
      auto it = index_.find(key);
      size_t gi;
      if (it == index_.end()) {
        gi = groups_.size();
        Group g;
        g.key = key;
        for (const AccDef& a : def_->accs) g.states.push_back(a.New());
        fixed += key.bytes().size() * 2 + 64 + 48 * def_->accs.size();
        groups_.push_back(std::move(g));
        index_.emplace(std::move(key), gi);
      } else {
        gi = it->second;
      }
      Group& g = groups_[gi];
      for (size_t i = 0; i < def_->accs.size(); ++i) {
        const AccDef& a = def_->accs[i];
        size_t before = g.states[i]->bytes;
        if (!a.arg) {
          static const bson::Document kOne = [] {
            bson::Builder b;
            b.AppendInt32("", 1);
            return std::move(b).Finish();
          }();
          AMALGAM_RETURN_IF_ERROR(
              g.states[i]->Process(ExprValue::Borrow(kOne.view().begin()->value)));
        } else {
          AMALGAM_ASSIGN_OR_RETURN(ExprValue v, a.arg->Evaluate(ectx));
          AMALGAM_RETURN_IF_ERROR(g.states[i]->ProcessDoc(v, r.doc.view()));
        }
        variable_ += g.states[i]->bytes;
        variable_ -= std::min(variable_, before);
      }
      if (fixed + variable_ > mem_) {
        return Status(ErrorCode::kQueryExceededMemoryLimit,
                      "Exceeded memory limit for $group, but didn't allow external sort. Pass "
                      "allowDiskUse:true to "
                      "opt in.");
      }
    }
    return Status::OK();
  }

  std::unique_ptr<Stage> in_;
  const GroupDef* def_;
  size_t mem_;
  bool loaded_ = false;
  std::vector<Group> groups_;
  std::map<bson::Document, size_t, KeyLess> index_;
  size_t variable_ = 0;
  size_t pos_ = 0;
};

class GroupSpec final : public StageSpec {
 public:
  explicit GroupSpec(GroupDef def) : def_(std::move(def)) {}
  std::string_view name() const override { return "$group"; }
  std::unique_ptr<Stage> Make(std::unique_ptr<Stage> in, const ExecEnv& env) const override {
    return std::make_unique<GroupStage>(std::move(in), &def_, env.limit());
  }

 private:
  GroupDef def_;
};

}  // namespace

Status ParseGroup(const bson::Value& arg, const ParseEnv& env, std::vector<StagePtr>* out) {
  if (arg.type() != BsonType::kDocument) {
    return MongoCodedError(15947, "a group's fields must be specified in an object");
  }
  ExprParseContext pctx;
  pctx.variables = env.variables;
  GroupDef def;
  for (const bson::Element& e : arg.AsDocument()) {
    if (e.name == "_id") {
      if (def.id) return MongoCodedError(15948, "a group's _id may only be specified once");
      AMALGAM_ASSIGN_OR_RETURN(def.id, Expression::Parse(e.value, pctx));
      continue;
    }
    AccDef a;
    AMALGAM_RETURN_IF_ERROR(ParseAccumulator(e, pctx, &a));
    def.accs.push_back(std::move(a));
  }
  if (!def.id) return MongoCodedError(15955, "a group specification must include an _id");
  out->push_back(std::make_shared<GroupSpec>(std::move(def)));
  return Status::OK();
}

Status ParseSortByCount(const bson::Value& arg, const ParseEnv& env, std::vector<StagePtr>* out) {
  if (arg.type() == BsonType::kDocument) {
    if (arg.AsDocument().empty() || !arg.AsDocument().begin()->name.starts_with("$")) {
      return MongoCodedError(40147,
                             "the sortByCount field must be defined as a $-prefixed path or an "
                             "expression inside an object");
    }
  } else if (arg.type() == BsonType::kString) {
    if (!arg.AsString().starts_with("$")) {
      return MongoCodedError(40148,
                             "the sortByCount field must be defined as a $-prefixed path or an "
                             "expression inside an object");
    }
  } else {
    return MongoCodedError(40149,
                           "the sortByCount field must be specified as a string or as an object");
  }
  ExprParseContext pctx;
  pctx.variables = env.variables;
  GroupDef def;
  AMALGAM_ASSIGN_OR_RETURN(def.id, Expression::Parse(arg, pctx));
  AccDef count;
  count.field = "count";
  count.kind = AccKind::kCount;
  def.accs.push_back(std::move(count));
  out->push_back(std::make_shared<GroupSpec>(std::move(def)));
  static const bson::Document kSort = [] {
    bson::Builder b;
    b.AppendInt32("count", -1);
    return std::move(b).Finish();
  }();
  bson::Builder holder;
  holder.AppendDocument("s", kSort.view());
  static const bson::Document kHolder = std::move(holder).Finish();
  return ParseSort(kHolder.view().Get("s"), env, out);
}

}  // namespace amalgam::query::pipeline_internal
