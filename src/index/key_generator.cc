#include "index/key_generator.h"

#include <algorithm>

#include "index/path_values.h"

namespace amalgam::index {

Result<KeyGenerator> KeyGenerator::Make(const catalog::IndexSpec& spec) {
  KeyGenerator g;
  g.spec_ = std::make_shared<const catalog::IndexSpec>(spec);
  for (const catalog::IndexField& f : spec.fields) {
    g.directions_.push_back(f.descending ? storage::Direction::kDescending : storage::Direction::kAscending);
  }
  if (spec.partial_filter) {
    AMALGAM_ASSIGN_OR_RETURN(PartialFilter filter, PartialFilter::Compile(spec.partial_filter->view()));
    g.filter_ = std::make_shared<const PartialFilter>(std::move(filter));
  }
  return g;
}

Status KeyGenerator::Generate(bson::DocView doc, std::vector<storage::EncodedKey>* keys, bool* multikey) const {
  keys->clear();
  if (multikey) *multikey = false;
  if (filter_ && !filter_->Matches(doc)) return Status::OK();
  const auto& fields = spec_->fields;
  std::vector<std::vector<bson::Value>> per_field(fields.size());
  int expanded_field = -1;
  bool any_present = false;
  for (size_t i = 0; i < fields.size(); ++i) {
    bool expanded, present;
    IndexPathValues(doc, fields[i].path, &per_field[i], &expanded, &present);
    any_present |= present;
    if (expanded || per_field[i].size() > 1) {
      if (expanded_field >= 0) {
        return Status(ErrorCode::kCannotBuildIndexKeys,
                      "cannot index parallel arrays [" + fields[i].path.dotted() + "] [" +
                          fields[static_cast<size_t>(expanded_field)].path.dotted() + "]");
      }
      expanded_field = static_cast<int>(i);
    }
  }
  if (spec_->sparse && !any_present) return Status::OK();
  if (multikey) *multikey = expanded_field >= 0;
  std::vector<bson::Value> values(fields.size());
  for (size_t i = 0; i < fields.size(); ++i) values[i] = per_field[i].front();
  size_t n = expanded_field < 0 ? 1 : per_field[static_cast<size_t>(expanded_field)].size();
  for (size_t k = 0; k < n; ++k) {
    if (expanded_field >= 0) values[static_cast<size_t>(expanded_field)] = per_field[static_cast<size_t>(expanded_field)][k];
    keys->push_back(storage::EncodeKey(values, directions_));
  }
  std::sort(keys->begin(), keys->end(), [](const auto& a, const auto& b) { return a.key < b.key; });
  keys->erase(std::unique(keys->begin(), keys->end(), [](const auto& a, const auto& b) { return a.key == b.key; }),
              keys->end());
  return Status::OK();
}

}  // namespace amalgam::index
