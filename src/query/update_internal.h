#pragma once
// Internals shared by update*.cc: the mutable document tree updates are applied to, the
// compiled form of one operator, and message helpers. Not part of the query layer's API.

#include <deque>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "bson/builder.h"
#include "bson/document.h"
#include "common/result.h"
#include "query/expression.h"
#include "query/matcher.h"
#include "query/update.h"

namespace amalgam::query::update_internal {

// A node of the document being updated. An unexpanded node is a value borrowed from the input
// document, the compiled update or the Arena; documents and arrays are expanded into children
// only when an update descends into them. Children are heap nodes so pointers to them stay valid
// while siblings are added.
struct MNode;
struct MField {
  std::string name;  // ignored in arrays (positions are implicit)
  std::unique_ptr<MNode> node;
};
struct MNode {
  bson::Value leaf;
  bool expanded = false;
  bool is_array = false;
  std::vector<MField> fields;

  bson::BsonType type() const {
    if (expanded) return is_array ? bson::BsonType::kArray : bson::BsonType::kDocument;
    return leaf.type();
  }
  bool IsContainer() const {
    auto t = type();
    return t == bson::BsonType::kDocument || t == bson::BsonType::kArray;
  }
  void Expand();
  // Replaces the node's content with `v` (a borrowed value).
  void SetValue(const bson::Value& v) {
    leaf = v;
    expanded = false;
    is_array = false;
    fields.clear();
  }
  void MakeContainer(bool array) {
    leaf = {};
    expanded = true;
    is_array = array;
    fields.clear();
  }
  // The child for `part`: a field of a document or a position of an array; nullptr if absent.
  MNode* Child(std::string_view part);
  // Writes the node as element `name`.
  void Write(bson::Builder& b, std::string_view name) const;
  // The node as an owned single-element document {"": value} (for messages and matching).
  bson::Document ToHolder() const;
};

std::unique_ptr<MNode> NewLeaf(const bson::Value& v);
std::unique_ptr<MNode> NewNull();
std::unique_ptr<MNode> NewContainer(bool array);
// Serializes an expanded document node.
bson::Document Serialize(const MNode& root);

// Owned storage for values computed while applying (they must outlive the tree).
class Arena {
 public:
  // Copies `v` into the arena and returns a view of the copy.
  bson::Value Own(std::string_view name_unused, const bson::Value& v);
  // Keeps `holder` (a document whose first element is the value) and returns that value.
  bson::Value Keep(bson::Document holder);

 private:
  std::deque<bson::Document> docs_;
};

// MongoDB's rendering of an element in messages ("a: 1", "a: { b: 1 }").
std::string ElementString(std::string_view name, const bson::Value& v);
// "{_id: 1}" or "{no id}".
std::string IdString(bson::DocView doc);
std::string TypeName(bson::BsonType t);

enum class OpKind : uint8_t {
  kSet, kUnset, kInc, kMul, kMin, kMax, kRename, kSetOnInsert, kCurrentDate,
  kPush, kAddToSet, kPop, kPull, kPullAll, kBit,
};
std::string_view OpName(OpKind k);

enum class PullKind : uint8_t { kEquality, kObjectQuery, kWrapped };
struct BitOp {
  char op;  // 'a', 'o', 'x'
  bool is64;
  int64_t value;
};

// One operator applied at one path of the update spec.
struct Op {
  OpKind kind;
  std::string path;                // dotted, as written
  std::vector<std::string> parts;  // may contain "$", "$[]", "$[id]"
  bool dynamic = false;
  bson::Value arg;                 // borrowed from the Update's copy of the spec
  // $push / $addToSet
  std::vector<bson::Value> each;
  std::optional<int64_t> slice, position;
  int sort_dir = 0;                // 1/-1 whole elements
  std::optional<bson::DocView> sort_pattern;
  // $rename: the destination
  std::string to_path;
  std::vector<std::string> to_parts;
  // $pull
  PullKind pull_kind = PullKind::kEquality;
  std::shared_ptr<Matcher> pull_matcher;
  // $bit
  std::vector<BitOp> bits;
  // $currentDate
  bool timestamp = false;
  // $pop
  int pop_dir = 1;
};

// Parses the argument of `op` for field `path` into `*out`. `variables` for $pull's $expr.
Status ParseOpArgument(OpKind kind, const bson::Element& field, bson::DocView variables, Op* out);

// Everything an operator needs while applying.
struct ApplyEnv {
  bson::DocView original;
  const ApplyContext* ctx;
  Arena* arena;
};

// Applies `op` at the concrete path `parts` of `root`.
Status ApplyOp(const Op& op, const std::vector<std::string>& parts, MNode* root, ApplyEnv& env);

// Pipeline stages.
struct PipelineStage;
struct Pipeline {
  std::vector<std::shared_ptr<PipelineStage>> stages;
};
Result<Pipeline> ParsePipeline(bson::DocView stages, bson::DocView variables);
Result<bson::Document> RunPipeline(const Pipeline& p, bson::DocView doc);

// The change-stream style description of old -> new.
bson::Document DescribeChange(bson::DocView before, bson::DocView after);

std::string JoinPath(const std::vector<std::string>& parts, size_t n);

}  // namespace amalgam::query::update_internal
