// TransactGetItems and TransactWriteItems. A write transaction is one engine transaction: every
// item is read and locked, every condition checked, and either all actions commit or none.
// ClientRequestToken makes a TransactWriteItems idempotent for 10 minutes.
#include <openssl/sha.h>

#include <algorithm>
#include <set>

#include "api/dynamo/item_ops.h"
#include "api/dynamo/model/bson_mapping.h"
#include "api/dynamo/model/legacy.h"
#include "api/dynamo/model/update_expression.h"

namespace amalgam::api::dynamo {

namespace {

constexpr size_t kMaxTransactItems = 100;
constexpr int64_t kTokenLifetimeMillis = 10 * 60 * 1000;

enum class ActionKind : uint8_t { kConditionCheck, kPut, kDelete, kUpdate };

struct Action {
  ActionKind kind;
  Table table;
  model::Item item;  // Put: the item; others: the key
  ItemId id;
  std::optional<model::Condition> condition;
  std::optional<model::Update> update;
  bool return_old_on_failure = false;
};

// Why one action cancelled the transaction ("None" when it did not).
struct Reason {
  std::string code = "None";
  std::string message;
  std::optional<model::Item> item;
};

Status TransactItemsLength(size_t n) {
  ValidationErrors errors;
  errors.AddValue("[...]", "transactItems",
                  n == 0 ? "Member must have length greater than or equal to 1"
                         : "Member must have length less than or equal to 100");
  return errors.ToStatus();
}

Result<Action> ParseAction(OpContext& ctx, const JsonValue& json, size_t index) {
  AMALGAM_RETURN_IF_ERROR(ExpectObject(json));
  Params outer(json);
  static constexpr std::pair<const char*, ActionKind> kKinds[] = {
      {"ConditionCheck", ActionKind::kConditionCheck},
      {"Put", ActionKind::kPut},
      {"Delete", ActionKind::kDelete},
      {"Update", ActionKind::kUpdate}};
  const JsonValue* body = nullptr;
  Action a{};
  int found = 0;
  for (const auto& [name, kind] : kKinds) {
    AMALGAM_ASSIGN_OR_RETURN(const JsonValue* v, outer.Object(name));
    if (v != nullptr) {
      body = v;
      a.kind = kind;
      ++found;
    }
  }
  if (found != 1) {
    return Validation("TransactItems can only contain one of Check, Put, Update or Delete");
  }
  Params p(*body);
  AMALGAM_ASSIGN_OR_RETURN(a.table, OpenTableParam(ctx, p));
  AMALGAM_ASSIGN_OR_RETURN(model::ExpressionAttributes attrs, ReadExpressionAttributes(p));
  if (a.kind == ActionKind::kPut) {
    AMALGAM_ASSIGN_OR_RETURN(const JsonValue* item, p.Object("Item"));
    if (item == nullptr) {
      ValidationErrors errors;
      errors.AddNull("transactItems." + std::to_string(index + 1) + ".member.put.item");
      return errors.ToStatus();
    }
    AMALGAM_ASSIGN_OR_RETURN(a.item, ParseItemForWrite(*item, *a.table.meta));
    AMALGAM_RETURN_IF_ERROR(CheckVectorAttributes(ctx, *a.table.meta, a.item));
  } else {
    AMALGAM_ASSIGN_OR_RETURN(const JsonValue* key, p.Object("Key"));
    if (key == nullptr) {
      ValidationErrors errors;
      errors.AddNull("transactItems." + std::to_string(index + 1) + ".member.key");
      return errors.ToStatus();
    }
    AMALGAM_ASSIGN_OR_RETURN(a.item, ParseKey(*key, *a.table.meta));
  }
  if (a.kind == ActionKind::kUpdate) {
    AMALGAM_ASSIGN_OR_RETURN(std::optional<std::string_view> text, p.String("UpdateExpression"));
    if (!text) {
      ValidationErrors errors;
      errors.AddNull("transactItems." + std::to_string(index + 1) + ".member.update.updateExpression");
      return errors.ToStatus();
    }
    AMALGAM_ASSIGN_OR_RETURN(a.update, model::ParseUpdate(*text, attrs));
    AMALGAM_RETURN_IF_ERROR(model::CheckKeyNotUpdated(*a.update, a.table.meta->key));
  }
  AMALGAM_ASSIGN_OR_RETURN(std::optional<std::string_view> cond, p.String("ConditionExpression"));
  if (cond) {
    AMALGAM_ASSIGN_OR_RETURN(a.condition, model::ParseCondition(*cond, model::ExpressionKind::kCondition, attrs));
  } else if (a.kind == ActionKind::kConditionCheck) {
    ValidationErrors errors;
    errors.AddNull("transactItems." + std::to_string(index + 1) + ".member.conditionCheck.conditionExpression");
    return errors.ToStatus();
  }
  AMALGAM_RETURN_IF_ERROR(CheckAttributesAllowed(p, attrs));
  AMALGAM_RETURN_IF_ERROR(attrs.CheckAllUsed());
  AMALGAM_ASSIGN_OR_RETURN(ReturnValues on_fail, ReadReturnValues(p, "ReturnValuesOnConditionCheckFailure",
                                                                  {ReturnValues::kNone, ReturnValues::kAllOld}, ""));
  a.return_old_on_failure = on_fail == ReturnValues::kAllOld;
  a.id = IdOf(*a.table.meta, a.item);
  return a;
}

std::string Sha256Hex(std::string_view data) {
  unsigned char digest[SHA256_DIGEST_LENGTH];
  SHA256(reinterpret_cast<const unsigned char*>(data.data()), data.size(), digest);
  static constexpr char kHex[] = "0123456789abcdef";
  std::string out;
  for (unsigned char c : digest) {
    out += kHex[c >> 4];
    out += kHex[c & 15];
  }
  return out;
}

// The request without its ClientRequestToken, canonically serialized, to compare retries.
std::string RequestFingerprint(const JsonValue& request) {
  rapidjson::StringBuffer sb;
  JsonWriter w(sb);
  w.StartObject();
  for (auto it = request.MemberBegin(); it != request.MemberEnd(); ++it) {
    if (AsView(it->name) == "ClientRequestToken") continue;
    w.Key(it->name.GetString(), it->name.GetStringLength());
    it->value.Accept(w);
  }
  w.EndObject();
  return Sha256Hex(std::string_view(sb.GetString(), sb.GetSize()));
}

Status Cancelled(OpContext& ctx, const std::vector<Reason>& reasons) {
  std::string summary = "Transaction cancelled, please refer cancellation reasons for specific reasons [";
  rapidjson::StringBuffer sb;
  JsonWriter w(sb);
  w.StartArray();
  for (size_t i = 0; i < reasons.size(); ++i) {
    summary += (i ? ", " : "") + reasons[i].code;
    w.StartObject();
    if (reasons[i].item) {
      WriteKey(w, "Item");
      model::WriteItem(*reasons[i].item, w);
    }
    WriteKey(w, "Code");
    WriteString(w, reasons[i].code);
    if (!reasons[i].message.empty()) {
      WriteKey(w, "Message");
      WriteString(w, reasons[i].message);
    }
    w.EndObject();
  }
  w.EndArray();
  ctx.error_extra = "\"CancellationReasons\":" + std::string(sb.GetString(), sb.GetSize());
  return Status(ErrorCode::kTransactionCanceled, summary + "]");
}

}  // namespace

Status TransactWriteItems(OpContext& ctx) {
  AMALGAM_ASSIGN_OR_RETURN(const JsonValue* items, ctx.params.Array("TransactItems"));
  if (items == nullptr) {
    ValidationErrors errors;
    errors.AddNull("transactItems");
    return errors.ToStatus();
  }
  if (items->Size() == 0 || items->Size() > kMaxTransactItems) return TransactItemsLength(items->Size());
  AMALGAM_ASSIGN_OR_RETURN(std::optional<std::string_view> token, ctx.params.String("ClientRequestToken"));
  if (token && (token->empty() || token->size() > 36)) {
    ValidationErrors errors;
    errors.AddValue(*token, "clientRequestToken",
                    token->empty() ? "Member must have length greater than or equal to 1"
                                   : "Member must have length less than or equal to 36");
    return errors.ToStatus();
  }
  AMALGAM_ASSIGN_OR_RETURN(CapacityMode mode, ReadCapacityMode(ctx.params));
  AMALGAM_ASSIGN_OR_RETURN(bool metrics, ReadItemCollectionMetrics(ctx.params));
  std::vector<Action> actions;
  std::set<std::pair<uint64_t, std::string>> seen;
  for (rapidjson::SizeType i = 0; i < items->Size(); ++i) {
    AMALGAM_ASSIGN_OR_RETURN(Action a, ParseAction(ctx, (*items)[i], i));
    if (!seen.insert({a.table.handle->info->id, a.id.doc.bytes()}).second) {
      return Validation("Transaction request cannot include multiple operations on one item");
    }
    actions.push_back(std::move(a));
  }

  std::string fingerprint;
  int64_t now = ctx.state.clock.NowMillis();
  if (token) {
    fingerprint = RequestFingerprint(ctx.params.raw());
    std::lock_guard<std::mutex> lock(ctx.state.tokens_mu);
    std::erase_if(ctx.state.tokens, [&](const auto& e) { return e.second.expires_millis <= now; });
    auto it = ctx.state.tokens.find(std::string(*token));
    if (it != ctx.state.tokens.end()) {
      if (it->second.request_hash != fingerprint) {
        return Status(ErrorCode::kIdempotentParameterMismatch,
                      "One or more parameter values were invalid: The request with the client token " +
                          std::string(*token) + " has already been used with different parameters");
      }
      if (it->second.in_progress) {
        return Status(ErrorCode::kTransactionInProgress,
                      "Another transaction with the same ClientRequestToken is still in progress");
      }
      ctx.out.RawValue(it->second.response_body.data(), it->second.response_body.size(), rapidjson::kObjectType);
      return Status::OK();
    }
    // Claim the token: a concurrent retry waits for this one's outcome.
    ctx.state.tokens[std::string(*token)] = TokenRecord{fingerprint, now + kTokenLifetimeMillis, {}, true};
  }
  // A request that does not succeed releases its token, so a retry runs again.
  struct ReleaseToken {
    DynamoService::State& state;
    std::optional<std::string> token;
    bool keep = false;
    ~ReleaseToken() {
      if (!token || keep) return;
      std::lock_guard<std::mutex> lock(state.tokens_mu);
      state.tokens.erase(*token);
    }
  } release{ctx.state, token ? std::optional<std::string>(std::string(*token)) : std::nullopt};

  std::vector<Reason> reasons;
  std::vector<std::optional<model::Item>> olds(actions.size());
  std::vector<std::optional<model::Item>> news(actions.size());
  bool cancelled = false;
  Result<storage::CommitInfo> committed = ctx.state.engine.RunWrite([&](engine::WriteTxn& txn) -> Status {
    reasons.assign(actions.size(), Reason{});
    cancelled = false;
    std::vector<Current> currents(actions.size());
    for (size_t i = 0; i < actions.size(); ++i) {
      const Action& a = actions[i];
      AMALGAM_ASSIGN_OR_RETURN(currents[i], ReadForUpdate(txn, a.table, a.id));
      olds[i] = currents[i].item;
      static const model::Item kEmpty;
      if (a.condition && !model::EvaluateCondition(*a.condition, olds[i] ? *olds[i] : kEmpty)) {
        reasons[i] = Reason{"ConditionalCheckFailed", "The conditional request failed",
                            a.return_old_on_failure ? olds[i] : std::nullopt};
        cancelled = true;
        continue;
      }
      switch (a.kind) {
        case ActionKind::kConditionCheck:
          news[i] = olds[i];
          break;
        case ActionKind::kPut:
          news[i] = a.item;
          break;
        case ActionKind::kDelete:
          news[i].reset();
          break;
        case ActionKind::kUpdate: {
          model::Item updated = olds[i] ? *olds[i] : a.item;
          Status s = model::ApplyUpdate(*a.update, &updated);
          if (s.ok()) s = model::ValidateItemForWrite(a.table.meta->key, updated);
          if (s.ok()) s = CheckIndexKeys(*a.table.meta, updated);
          if (s.ok()) s = CheckVectorAttributes(ctx, *a.table.meta, updated);
          if (!s.ok()) {
            if (s.category() != ErrorCategory::kInvalidInput) return s;
            reasons[i] = Reason{"ValidationError", std::string(s.message()), std::nullopt};
            cancelled = true;
            continue;
          }
          news[i] = std::move(updated);
          break;
        }
      }
    }
    if (cancelled) return Status::OK();  // nothing written
    for (size_t i = 0; i < actions.size(); ++i) {
      if (actions[i].kind == ActionKind::kConditionCheck) continue;
      AMALGAM_RETURN_IF_ERROR(WriteItem(txn, actions[i].table, currents[i], news[i] ? &*news[i] : nullptr));
    }
    return Status::OK();
  });
  if (!committed.ok()) {
    if (committed.status().code() == ErrorCode::kWriteConflict) {
      // Still conflicting after the engine's retries: DynamoDB reports TransactionConflict.
      std::vector<Reason> conflict(actions.size(), Reason{"TransactionConflict", "Transaction is ongoing for the item",
                                                          std::nullopt});
      return Cancelled(ctx, conflict);
    }
    return committed.status();
  }
  if (cancelled) return Cancelled(ctx, reasons);

  rapidjson::StringBuffer sb;
  JsonWriter w(sb);
  w.StartObject();
  if (mode != CapacityMode::kNone) {
    std::vector<Capacity> caps;
    for (size_t i = 0; i < actions.size(); ++i) {
      const Action& a = actions[i];
      auto it = std::find_if(caps.begin(), caps.end(), [&](const Capacity& c) { return c.table == a.table.meta->name; });
      if (it == caps.end()) {
        caps.push_back(Capacity{a.table.meta->name});
        it = caps.end() - 1;
      }
      if (a.kind == ActionKind::kConditionCheck) {
        it->read = false;
        it->table_units += 2 * ReadUnits(olds[i] ? model::ItemSize(*olds[i]) : 0, true);
      } else {
        AddWriteCapacity(*a.table.meta, olds[i] ? &*olds[i] : nullptr, news[i] ? &*news[i] : nullptr, 2, &*it);
      }
    }
    WriteKey(w, "ConsumedCapacity");
    w.StartArray();
    for (const Capacity& c : caps) WriteCapacity(w, c, mode);
    w.EndArray();
  }
  // Item collections exist only in tables with an LSI; without one DynamoDB leaves the member
  // out rather than answering an empty map.
  auto collects = [](const Action& a) {
    return a.kind != ActionKind::kConditionCheck &&
           std::any_of(a.table.meta->indexes.begin(), a.table.meta->indexes.end(),
                       [](const SecondaryIndex& i) { return !i.global; });
  };
  if (metrics && std::any_of(actions.begin(), actions.end(), collects)) {
    WriteKey(w, "ItemCollectionMetrics");
    w.StartObject();
    std::set<std::string> done;
    for (const Action& a : actions) {
      if (!collects(a) || !done.insert(a.table.meta->name).second) continue;
      WriteKey(w, a.table.meta->name);
      w.StartArray();
      for (const Action& b : actions) {
        if (b.table.meta->name == a.table.meta->name && b.kind != ActionKind::kConditionCheck) {
          WriteItemCollectionMetrics(w, *b.table.meta, b.item);
        }
      }
      w.EndArray();
    }
    w.EndObject();
  }
  w.EndObject();
  std::string body(sb.GetString(), sb.GetSize());
  if (token) {
    std::lock_guard<std::mutex> lock(ctx.state.tokens_mu);
    ctx.state.tokens[std::string(*token)] = TokenRecord{fingerprint, now + kTokenLifetimeMillis, body, false};
    release.keep = true;
  }
  ctx.out.RawValue(body.data(), body.size(), rapidjson::kObjectType);
  return Status::OK();
}

Status TransactGetItems(OpContext& ctx) {
  AMALGAM_ASSIGN_OR_RETURN(const JsonValue* items, ctx.params.Array("TransactItems"));
  if (items == nullptr) {
    ValidationErrors errors;
    errors.AddNull("transactItems");
    return errors.ToStatus();
  }
  if (items->Size() == 0 || items->Size() > kMaxTransactItems) return TransactItemsLength(items->Size());
  AMALGAM_ASSIGN_OR_RETURN(CapacityMode mode, ReadCapacityMode(ctx.params));
  struct Get {
    Table table;
    ItemId id;
    std::optional<std::vector<model::DocumentPath>> projection;
  };
  std::vector<Get> gets;
  for (rapidjson::SizeType i = 0; i < items->Size(); ++i) {
    AMALGAM_RETURN_IF_ERROR(ExpectObject((*items)[i]));
    AMALGAM_ASSIGN_OR_RETURN(const JsonValue* get, Params((*items)[i]).Object("Get"));
    if (get == nullptr) {
      ValidationErrors errors;
      errors.AddNull("transactItems." + std::to_string(i + 1) + ".member.get");
      return errors.ToStatus();
    }
    Params p(*get);
    Get g;
    AMALGAM_ASSIGN_OR_RETURN(g.table, OpenTableParam(ctx, p));
    AMALGAM_ASSIGN_OR_RETURN(const JsonValue* key_json, p.Object("Key"));
    if (key_json == nullptr) {
      ValidationErrors errors;
      errors.AddNull("transactItems." + std::to_string(i + 1) + ".member.get.key");
      return errors.ToStatus();
    }
    AMALGAM_ASSIGN_OR_RETURN(model::Item key, ParseKey(*key_json, *g.table.meta));
    AMALGAM_ASSIGN_OR_RETURN(model::ExpressionAttributes attrs, ReadExpressionAttributes(p));
    AMALGAM_ASSIGN_OR_RETURN(g.projection, ReadProjection(p, attrs));
    AMALGAM_RETURN_IF_ERROR(CheckAttributesAllowed(p, attrs));
    AMALGAM_RETURN_IF_ERROR(attrs.CheckAllUsed());
    g.id = IdOf(*g.table.meta, key);
    gets.push_back(std::move(g));
  }
  // One snapshot: every item as of the same moment.
  std::unique_ptr<engine::ReadView> view = ctx.state.engine.Read();
  JsonWriter& w = ctx.out;
  std::vector<Capacity> caps;
  w.StartObject();
  WriteKey(w, "Responses");
  w.StartArray();
  for (const Get& g : gets) {
    AMALGAM_ASSIGN_OR_RETURN(std::optional<bson::Document> doc, view->Get(*g.table.handle, g.id.value()));
    size_t size = 0;
    w.StartObject();
    if (doc) {
      model::Item item = model::ItemFromBson(g.table.meta->key, doc->view());
      size = model::ItemSize(item);
      WriteKey(w, "Item");
      model::WriteItem(g.projection ? model::ApplyProjection(item, *g.projection) : item, w);
    }
    w.EndObject();
    auto it = std::find_if(caps.begin(), caps.end(), [&](const Capacity& c) { return c.table == g.table.meta->name; });
    if (it == caps.end()) {
      caps.push_back(Capacity{g.table.meta->name});
      it = caps.end() - 1;
    }
    it->table_units += 2 * ReadUnits(size, true);
  }
  w.EndArray();
  if (mode != CapacityMode::kNone) {
    WriteKey(w, "ConsumedCapacity");
    w.StartArray();
    for (const Capacity& c : caps) WriteCapacity(w, c, mode);
    w.EndArray();
  }
  w.EndObject();
  return Status::OK();
}

}  // namespace amalgam::api::dynamo
