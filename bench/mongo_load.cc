// mongo_load: closed-loop load against amalgamd over the MongoDB wire protocol (libmongoc) and
// against PostgreSQL on a JSONB table (libpq, prepared statements), with the same operations,
// documents and connection counts, reporting throughput and p50/p99/p99.9 latency per cell.
//
// Each cell is (target, operation, connections): that many client threads, each with its own
// connection (a single-threaded mongoc_client_t, or a PGconn), run the operation back to back
// for a warm-up and then a measured window; every operation is timed. Targets are interleaved
// cell by cell so that a change in machine load hits both alike.
//
// Operations (both targets hold the same ~200-byte documents, `--preload` of them, ids 0..N-1):
//   ping     Mongo: {ping: 1} on admin (the protocol ceiling). PostgreSQL: SELECT 1.
//   find_id  a random preloaded _id. Mongo: find {_id: X}, limit 1, singleBatch (find_one).
//            PostgreSQL: SELECT doc FROM load WHERE id = $1.
//   find_k   equality on the secondary index. Mongo: find {k: X} (index {k: 1}; one match).
//            PostgreSQL: SELECT id, doc FROM load WHERE doc->>'k' = $1 (expression index).
//   update   $inc of a counter in a random document. Mongo: updateOne({_id: X}, {$inc: {n: 1}}).
//            PostgreSQL: UPDATE load SET doc = jsonb_set(doc, '{n}', ...) WHERE id = $1.
//   txn10    a multi-document transaction of 10 such $inc updates (ids X, X+9973, ... mod N, in
//            ascending order), sent as one batch. Mongo: a session, startTransaction, one bulk
//            write of 10 updateOne (one update command), commit; retried on
//            TransientTransactionError. PostgreSQL: BEGIN, one UPDATE ... WHERE id = ANY($1),
//            COMMIT. Compared with update: the cost of a transaction (issue 4: <= 3x one update).
//   txn10rt  the same transaction with one round trip per update (10 updateOne / 10 UPDATEs).
//   insert   a new document with a fresh id (same collection/table, so the index is maintained).
//   group    not a cell: a $match+$group over --group-docs (default 1,000,000) bulk-loaded
//            documents against the same GROUP BY on PostgreSQL JSONB, --group-reps times each
//            (see "group" below); runs first, and alone when it is the only operation.
// Document: {_id: int64, k: int64, n: int32, s: string(16), pad: string(130)}: 200 bytes of
// BSON; in PostgreSQL the id column plus the same fields as JSONB.
//
// Bounds: every loop stops at its deadline and after kMaxOpsPerThread operations; only the
// addresses given are contacted (scripts/bench.sh passes 127.0.0.1). Results: docs/benchmarks.md.
//
// Usage: mongo_load [--mongo URI] [--pg CONNINFO] [--conns 1,16,64] [--ops ping,find_id,...]
//                   [--warmup-ms 1000] [--measure-ms 4000] [--preload 100000]
//                   [--mongo-pid PID] [--pg-pid PID]   (server CPU per operation, from /proc)
//                   [--group-docs 1000000] [--group-reps 3] [--group-pg-serial]

#include <dirent.h>
#include <mongoc/mongoc.h>
#include <sys/resource.h>
#include <unistd.h>
#ifdef AMALGAM_LOAD_HAVE_PQ
#include <libpq-fe.h>
#endif

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cinttypes>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <ctime>
#include <fstream>
#include <latch>
#include <map>
#include <memory>
#include <mutex>
#include <random>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

namespace {

constexpr int kPadLen = 130;
constexpr int64_t kMaxOpsPerThread = 4'000'000;
constexpr int64_t kInsertIdBase = 1'000'000'000;
constexpr const char* kDb = "bench";
constexpr const char* kColl = "load";

enum class Op { kPing, kFindId, kFindK, kUpdate, kTxn10, kTxn10Rt, kInsert };
const char* OpName(Op op) {
  switch (op) {
    case Op::kPing: return "ping";
    case Op::kFindId: return "find_id";
    case Op::kFindK: return "find_k";
    case Op::kUpdate: return "update";
    case Op::kTxn10: return "txn10";
    case Op::kTxn10Rt: return "txn10rt";
    case Op::kInsert: return "insert";
  }
  return "?";
}

int64_t NowNs() {
  return std::chrono::duration_cast<std::chrono::nanoseconds>(
             std::chrono::steady_clock::now().time_since_epoch())
      .count();
}

[[noreturn]] void Die(const std::string& what) {
  std::fprintf(stderr, "mongo_load: %s\n", what.c_str());
  std::exit(1);
}

// The secondary key: a permutation of the preloaded ids, and the id itself for inserted ones.
// The 10 distinct documents of a txn10 operation, ascending (so concurrent transactions lock in
// one order and never deadlock).
std::vector<int64_t> TxnIds(int64_t id, int64_t preload) {
  std::vector<int64_t> ids;
  for (int64_t k = 0; k < 10; ++k) {
    int64_t x = (id + k * 9973) % preload;
    if (std::find(ids.begin(), ids.end(), x) == ids.end()) ids.push_back(x);
  }
  std::sort(ids.begin(), ids.end());
  return ids;
}

int64_t KValue(int64_t id, int64_t preload) { return id < preload ? (id * 7919) % preload : id; }
std::string SValue(int64_t id) {
  char s[32];
  std::snprintf(s, sizeof s, "s%015" PRId64, id % 1'000'000'000'000'000);
  return s;
}
const std::string& Pad() {
  static const std::string pad(kPadLen, 'x');
  return pad;
}

// ---- one connection to one target ----

class Client {
 public:
  virtual ~Client() = default;
  // Runs `op` once on a random document (ids below `preload`, or `insert_id` for inserts).
  // Returns false and sets *err on any error or on a reply that does not match one document.
  virtual bool Run(Op op, int64_t id, int64_t insert_id, std::string* err) = 0;
  // Transactions retried after a TransientTransactionError (write conflicts), warm-up included.
  virtual int64_t retries() const { return 0; }
};

class Target {
 public:
  virtual ~Target() = default;
  virtual const char* name() const = 0;
  // Drops and reloads the data set: `preload` documents and the secondary index.
  virtual void Load(int64_t preload) = 0;
  virtual std::unique_ptr<Client> Connect() = 0;
  int64_t preload = 0;
  int server_pid = 0;
  bool server_children = false;  // PostgreSQL: one backend process per connection
};

// ---- MongoDB wire protocol through libmongoc ----

void AppendDoc(bson_t* doc, int64_t id, int64_t preload) {
  BSON_APPEND_INT64(doc, "_id", id);
  BSON_APPEND_INT64(doc, "k", KValue(id, preload));
  BSON_APPEND_INT32(doc, "n", 0);
  BSON_APPEND_UTF8(doc, "s", SValue(id).c_str());
  BSON_APPEND_UTF8(doc, "pad", Pad().c_str());
}

class MongoClient final : public Client {
 public:
  MongoClient(const std::string& uri, int64_t preload) : preload_(preload) {
    bson_error_t error;
    mongoc_uri_t* u = mongoc_uri_new_with_error(uri.c_str(), &error);
    if (u == nullptr) Die(std::string("bad MongoDB URI: ") + error.message);
    client_ = mongoc_client_new_from_uri_with_error(u, &error);
    mongoc_uri_destroy(u);
    if (client_ == nullptr) Die(std::string("mongoc client: ") + error.message);
    mongoc_client_set_error_api(client_, MONGOC_ERROR_API_VERSION_2);
    coll_ = mongoc_client_get_collection(client_, kDb, kColl);
    bson_init(&ping_);
    BSON_APPEND_INT32(&ping_, "ping", 1);
    bson_init(&find_one_opts_);
    BSON_APPEND_INT64(&find_one_opts_, "limit", 1);
    BSON_APPEND_BOOL(&find_one_opts_, "singleBatch", true);
    std::string err;  // connect (server discovery and handshake) before the clock starts
    if (!Run(Op::kPing, 0, 0, &err)) Die("connecting to amalgamd: " + err);
  }
  ~MongoClient() override {
    if (session_ != nullptr) mongoc_client_session_destroy(session_);
    bson_destroy(&ping_);
    bson_destroy(&find_one_opts_);
    mongoc_collection_destroy(coll_);
    mongoc_client_destroy(client_);
  }

  bool Run(Op op, int64_t id, int64_t insert_id, std::string* err) override {
    bson_error_t error;
    bool ok = false;
    switch (op) {
      case Op::kPing: {
        bson_t reply;
        ok = mongoc_client_command_simple(client_, "admin", &ping_, nullptr, &reply, &error);
        bson_destroy(&reply);
        break;
      }
      case Op::kFindId:
      case Op::kFindK: {
        bson_t filter;
        bson_init(&filter);
        if (op == Op::kFindId) {
          BSON_APPEND_INT64(&filter, "_id", id);
        } else {
          BSON_APPEND_INT64(&filter, "k", KValue(id, preload_));
        }
        mongoc_cursor_t* c = mongoc_collection_find_with_opts(
            coll_, &filter, op == Op::kFindId ? &find_one_opts_ : nullptr, nullptr);
        const bson_t* doc;
        int n = 0;
        while (n < 1000 && mongoc_cursor_next(c, &doc)) ++n;
        ok = !mongoc_cursor_error(c, &error);
        if (ok && n != 1) {
          ok = false;
          std::snprintf(error.message, sizeof error.message, "%d documents found, not 1", n);
        }
        mongoc_cursor_destroy(c);
        bson_destroy(&filter);
        break;
      }
      case Op::kUpdate: {
        bson_t filter, update, inc, reply;
        bson_init(&filter);
        BSON_APPEND_INT64(&filter, "_id", id);
        bson_init(&update);
        BSON_APPEND_DOCUMENT_BEGIN(&update, "$inc", &inc);
        BSON_APPEND_INT32(&inc, "n", 1);
        bson_append_document_end(&update, &inc);
        ok = mongoc_collection_update_one(coll_, &filter, &update, nullptr, &reply, &error);
        if (ok) {
          bson_iter_t it;
          if (!bson_iter_init_find(&it, &reply, "matchedCount") || bson_iter_as_int64(&it) != 1) {
            ok = false;
            std::snprintf(error.message, sizeof error.message, "update matched no document");
          }
        }
        bson_destroy(&reply);
        bson_destroy(&update);
        bson_destroy(&filter);
        break;
      }
      case Op::kTxn10:
      case Op::kTxn10Rt:
        ok = RunTxn10(id, op == Op::kTxn10, &error);
        break;
      case Op::kInsert: {
        bson_t doc;
        bson_init(&doc);
        AppendDoc(&doc, insert_id, preload_);
        ok = mongoc_collection_insert_one(coll_, &doc, nullptr, nullptr, &error);
        bson_destroy(&doc);
        break;
      }
    }
    if (!ok) *err = error.message;
    return ok;
  }

 private:
  // One transaction of 10 $inc updates; retried (bounded) on TransientTransactionError.
  bool RunTxn10(int64_t id, bool batched, bson_error_t* error) {
    if (session_ == nullptr) {
      session_ = mongoc_client_start_session(client_, nullptr, error);
      if (session_ == nullptr) return false;
    }
    std::vector<int64_t> ids = TxnIds(id, preload_);
    for (int attempt = 0; attempt < 50; ++attempt) {
      if (!mongoc_client_session_start_transaction(session_, nullptr, error)) return false;
      bson_t opts, reply;
      bson_init(&opts);
      bool ok = mongoc_client_session_append(session_, &opts, error);
      bool transient = false;
      if (ok && batched) {
        mongoc_bulk_operation_t* bulk = mongoc_collection_create_bulk_operation_with_opts(coll_, &opts);
        for (int64_t x : ids) {
          bson_t filter, update, inc;
          bson_init(&filter);
          BSON_APPEND_INT64(&filter, "_id", x);
          bson_init(&update);
          BSON_APPEND_DOCUMENT_BEGIN(&update, "$inc", &inc);
          BSON_APPEND_INT32(&inc, "n", 1);
          bson_append_document_end(&update, &inc);
          ok = ok && mongoc_bulk_operation_update_one_with_opts(bulk, &filter, &update, nullptr, error);
          bson_destroy(&update);
          bson_destroy(&filter);
        }
        if (ok) {
          ok = mongoc_bulk_operation_execute(bulk, &reply, error) != 0;
          if (!ok) transient = mongoc_error_has_label(&reply, "TransientTransactionError");
          bson_iter_t it;
          if (ok && (!bson_iter_init_find(&it, &reply, "nMatched") ||
                     bson_iter_as_int64(&it) != static_cast<int64_t>(ids.size()))) {
            ok = false;
            std::snprintf(error->message, sizeof error->message, "bulk update matched too few documents");
          }
          bson_destroy(&reply);
        }
        mongoc_bulk_operation_destroy(bulk);
      }
      for (size_t i = 0; ok && !batched && i < ids.size(); ++i) {
        bson_t filter, update, inc;
        bson_init(&filter);
        BSON_APPEND_INT64(&filter, "_id", ids[i]);
        bson_init(&update);
        BSON_APPEND_DOCUMENT_BEGIN(&update, "$inc", &inc);
        BSON_APPEND_INT32(&inc, "n", 1);
        bson_append_document_end(&update, &inc);
        ok = mongoc_collection_update_one(coll_, &filter, &update, &opts, &reply, error);
        if (!ok) transient = mongoc_error_has_label(&reply, "TransientTransactionError");
        bson_destroy(&reply);
        bson_destroy(&update);
        bson_destroy(&filter);
      }
      bson_destroy(&opts);
      if (ok) {
        ok = mongoc_client_session_commit_transaction(session_, &reply, error);
        if (!ok) transient = mongoc_error_has_label(&reply, "TransientTransactionError");
        bson_destroy(&reply);
        if (ok) return true;
      } else {
        bson_error_t ignored;
        mongoc_client_session_abort_transaction(session_, &ignored);
      }
      if (!transient) return false;
      ++txn_retries;
    }
    std::snprintf(error->message, sizeof error->message, "transaction conflicted 50 times");
    return false;
  }

  int64_t preload_;
  mongoc_client_t* client_ = nullptr;
  mongoc_collection_t* coll_ = nullptr;
  mongoc_client_session_t* session_ = nullptr;
  bson_t ping_, find_one_opts_;

 public:
  int64_t retries() const override { return txn_retries; }
  int64_t txn_retries = 0;
};

class MongoTarget final : public Target {
 public:
  explicit MongoTarget(std::string uri) : uri_(std::move(uri)) {}
  const char* name() const override { return "amalgam"; }
  std::unique_ptr<Client> Connect() override {
    return std::make_unique<MongoClient>(uri_, preload);
  }

  void Load(int64_t n) override {
    preload = n;
    mongoc_client_t* client = mongoc_client_new(uri_.c_str());
    if (client == nullptr) Die("bad MongoDB URI " + uri_);
    mongoc_client_set_error_api(client, MONGOC_ERROR_API_VERSION_2);
    mongoc_collection_t* coll = mongoc_client_get_collection(client, kDb, kColl);
    bson_error_t error;
    mongoc_collection_drop(coll, &error);  // a missing collection is fine
    bson_t cmd, indexes, index, key, reply;
    bson_init(&cmd);
    BSON_APPEND_UTF8(&cmd, "createIndexes", kColl);
    BSON_APPEND_ARRAY_BEGIN(&cmd, "indexes", &indexes);
    BSON_APPEND_DOCUMENT_BEGIN(&indexes, "0", &index);
    BSON_APPEND_DOCUMENT_BEGIN(&index, "key", &key);
    BSON_APPEND_INT32(&key, "k", 1);
    bson_append_document_end(&index, &key);
    BSON_APPEND_UTF8(&index, "name", "k_1");
    bson_append_document_end(&indexes, &index);
    bson_append_array_end(&cmd, &indexes);
    if (!mongoc_client_write_command_with_opts(client, kDb, &cmd, nullptr, &reply, &error)) {
      Die(std::string("createIndexes: ") + error.message);
    }
    bson_destroy(&reply);
    bson_destroy(&cmd);
    constexpr int64_t kBatch = 1000;
    const bson_t* docs[kBatch];  // a std::vector<bson_t*> warns: bson_t is over-aligned
    for (int64_t base = 0; base < n; base += kBatch) {
      size_t m = 0;
      for (int64_t id = base; id < std::min(base + kBatch, n); ++id) {
        bson_t* doc = bson_new();
        AppendDoc(doc, id, n);
        docs[m++] = doc;
      }
      bool ok = mongoc_collection_insert_many(coll, docs, m, nullptr, nullptr, &error);
      for (size_t i = 0; i < m; ++i) bson_destroy(const_cast<bson_t*>(docs[i]));
      if (!ok) Die(std::string("preload insert: ") + error.message);
    }
    mongoc_collection_destroy(coll);
    mongoc_client_destroy(client);
  }

 private:
  std::string uri_;
};

// ---- PostgreSQL through libpq ----

#ifdef AMALGAM_LOAD_HAVE_PQ
std::string JsonDoc(int64_t id, int64_t preload) {
  return "{\"k\": " + std::to_string(KValue(id, preload)) + ", \"n\": 0, \"s\": \"" + SValue(id) +
         "\", \"pad\": \"" + Pad() + "\"}";
}

class PgClient final : public Client {
 public:
  // `prepare`: false for the loading connection, which runs before the table exists.
  PgClient(const std::string& conninfo, int64_t preload, bool prepare) : preload_(preload) {
    conn_ = PQconnectdb(conninfo.c_str());
    if (PQstatus(conn_) != CONNECTION_OK) Die(std::string("libpq: ") + PQerrorMessage(conn_));
    if (!prepare) return;
    Prepare("ping", "SELECT 1", 0);
    Prepare("find_id", "SELECT doc FROM load WHERE id = $1", 1);
    Prepare("find_k", "SELECT id, doc FROM load WHERE doc->>'k' = $1", 1);
    Prepare("update",
            "UPDATE load SET doc = jsonb_set(doc, '{n}', to_jsonb((doc->>'n')::bigint + 1)) "
            "WHERE id = $1",
            1);
    Prepare("insert", "INSERT INTO load (id, doc) VALUES ($1, $2::jsonb)", 2);
    Prepare("begin", "BEGIN", 0);
    Prepare("update_many",
            "UPDATE load SET doc = jsonb_set(doc, '{n}', to_jsonb((doc->>'n')::bigint + 1)) "
            "WHERE id = ANY($1::bigint[])",
            1);
    Prepare("commit", "COMMIT", 0);
  }
  ~PgClient() override { PQfinish(conn_); }

  bool Run(Op op, int64_t id, int64_t insert_id, std::string* err) override {
    if (op == Op::kTxn10 || op == Op::kTxn10Rt) {
      std::vector<int64_t> ids = TxnIds(id, preload_);
      for (int attempt = 0; attempt < 50; ++attempt) {
        bool ok = Simple("begin", err);
        if (op == Op::kTxn10Rt) {
          for (int64_t x : ids) ok = ok && Run(Op::kUpdate, x, 0, err);
        } else if (ok) {
          std::string arr = "{";
          for (size_t i = 0; i < ids.size(); ++i) arr += (i ? "," : "") + std::to_string(ids[i]);
          arr += "}";
          const char* params[1] = {arr.c_str()};
          PGresult* r = PQexecPrepared(conn_, "update_many", 1, params, nullptr, nullptr, 0);
          ok = PQresultStatus(r) == PGRES_COMMAND_OK && std::atoi(PQcmdTuples(r)) == static_cast<int>(ids.size());
          if (!ok) *err = PQresultStatus(r) == PGRES_COMMAND_OK ? "update matched too few rows" : PQresultErrorMessage(r);
          PQclear(r);
        }
        if (ok && Simple("commit", err)) return true;
        std::string ignored;
        Simple("rollback", &ignored);
        // Serialization failure or deadlock: retry, as a client of PostgreSQL would.
        if (err->find("deadlock") == std::string::npos && err->find("serializ") == std::string::npos) return false;
      }
      return false;
    }
    std::string a, b;
    const char* params[2] = {nullptr, nullptr};
    int nparams = 1;
    switch (op) {
      case Op::kPing: nparams = 0; break;
      case Op::kFindId:
      case Op::kUpdate:
      case Op::kTxn10:
      case Op::kTxn10Rt: a = std::to_string(id); break;
      case Op::kFindK: a = std::to_string(KValue(id, preload_)); break;
      case Op::kInsert:
        a = std::to_string(insert_id);
        b = JsonDoc(insert_id, preload_);
        nparams = 2;
        break;
    }
    params[0] = a.c_str();
    params[1] = b.c_str();
    PGresult* r = PQexecPrepared(conn_, OpName(op), nparams, params, nullptr, nullptr, 0);
    ExecStatusType st = PQresultStatus(r);
    bool ok = st == PGRES_TUPLES_OK || st == PGRES_COMMAND_OK;
    if (!ok) {
      *err = PQresultErrorMessage(r);
    } else if ((op == Op::kFindId || op == Op::kFindK || op == Op::kPing) && PQntuples(r) != 1) {
      ok = false;
      *err = std::to_string(PQntuples(r)) + " rows found, not 1";
    } else if (op == Op::kUpdate && std::strcmp(PQcmdTuples(r), "1") != 0) {
      ok = false;
      *err = "update matched no row";
    }
    PQclear(r);
    return ok;
  }

  bool Simple(const char* sql_or_name, std::string* err) {
    PGresult* r = std::strcmp(sql_or_name, "rollback") == 0
                      ? PQexec(conn_, "ROLLBACK")
                      : PQexecPrepared(conn_, sql_or_name, 0, nullptr, nullptr, nullptr, 0);
    bool ok = PQresultStatus(r) == PGRES_COMMAND_OK;
    if (!ok) *err = PQresultErrorMessage(r);
    PQclear(r);
    return ok;
  }

  void Exec(const std::string& sql) {
    PGresult* r = PQexec(conn_, sql.c_str());
    ExecStatusType st = PQresultStatus(r);
    if (st != PGRES_COMMAND_OK && st != PGRES_TUPLES_OK) {
      Die("PostgreSQL: " + sql.substr(0, 60) + ": " + PQresultErrorMessage(r));
    }
    PQclear(r);
  }

 private:
  void Prepare(const char* name, const char* sql, int nparams) {
    PGresult* r = PQprepare(conn_, name, sql, nparams, nullptr);
    if (PQresultStatus(r) != PGRES_COMMAND_OK) {
      Die(std::string("PostgreSQL: preparing ") + name + ": " + PQresultErrorMessage(r));
    }
    PQclear(r);
  }
  int64_t preload_;
  PGconn* conn_ = nullptr;
};

class PgTarget final : public Target {
 public:
  explicit PgTarget(std::string conninfo) : conninfo_(std::move(conninfo)) {}
  const char* name() const override { return "postgres"; }
  std::unique_ptr<Client> Connect() override {
    return std::make_unique<PgClient>(conninfo_, preload, true);
  }
  void Load(int64_t n) override {
    preload = n;
    PgClient c(conninfo_, n, false);
    c.Exec("SET client_min_messages TO warning");  // no NOTICE for the first DROP TABLE
    c.Exec("DROP TABLE IF EXISTS load");
    c.Exec("CREATE TABLE load (id bigint PRIMARY KEY, doc jsonb NOT NULL)");
    c.Exec("CREATE INDEX load_k ON load ((doc->>'k'))");
    c.Exec("INSERT INTO load SELECT g, jsonb_build_object('k', (g * 7919) % " + std::to_string(n) +
           ", 'n', 0, 's', 's' || lpad(g::text, 15, '0'), 'pad', repeat('x', " +
           std::to_string(kPadLen) + ")) FROM generate_series(0, " + std::to_string(n - 1) +
           ") g");
    c.Exec("VACUUM ANALYZE load");
    c.Exec("SELECT count(*) FROM load");  // warms shared buffers
  }

 private:
  std::string conninfo_;
};
#endif

// ---- CPU time, for "where the time goes" ----

// User + system CPU seconds of `pid` and, if `children`, of its direct children.
double ProcessCpuSeconds(int pid, bool children) {
  if (pid <= 0) return 0;
  static const double kTick = static_cast<double>(sysconf(_SC_CLK_TCK));
  auto read = [](const std::string& path, int* ppid) -> double {
    std::ifstream f(path);
    std::string s((std::istreambuf_iterator<char>(f)), std::istreambuf_iterator<char>());
    size_t p = s.rfind(')');
    if (p == std::string::npos) return -1;
    std::istringstream in(s.substr(p + 2));
    std::string field;
    std::vector<std::string> v;
    while (v.size() < 13 && in >> field) v.push_back(field);
    if (v.size() < 13) return -1;
    *ppid = std::atoi(v[1].c_str());
    return (std::atof(v[11].c_str()) + std::atof(v[12].c_str())) / kTick;
  };
  int ppid = 0;
  double total = std::max(0.0, read("/proc/" + std::to_string(pid) + "/stat", &ppid));
  if (!children) return total;
  DIR* d = opendir("/proc");
  if (d == nullptr) return total;
  while (dirent* e = readdir(d)) {
    if (e->d_name[0] < '0' || e->d_name[0] > '9') continue;
    double t = read(std::string("/proc/") + e->d_name + "/stat", &ppid);
    if (t > 0 && ppid == pid) total += t;
  }
  closedir(d);
  return total;
}

double SelfCpuSeconds() {
  rusage ru;
  getrusage(RUSAGE_SELF, &ru);
  return ru.ru_utime.tv_sec + ru.ru_stime.tv_sec + (ru.ru_utime.tv_usec + ru.ru_stime.tv_usec) / 1e6;
}

// ---- one cell ----

struct CellResult {
  std::string target;
  Op op;
  int conns;
  double ops_per_s = 0, p50_us = 0, p99_us = 0, p999_us = 0;
  double server_cpu_us = 0, client_cpu_us = 0;  // CPU per operation
  int64_t errors = 0;
};

std::atomic<int64_t> g_next_insert_id{kInsertIdBase};

CellResult RunCell(Target& target, Op op, int conns, int64_t warmup_ms, int64_t measure_ms) {
  std::vector<std::unique_ptr<Client>> clients(conns);
  {
    std::vector<std::thread> connectors;
    for (int i = 0; i < conns; ++i) {
      connectors.emplace_back([&, i] { clients[i] = target.Connect(); });
    }
    for (auto& t : connectors) t.join();
  }
  std::vector<std::vector<uint32_t>> lat(conns);
  std::vector<int64_t> errors(conns, 0);
  std::string first_error;
  std::mutex mu;
  std::latch ready(conns + 1);
  std::atomic<int64_t> start_ns{0};
  std::vector<std::thread> threads;
  for (int i = 0; i < conns; ++i) {
    threads.emplace_back([&, i] {
      std::mt19937_64 rng(0x5eed + 7919 * i + 31 * static_cast<int>(op) + conns);
      lat[i].reserve(1 << 16);
      ready.arrive_and_wait();
      int64_t t0;
      while ((t0 = start_ns.load(std::memory_order_acquire)) == 0) std::this_thread::yield();
      const int64_t measure_from = t0 + warmup_ms * 1'000'000;
      const int64_t end = measure_from + measure_ms * 1'000'000;
      std::string err;
      for (int64_t n = 0; n < kMaxOpsPerThread; ++n) {
        int64_t begin = NowNs();
        if (begin >= end) break;
        int64_t id = static_cast<int64_t>(rng() % static_cast<uint64_t>(target.preload));
        int64_t insert_id = op == Op::kInsert ? g_next_insert_id.fetch_add(1) : 0;
        bool ok = clients[i]->Run(op, id, insert_id, &err);
        int64_t took = NowNs() - begin;
        if (!ok) {
          ++errors[i];
          std::lock_guard<std::mutex> l(mu);
          if (first_error.empty()) first_error = err;
          if (errors[i] > 100) break;
          continue;
        }
        if (begin >= measure_from) {
          lat[i].push_back(static_cast<uint32_t>(std::min<int64_t>(took, UINT32_MAX)));
        }
      }
    });
  }
  ready.arrive_and_wait();
  const int64_t t0 = NowNs();
  start_ns.store(t0, std::memory_order_release);
  std::this_thread::sleep_for(std::chrono::milliseconds(warmup_ms));
  double srv0 = ProcessCpuSeconds(target.server_pid, target.server_children);
  double cli0 = SelfCpuSeconds();
  for (auto& t : threads) t.join();
  double srv1 = ProcessCpuSeconds(target.server_pid, target.server_children);
  double cli1 = SelfCpuSeconds();
  int64_t retries = 0;
  for (const auto& c : clients) retries += c->retries();
  clients.clear();

  CellResult r{target.name(), op, conns};
  std::vector<uint32_t> all;
  for (auto& v : lat) all.insert(all.end(), v.begin(), v.end());
  for (int64_t e : errors) r.errors += e;
  if (!first_error.empty()) {
    std::fprintf(stderr, "mongo_load: %s %s x%d: %" PRId64 " errors, first: %s\n", target.name(),
                 OpName(op), conns, r.errors, first_error.c_str());
  }
  if (retries > 0) {
    std::fprintf(stderr, "mongo_load: %s %s x%d: %" PRId64 " transactions retried after a write conflict "
                 "(warm-up included)\n", target.name(), OpName(op), conns, retries);
  }
  if (all.empty()) return r;
  r.ops_per_s = static_cast<double>(all.size()) / (measure_ms / 1000.0);
  auto pct = [&](double p) {
    size_t k = std::min(all.size() - 1, static_cast<size_t>(p * static_cast<double>(all.size())));
    std::nth_element(all.begin(), all.begin() + static_cast<ptrdiff_t>(k), all.end());
    return all[k] / 1000.0;
  };
  r.p50_us = pct(0.50);
  r.p99_us = pct(0.99);
  r.p999_us = pct(0.999);
  // CPU over the measured window plus the threads' wind-down, per measured operation.
  r.server_cpu_us = target.server_pid > 0 ? (srv1 - srv0) * 1e6 / static_cast<double>(all.size()) : 0;
  r.client_cpu_us = (cli1 - cli0) * 1e6 / static_cast<double>(all.size());
  return r;
}

// ---- group: $match + $group over a bulk-loaded collection (issue 4) ----
//
// N documents {_id: int64, user: int32 0..999, tokens: int32 1..2000, model: "m0".."m3",
// ts: date} from a fixed-seed generator, loaded into both targets with bulk inserts
// (insert_many batches of 1000; COPY into a JSONB table), then, a few repetitions each:
//   Mongo:      aggregate [{$match: {model: "m1"}},
//                          {$group: {_id: "$user", total: {$sum: "$tokens"}, n: {$sum: 1}}}]
//   PostgreSQL: SELECT doc->>'user', sum((doc->>'tokens')::int), count(*) FROM grp
//               WHERE doc->>'model' = 'm1' GROUP BY 1
// Both answers must match the groups, grand total and match count computed here while
// generating (the run fails otherwise). Rate: documents scanned (all N: neither side has an
// index on model) per second of wall time. PostgreSQL plans with its default parallel workers
// (whose CPU is not in "srv CPU": they exit before it is read) unless --group-pg-serial.

struct GroupTruth {
  int64_t groups = 0, total = 0, matched = 0;
};
struct GroupAnswer {
  int64_t groups = 0, total = 0, matched = 0;
  bool ok = false;
  std::string error;
};
constexpr const char* kGroupColl = "grp";
constexpr int64_t kGroupTs0 = 1'767'225'600'000;  // 2026-01-01T00:00:00Z in ms

struct GroupDoc {
  int32_t user, tokens, model;
  int64_t ts_ms;
};
GroupDoc MakeGroupDoc(std::mt19937_64& rng, int64_t id) {
  uint64_t r = rng();
  return GroupDoc{static_cast<int32_t>(r % 1000), static_cast<int32_t>((r >> 10) % 2000 + 1),
                  static_cast<int32_t>((r >> 22) % 4), kGroupTs0 + id * 1000};
}
GroupTruth GroupExpected(int64_t n) {
  std::mt19937_64 rng(0x67e0);
  std::vector<char> seen(1000, 0);
  GroupTruth t;
  for (int64_t id = 0; id < n; ++id) {
    GroupDoc d = MakeGroupDoc(rng, id);
    if (d.model != 1) continue;
    ++t.matched;
    t.total += d.tokens;
    if (!seen[d.user]) { seen[d.user] = 1; ++t.groups; }
  }
  return t;
}

void GroupLoadMongo(const std::string& uri, int64_t n) {
  mongoc_client_t* client = mongoc_client_new(uri.c_str());
  if (client == nullptr) Die("bad MongoDB URI " + uri);
  mongoc_client_set_error_api(client, MONGOC_ERROR_API_VERSION_2);
  mongoc_collection_t* coll = mongoc_client_get_collection(client, kDb, kGroupColl);
  bson_error_t error;
  mongoc_collection_drop(coll, &error);  // a missing collection is fine
  std::mt19937_64 rng(0x67e0);
  constexpr int64_t kBatch = 1000;
  const bson_t* docs[kBatch];
  static const char* kModels[] = {"m0", "m1", "m2", "m3"};
  for (int64_t base = 0; base < n; base += kBatch) {
    size_t m = 0;
    for (int64_t id = base; id < std::min(base + kBatch, n); ++id) {
      GroupDoc d = MakeGroupDoc(rng, id);
      bson_t* doc = bson_new();
      BSON_APPEND_INT64(doc, "_id", id);
      BSON_APPEND_INT32(doc, "user", d.user);
      BSON_APPEND_INT32(doc, "tokens", d.tokens);
      BSON_APPEND_UTF8(doc, "model", kModels[d.model]);
      BSON_APPEND_DATE_TIME(doc, "ts", d.ts_ms);
      docs[m++] = doc;
    }
    bool ok = mongoc_collection_insert_many(coll, docs, m, nullptr, nullptr, &error);
    for (size_t i = 0; i < m; ++i) bson_destroy(const_cast<bson_t*>(docs[i]));
    if (!ok) Die(std::string("group load insert_many: ") + error.message);
  }
  mongoc_collection_destroy(coll);
  mongoc_client_destroy(client);
}

GroupAnswer GroupRunMongo(mongoc_collection_t* coll) {
  bson_t* pipeline = BCON_NEW(
      "pipeline", "[", "{", "$match", "{", "model", BCON_UTF8("m1"), "}", "}", "{", "$group", "{",
      "_id", BCON_UTF8("$user"), "total", "{", "$sum", BCON_UTF8("$tokens"), "}", "n", "{", "$sum",
      BCON_INT32(1), "}", "}", "}", "]");
  mongoc_cursor_t* c = mongoc_collection_aggregate(coll, MONGOC_QUERY_NONE, pipeline, nullptr, nullptr);
  GroupAnswer a;
  const bson_t* doc;
  while (a.groups < 100'000 && mongoc_cursor_next(c, &doc)) {
    ++a.groups;
    bson_iter_t it;
    if (bson_iter_init_find(&it, doc, "total")) a.total += bson_iter_as_int64(&it);
    if (bson_iter_init_find(&it, doc, "n")) a.matched += bson_iter_as_int64(&it);
  }
  bson_error_t error;
  a.ok = !mongoc_cursor_error(c, &error);
  if (!a.ok) a.error = error.message;
  mongoc_cursor_destroy(c);
  bson_destroy(pipeline);
  return a;
}

#ifdef AMALGAM_LOAD_HAVE_PQ
void GroupLoadPg(PGconn* conn, int64_t n) {
  auto exec = [&](const std::string& sql) {
    PGresult* r = PQexec(conn, sql.c_str());
    ExecStatusType st = PQresultStatus(r);
    if (st != PGRES_COMMAND_OK && st != PGRES_TUPLES_OK && st != PGRES_COPY_IN) {
      Die("PostgreSQL: " + sql.substr(0, 60) + ": " + PQresultErrorMessage(r));
    }
    PQclear(r);
  };
  exec("SET client_min_messages TO warning");
  exec("DROP TABLE IF EXISTS grp");
  exec("CREATE TABLE grp (id bigint PRIMARY KEY, doc jsonb NOT NULL)");
  exec("COPY grp (id, doc) FROM STDIN");
  std::mt19937_64 rng(0x67e0);
  std::string buf;
  for (int64_t id = 0; id < n; ++id) {
    GroupDoc d = MakeGroupDoc(rng, id);
    time_t secs = static_cast<time_t>(d.ts_ms / 1000);
    tm t;
    gmtime_r(&secs, &t);
    char line[200];
    int len = std::snprintf(line, sizeof line,
                            "%" PRId64 "\t{\"user\": %d, \"tokens\": %d, \"model\": \"m%d\", "
                            "\"ts\": \"%04d-%02d-%02dT%02d:%02d:%02d.000Z\"}\n",
                            id, d.user, d.tokens, d.model, t.tm_year + 1900, t.tm_mon + 1,
                            t.tm_mday, t.tm_hour, t.tm_min, t.tm_sec);
    buf.append(line, static_cast<size_t>(len));
    if (buf.size() > (1 << 20) || id == n - 1) {
      if (PQputCopyData(conn, buf.data(), static_cast<int>(buf.size())) != 1) {
        Die(std::string("PostgreSQL COPY: ") + PQerrorMessage(conn));
      }
      buf.clear();
    }
  }
  if (PQputCopyEnd(conn, nullptr) != 1) Die(std::string("PostgreSQL COPY end: ") + PQerrorMessage(conn));
  PGresult* r = PQgetResult(conn);
  if (PQresultStatus(r) != PGRES_COMMAND_OK) Die(std::string("PostgreSQL COPY: ") + PQresultErrorMessage(r));
  PQclear(r);
  while ((r = PQgetResult(conn)) != nullptr) PQclear(r);
  exec("VACUUM ANALYZE grp");
}

GroupAnswer GroupRunPg(PGconn* conn) {
  PGresult* r = PQexec(conn,
                       "SELECT doc->>'user', sum((doc->>'tokens')::int), count(*) FROM grp "
                       "WHERE doc->>'model' = 'm1' GROUP BY 1");
  GroupAnswer a;
  a.ok = PQresultStatus(r) == PGRES_TUPLES_OK;
  if (!a.ok) a.error = PQresultErrorMessage(r);
  for (int i = 0; a.ok && i < PQntuples(r); ++i) {
    ++a.groups;
    a.total += std::atoll(PQgetvalue(r, i, 1));
    a.matched += std::atoll(PQgetvalue(r, i, 2));
  }
  PQclear(r);
  return a;
}
#endif

// Loads, runs `reps` rounds (the targets alternating), checks, prints. Returns false on a
// wrong or failed answer.
bool RunGroup(const std::string& mongo_uri, const std::string& pg_conninfo, int mongo_pid,
              int pg_pid, int64_t n, int reps, bool pg_serial) {
  GroupTruth truth = GroupExpected(n);
  std::printf("group: %" PRId64 " documents; expected %" PRId64 " groups, %" PRId64
              " matching documents, grand total %" PRId64 "\n",
              n, truth.groups, truth.matched, truth.total);
  mongoc_client_t* client = nullptr;
  mongoc_collection_t* coll = nullptr;
  if (!mongo_uri.empty()) {
    int64_t t0 = NowNs();
    GroupLoadMongo(mongo_uri, n);
    std::printf("group: amalgam loaded in %.1f s (insert_many, batches of 1000)\n", (NowNs() - t0) / 1e9);
    client = mongoc_client_new(mongo_uri.c_str());
    mongoc_client_set_error_api(client, MONGOC_ERROR_API_VERSION_2);
    coll = mongoc_client_get_collection(client, kDb, kGroupColl);
  }
#ifdef AMALGAM_LOAD_HAVE_PQ
  PGconn* pg = nullptr;
  if (!pg_conninfo.empty()) {
    pg = PQconnectdb(pg_conninfo.c_str());
    if (PQstatus(pg) != CONNECTION_OK) Die(std::string("libpq: ") + PQerrorMessage(pg));
    int64_t t0 = NowNs();
    GroupLoadPg(pg, n);
    std::printf("group: postgres loaded in %.1f s (COPY, then VACUUM ANALYZE)\n", (NowNs() - t0) / 1e9);
    if (pg_serial) {
      PGresult* r = PQexec(pg, "SET max_parallel_workers_per_gather = 0");
      if (PQresultStatus(r) != PGRES_COMMAND_OK) Die(std::string("PostgreSQL SET: ") + PQresultErrorMessage(r));
      PQclear(r);
    }
    // The plan, to say whether PostgreSQL scans with parallel workers (it does by default).
    PGresult* r = PQexec(pg,
                         "EXPLAIN SELECT doc->>'user', sum((doc->>'tokens')::int), count(*) FROM grp "
                         "WHERE doc->>'model' = 'm1' GROUP BY 1");
    for (int i = 0; PQresultStatus(r) == PGRES_TUPLES_OK && i < PQntuples(r); ++i) {
      std::printf("group: postgres plan: %s\n", PQgetvalue(r, i, 0));
    }
    PQclear(r);
  }
#else
  if (!pg_conninfo.empty()) Die("built without libpq (install libpq-dev) and rebuild");
#endif
  std::fflush(stdout);
  bool all_ok = true;
  std::map<std::string, std::vector<double>> secs;
  std::map<std::string, double> cpu;
  std::printf("\n| target | rep | s | docs scanned/s | groups | matched | total | srv CPU s |\n");
  std::printf("| --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: |\n");
  for (int rep = 0; rep <= reps; ++rep) {  // rep 0 warms caches and is not counted
    for (int which = 0; which < 2; ++which) {
      const char* name = which == 0 ? "amalgam" : "postgres";
      if (which == 0 && coll == nullptr) continue;
#ifdef AMALGAM_LOAD_HAVE_PQ
      if (which == 1 && pg == nullptr) continue;
#else
      if (which == 1) continue;
#endif
      int pid = which == 0 ? mongo_pid : pg_pid;
      double c0 = ProcessCpuSeconds(pid, which == 1);
      int64_t t0 = NowNs();
      GroupAnswer a;
      if (which == 0) a = GroupRunMongo(coll);
#ifdef AMALGAM_LOAD_HAVE_PQ
      else a = GroupRunPg(pg);
#endif
      double s = (NowNs() - t0) / 1e9;
      double c = ProcessCpuSeconds(pid, which == 1) - c0;
      bool right = a.ok && a.groups == truth.groups && a.total == truth.total && a.matched == truth.matched;
      std::printf("| %s | %d%s | %.3f | %.0f | %" PRId64 " | %" PRId64 " | %" PRId64 " | %.2f |%s\n",
                  name, rep, rep == 0 ? " (warm-up)" : "", s, static_cast<double>(n) / s, a.groups,
                  a.matched, a.total, pid > 0 ? c : 0.0, right ? "" : " WRONG ANSWER");
      std::fflush(stdout);
      if (!right) {
        std::fprintf(stderr, "mongo_load: group on %s: %s (got %" PRId64 " groups, total %" PRId64
                     ", matched %" PRId64 "; expected %" PRId64 ", %" PRId64 ", %" PRId64 ")\n",
                     name, a.ok ? "answer differs from the expected one" : a.error.c_str(), a.groups,
                     a.total, a.matched, truth.groups, truth.total, truth.matched);
        all_ok = false;
      }
      if (rep > 0) {
        secs[name].push_back(s);
        cpu[name] += c;
      }
    }
  }
  auto median = [](std::vector<double> v) {
    std::sort(v.begin(), v.end());
    return v[v.size() / 2];
  };
  std::printf("\n");
  for (auto& [name, v] : secs) {
    std::printf("group %-8s median %.3f s = %.0f documents scanned/s (best %.0f)\n", name.c_str(),
                median(v), static_cast<double>(n) / median(v),
                static_cast<double>(n) / *std::min_element(v.begin(), v.end()));
  }
  if (secs.count("amalgam") && secs.count("postgres")) {
    double ratio = median(secs["postgres"]) / median(secs["amalgam"]);
    std::printf("\nTarget (issue 4): $match+$group rate >= PostgreSQL's: amalgam/postgres = %.2fx (%s)\n",
                ratio, !all_ok ? "answers wrong" : ratio >= 1.0 ? "met" : "missed");
  }
  if (coll != nullptr) {
    mongoc_collection_destroy(coll);
    mongoc_client_destroy(client);
  }
#ifdef AMALGAM_LOAD_HAVE_PQ
  if (pg != nullptr) PQfinish(pg);
#endif
  return all_ok;
}

// ---- command line, report ----

std::vector<std::string> Split(const std::string& s) {
  std::vector<std::string> out;
  std::stringstream in(s);
  std::string item;
  while (std::getline(in, item, ',')) {
    if (!item.empty()) out.push_back(item);
  }
  return out;
}

void PrintRow(const CellResult& r) {
  std::printf("| %-8s | %-7s | %5d | %10.0f | %8.0f | %8.0f | %8.0f | %8.1f | %8.1f |%s\n",
              r.target.c_str(), OpName(r.op), r.conns, r.ops_per_s, r.p50_us, r.p99_us, r.p999_us,
              r.server_cpu_us, r.client_cpu_us,
              r.errors ? (" errors: " + std::to_string(r.errors)).c_str() : "");
  std::fflush(stdout);
}

void PrintSummary(const std::vector<CellResult>& results, const std::vector<int>& conns) {
  auto find = [&](const std::string& t, Op op, int c) -> const CellResult* {
    for (const auto& r : results) {
      if (r.target == t && r.op == op && r.conns == c && r.ops_per_s > 0) return &r;
    }
    return nullptr;
  };
  std::printf("\nTargets (issue 3): find by _id >= 60%% of the ping rate; >= 1.5x PostgreSQL's "
              "throughput at 16 connections with a lower p99.\n\n");
  for (int c : conns) {
    const CellResult* f = find("amalgam", Op::kFindId, c);
    const CellResult* p = find("amalgam", Op::kPing, c);
    if (f && p) {
      double ratio = f->ops_per_s / p->ops_per_s;
      std::printf("find_id / ping at %2d connections: %5.1f%%  (%s)\n", c, 100 * ratio,
                  ratio >= 0.6 ? "met" : "missed");
    }
  }
  std::printf("\nTarget (issue 4): a 10-document transaction takes <= 3x the time of one update "
              "(the same connections, throughput ratio update / txn10).\n\n");
  for (int c : conns) {
    const CellResult* u = find("amalgam", Op::kUpdate, c);
    for (Op op : {Op::kTxn10, Op::kTxn10Rt}) {
      const CellResult* x = find("amalgam", op, c);
      if (!u || !x) continue;
      double ratio = u->ops_per_s / x->ops_per_s;
      std::printf("%-7s time / update time at %2d connections: %5.2fx  (%s)\n", OpName(op), c, ratio,
                  op == Op::kTxn10Rt ? "11 round trips: for reference" : ratio <= 3.0 ? "met" : "missed");
    }
  }
  std::printf("\n| op | conns | Amalgam/PostgreSQL ops/s | p99 Amalgam | p99 PostgreSQL | target |\n");
  std::printf("| --- | ---: | ---: | ---: | ---: | --- |\n");
  for (Op op : {Op::kPing, Op::kFindId, Op::kFindK, Op::kUpdate, Op::kTxn10, Op::kTxn10Rt, Op::kInsert}) {
    for (int c : conns) {
      const CellResult* a = find("amalgam", op, c);
      const CellResult* g = find("postgres", op, c);
      if (!a || !g) continue;
      double ratio = a->ops_per_s / g->ops_per_s;
      const char* verdict = "";
      if (c == 16 && op != Op::kPing && op != Op::kTxn10 && op != Op::kTxn10Rt) {
        verdict = ratio >= 1.5 && a->p99_us < g->p99_us ? "met" : "missed";
      }
      std::printf("| %s | %d | %.2fx | %.0f | %.0f | %s |\n", OpName(op), c, ratio, a->p99_us,
                  g->p99_us, verdict);
    }
  }
}

}  // namespace

int main(int argc, char** argv) {
  std::string mongo_uri, pg_conninfo;
  std::string conns_arg = "1,16,64", ops_arg = "ping,find_id,find_k,update,insert";
  int64_t warmup_ms = 1000, measure_ms = 4000, preload = 100000;
  int mongo_pid = 0, pg_pid = 0;
  int64_t group_docs = 1'000'000;
  int group_reps = 3;
  bool group_pg_serial = false;  // PostgreSQL without parallel workers (amalgamd uses one thread)
  for (int i = 1; i < argc; ++i) {
    std::string a = argv[i];
    auto value = [&]() -> std::string {
      if (i + 1 >= argc) Die("missing value after " + a);
      return argv[++i];
    };
    if (a == "--mongo") mongo_uri = value();
    else if (a == "--pg") pg_conninfo = value();
    else if (a == "--conns") conns_arg = value();
    else if (a == "--ops") ops_arg = value();
    else if (a == "--warmup-ms") warmup_ms = std::atoll(value().c_str());
    else if (a == "--measure-ms") measure_ms = std::atoll(value().c_str());
    else if (a == "--preload") preload = std::atoll(value().c_str());
    else if (a == "--mongo-pid") mongo_pid = std::atoi(value().c_str());
    else if (a == "--pg-pid") pg_pid = std::atoi(value().c_str());
    else if (a == "--group-docs") group_docs = std::atoll(value().c_str());
    else if (a == "--group-reps") group_reps = std::atoi(value().c_str());
    else if (a == "--group-pg-serial") group_pg_serial = true;
    else Die("unknown argument " + a + " (see the comment at the top of bench/mongo_load.cc)");
  }
  if (warmup_ms < 0 || warmup_ms > 60'000 || measure_ms <= 0 || measure_ms > 60'000) {
    Die("--warmup-ms must be in [0, 60000] and --measure-ms in [1, 60000]");
  }
  if (preload < 1 || preload > 10'000'000) Die("--preload must be in [1, 10000000]");
  if (group_docs < 1 || group_docs > 10'000'000) Die("--group-docs must be in [1, 10000000]");
  if (group_reps < 1 || group_reps > 100) Die("--group-reps must be in [1, 100]");
  std::vector<int> conns;
  for (const auto& c : Split(conns_arg)) {
    int n = std::atoi(c.c_str());
    if (n < 1 || n > 256) Die("--conns takes counts in [1, 256]");
    conns.push_back(n);
  }
  std::vector<Op> ops;
  bool group = false;
  const std::map<std::string, Op> by_name = {{"ping", Op::kPing}, {"find_id", Op::kFindId},
                                             {"find_k", Op::kFindK}, {"update", Op::kUpdate},
                                             {"txn10", Op::kTxn10}, {"txn10rt", Op::kTxn10Rt},
                                             {"insert", Op::kInsert}};
  for (const auto& o : Split(ops_arg)) {
    if (o == "group") {
      group = true;
      continue;
    }
    auto it = by_name.find(o);
    if (it == by_name.end()) Die("unknown operation " + o);
    ops.push_back(it->second);
  }
  // Inserts run last: they add documents, and the reads expect exactly one match per key.
  std::sort(ops.begin(), ops.end());

  mongoc_init();
  std::vector<std::unique_ptr<Target>> targets;
  if (!mongo_uri.empty()) {
    targets.push_back(std::make_unique<MongoTarget>(mongo_uri));
    targets.back()->server_pid = mongo_pid;
  }
  if (!pg_conninfo.empty()) {
#ifdef AMALGAM_LOAD_HAVE_PQ
    targets.push_back(std::make_unique<PgTarget>(pg_conninfo));
    targets.back()->server_pid = pg_pid;
    targets.back()->server_children = true;
#else
    Die("built without libpq (install libpq-dev: scripts/bench_setup.sh) and rebuild");
#endif
  }
  if (targets.empty()) Die("give --mongo URI and/or --pg CONNINFO");
  bool group_ok = true;
  if (group) {
    group_ok = RunGroup(mongo_uri, pg_conninfo, mongo_pid, pg_pid, group_docs, group_reps,
                        group_pg_serial);
    if (ops.empty()) {
      mongoc_cleanup();
      return group_ok ? 0 : 1;
    }
    std::printf("\n");
  }

  for (auto& t : targets) {
    int64_t t0 = NowNs();
    t->Load(preload);
    std::fprintf(stderr, "mongo_load: %s: loaded %" PRId64 " documents in %.1f s\n", t->name(),
                 preload, (NowNs() - t0) / 1e9);
  }
  std::printf("warm-up %" PRId64 " ms, measured %" PRId64 " ms per cell; latency in µs; CPU in µs "
              "per operation (server: from /proc; client: this process)\n\n",
              warmup_ms, measure_ms);
  std::printf("| target   | op      | conns |      ops/s |   p50 µs |   p99 µs | p99.9 µs | srv CPU  | cli CPU  |\n");
  std::printf("| --- | --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: |\n");
  std::vector<CellResult> results;
  for (Op op : ops) {
    for (int c : conns) {
      for (auto& t : targets) {
        results.push_back(RunCell(*t, op, c, warmup_ms, measure_ms));
        PrintRow(results.back());
      }
    }
  }
  PrintSummary(results, conns);
  mongoc_cleanup();
  int64_t errors = 0;
  for (const auto& r : results) errors += r.errors;
  return errors == 0 && group_ok ? 0 : 1;
}
