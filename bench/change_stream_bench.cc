// change_stream_bench: change-stream delivery latency and the write cost of open streams,
// against a running amalgamd over the MongoDB wire protocol (libmongoc). Results:
// docs/benchmarks.md ("Change streams").
//
// latency   W writer threads insert {_id: n} at a paced total rate (--rate, default 5,000/s) for
//           --measure-ms; each writer stamps the moment its insert is acknowledged. One watcher
//           thread reads a change stream on the collection (awaitData getMores,
//           maxAwaitTimeMS 1000) and stamps the moment each event arrives. Delivery latency =
//           arrival - acknowledgement (0 when the event arrives before the writer has seen its
//           acknowledgement). Every insert must arrive exactly once.
// cost      closed-loop inserts on --conns connections for --measure-ms, with 0 and then with
//           --streams open change streams on the collection (each drained by its own thread);
//           rounds interleave (none, streams, none, streams) and the best round of each counts.
//           --cost-rate R paces the writers at R inserts/s instead (server CPU per insert and per
//           event at equal load, less noisy on a shared machine); --none off skips the rounds
//           without streams (to profile the server with streams alone).
//
// dynamo    with --dynamo HOST:PORT (amalgamd's DynamoDB face): the same paced load of PutItems
//           (--rate over --writers keep-alive HTTP connections) into a table with a KEYS_ONLY
//           stream, and one poller that calls GetRecords in a loop on its shard (again at
//           once after an answer with records, after --poll-ms when an answer was empty) and
//           stamps each record's arrival. Delivery latency = arrival - PutItem acknowledgement.
//
// Bounds: every loop stops at its deadline; only the URI and address given are contacted.
//           With --server-pid, each round also reports CPU per insert: the server's (from
//           /proc/<pid>/stat) and the benchmark's own writer and watcher threads'
//           (CLOCK_THREAD_CPUTIME_ID), which share the machine's cores with the server.
// Usage: change_stream_bench --mongo URI [--rate 5000] [--writers 4] [--measure-ms 5000]
//                            [--conns 8] [--streams 4] [--server-pid PID] [--rounds 2]
//                            [--latency on|off] [--cost on|off] [--none on|off] [--cost-rate 0]
//                            [--dynamo IP:PORT] [--poll-ms 1]
#include <arpa/inet.h>
#include <mongoc/mongoc.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <atomic>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <fstream>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

namespace {

using Clock = std::chrono::steady_clock;

int64_t NowNs() { return std::chrono::duration_cast<std::chrono::nanoseconds>(Clock::now().time_since_epoch()).count(); }

// CPU seconds of process `pid` (user + system, from /proc/<pid>/stat; the system part also in
// *sys); 0 when pid <= 0.
double ProcessCpuSeconds(int pid, double* sys = nullptr) {
  if (sys) *sys = 0;
  if (pid <= 0) return 0;
  static const double kTick = static_cast<double>(sysconf(_SC_CLK_TCK));
  std::ifstream f("/proc/" + std::to_string(pid) + "/stat");
  std::string s((std::istreambuf_iterator<char>(f)), std::istreambuf_iterator<char>());
  size_t p = s.rfind(')');
  if (p == std::string::npos) return 0;
  std::istringstream in(s.substr(p + 2));
  std::string field;
  std::vector<std::string> v;
  while (v.size() < 13 && in >> field) v.push_back(field);
  if (v.size() < 13) return 0;
  if (sys) *sys = std::atof(v[12].c_str()) / kTick;
  return (std::atof(v[11].c_str()) + std::atof(v[12].c_str())) / kTick;
}

// Counts the getMore commands a client sends (command monitoring), to show events per batch.
void CountGetMores(mongoc_client_t* c, std::atomic<int64_t>* counter) {
  mongoc_apm_callbacks_t* cbs = mongoc_apm_callbacks_new();
  mongoc_apm_set_command_started_cb(cbs, [](const mongoc_apm_command_started_t* e) {
    if (std::strcmp(mongoc_apm_command_started_get_command_name(e), "getMore") == 0) {
      (*static_cast<std::atomic<int64_t>*>(mongoc_apm_command_started_get_context(e)))++;
    }
  });
  mongoc_client_set_apm_callbacks(c, cbs, counter);
  mongoc_apm_callbacks_destroy(cbs);
}

double SelfCpuSeconds() {
  rusage ru;
  getrusage(RUSAGE_SELF, &ru);
  return ru.ru_utime.tv_sec + ru.ru_stime.tv_sec + (ru.ru_utime.tv_usec + ru.ru_stime.tv_usec) / 1e6;
}

double ThreadCpuSeconds() {
  timespec ts;
  clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
  return ts.tv_sec + ts.tv_nsec / 1e9;
}

// Adds a double atomically (CPU seconds summed over threads).
void AddTo(std::atomic<double>& a, double d) {
  double cur = a.load();
  while (!a.compare_exchange_weak(cur, cur + d)) {
  }
}

struct Args {
  std::string uri = "mongodb://127.0.0.1:27017/?directConnection=true";
  int rate = 5000;
  int writers = 4;
  int measure_ms = 5000;
  int conns = 8;
  int streams = 4;
  int server_pid = 0;  // amalgamd, for its CPU per insert
  int rounds = 2;
  bool skip_latency = false;
  std::string dynamo;  // host:port of amalgamd's DynamoDB face (GetRecords latency)
  int poll_ms = 1;     // GetRecords pause after an empty answer
  bool skip_cost = false;
  bool skip_none = false;
  int cost_rate = 0;  // --cost-rate R: the cost rounds' writers paced at R inserts/s in all (0: closed loop)  // --none off: only the rounds with streams (for profiling them alone)
};

mongoc_client_t* Connect(const Args& a) {
  mongoc_client_t* c = mongoc_client_new(a.uri.c_str());
  if (!c) {
    std::fprintf(stderr, "bad URI %s\n", a.uri.c_str());
    std::exit(2);
  }
  return c;
}

bool Insert(mongoc_collection_t* coll, int64_t id) {
  bson_t doc = BSON_INITIALIZER;
  BSON_APPEND_INT64(&doc, "_id", id);
  BSON_APPEND_UTF8(&doc, "pad", "change-stream benchmark document ................................");
  bson_error_t err;
  bool ok = mongoc_collection_insert_one(coll, &doc, nullptr, nullptr, &err);
  if (!ok) std::fprintf(stderr, "insert: %s\n", err.message);
  bson_destroy(&doc);
  return ok;
}

mongoc_change_stream_t* Watch(mongoc_collection_t* coll) {
  bson_t pipeline = BSON_INITIALIZER;
  bson_t opts = BSON_INITIALIZER;
  BSON_APPEND_INT64(&opts, "maxAwaitTimeMS", 1000);
  mongoc_change_stream_t* s = mongoc_collection_watch(coll, &pipeline, &opts);
  bson_destroy(&pipeline);
  bson_destroy(&opts);
  return s;
}

void DropCollection(const Args& a, const char* name) {
  mongoc_client_t* c = Connect(a);
  mongoc_collection_t* coll = mongoc_client_get_collection(c, "csbench", name);
  bson_error_t err;
  mongoc_collection_drop(coll, &err);  // missing is fine
  mongoc_collection_destroy(coll);
  mongoc_client_destroy(c);
}

double Percentile(std::vector<int64_t>& v, double p) {
  if (v.empty()) return 0;
  size_t i = std::min(v.size() - 1, static_cast<size_t>(p * v.size()));
  std::nth_element(v.begin(), v.begin() + i, v.end());
  return v[i] / 1e6;
}

void Latency(const Args& a) {
  DropCollection(a, "lat");
  const int64_t total = static_cast<int64_t>(a.rate) * a.measure_ms / 1000;
  std::vector<std::atomic<int64_t>> ack(total), got(total);
  std::atomic<bool> watching{false}, stop_watch{false};
  std::atomic<int64_t> duplicates{0};
  std::thread watcher([&] {
    mongoc_client_t* c = Connect(a);
    mongoc_collection_t* coll = mongoc_client_get_collection(c, "csbench", "lat");
    mongoc_change_stream_t* s = Watch(coll);
    const bson_t* ev;
    mongoc_change_stream_next(s, &ev);  // opens the stream (empty first batch)
    watching = true;
    auto deadline = Clock::now() + std::chrono::milliseconds(a.measure_ms + 10000);
    while (!stop_watch && Clock::now() < deadline) {
      if (!mongoc_change_stream_next(s, &ev)) {
        const bson_t* err_doc;
        bson_error_t err;
        if (mongoc_change_stream_error_document(s, &err, &err_doc)) {
          std::fprintf(stderr, "stream: %s\n", err.message);
          break;
        }
        continue;
      }
      int64_t now = NowNs();
      bson_iter_t it;
      if (bson_iter_init(&it, ev) && bson_iter_find_descendant(&it, "documentKey._id", &it)) {
        int64_t id = bson_iter_as_int64(&it);
        if (id >= 0 && id < total) {
          int64_t zero = 0;
          if (!got[id].compare_exchange_strong(zero, now)) duplicates++;
        }
      }
    }
    mongoc_change_stream_destroy(s);
    mongoc_collection_destroy(coll);
    mongoc_client_destroy(c);
  });
  while (!watching) std::this_thread::sleep_for(std::chrono::milliseconds(1));
  std::vector<std::thread> writers;
  auto start = Clock::now();
  for (int w = 0; w < a.writers; ++w) {
    writers.emplace_back([&, w] {
      mongoc_client_t* c = Connect(a);
      mongoc_collection_t* coll = mongoc_client_get_collection(c, "csbench", "lat");
      double per_ns = 1e9 * a.writers / a.rate;  // this writer's interval
      for (int64_t i = w, k = 0; i < total; i += a.writers, ++k) {
        auto due = start + std::chrono::nanoseconds(static_cast<int64_t>(k * per_ns + w * per_ns / a.writers));
        std::this_thread::sleep_until(due);
        if (Insert(coll, i)) ack[i] = NowNs();
      }
      mongoc_collection_destroy(coll);
      mongoc_client_destroy(c);
    });
  }
  for (auto& t : writers) t.join();
  double secs = std::chrono::duration<double>(Clock::now() - start).count();
  auto wait_until = Clock::now() + std::chrono::seconds(10);
  auto all_in = [&] {
    for (int64_t i = 0; i < total; ++i) {
      if (ack[i] && !got[i]) return false;
    }
    return true;
  };
  while (!all_in() && Clock::now() < wait_until) std::this_thread::sleep_for(std::chrono::milliseconds(20));
  stop_watch = true;
  watcher.join();
  std::vector<int64_t> lat;
  int64_t acked = 0, missing = 0;
  for (int64_t i = 0; i < total; ++i) {
    if (!ack[i]) continue;
    ++acked;
    if (!got[i]) {
      ++missing;
      continue;
    }
    lat.push_back(std::max<int64_t>(0, got[i] - ack[i]));
  }
  std::printf("latency: %lld writes in %.2f s (%.0f/s), events %zu, missing %lld, duplicates %lld\n",
              static_cast<long long>(acked), secs, acked / secs, lat.size(), static_cast<long long>(missing),
              static_cast<long long>(duplicates.load()));
  std::printf("latency: delivery after ack p50 %.3f ms, p99 %.3f ms, max %.3f ms\n", Percentile(lat, 0.50),
              Percentile(lat, 0.99), lat.empty() ? 0 : *std::max_element(lat.begin(), lat.end()) / 1e6);
}

// ---- DynamoDB (HTTP/1.1 keep-alive, JSON) ----------------------------------------------------

// One keep-alive connection to amalgamd's DynamoDB port. Requests carry the headers the AWS
// SDKs send (amalgamd parses the SigV4 Authorization header but does not verify it).
class DynamoClient {
 public:
  explicit DynamoClient(const std::string& hostport) {
    size_t colon = hostport.rfind(':');
    host_ = hostport.substr(0, colon);
    sockaddr_in addr{};
    addr.sin_family = AF_INET;
    addr.sin_port = htons(static_cast<uint16_t>(std::atoi(hostport.substr(colon + 1).c_str())));
    if (colon == std::string::npos || inet_pton(AF_INET, host_.c_str(), &addr.sin_addr) != 1) {
      std::fprintf(stderr, "bad --dynamo %s (want IP:PORT)\n", hostport.c_str());
      std::exit(2);
    }
    fd_ = socket(AF_INET, SOCK_STREAM, 0);
    int one = 1;
    setsockopt(fd_, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
    timeval tv{10, 0};  // bounds every read
    setsockopt(fd_, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
    if (connect(fd_, reinterpret_cast<sockaddr*>(&addr), sizeof addr) != 0) {
      std::fprintf(stderr, "connect %s: %s\n", hostport.c_str(), std::strerror(errno));
      std::exit(1);
    }
  }
  ~DynamoClient() { close(fd_); }

  // POSTs `body` as X-Amz-Target `target`; returns the HTTP status (0 on a broken connection)
  // and the reply body in *reply.
  int Call(const std::string& target, const std::string& body, std::string* reply) {
    std::string req = "POST / HTTP/1.1\r\nHost: " + host_ +
                      "\r\nContent-Type: application/x-amz-json-1.0\r\nX-Amz-Target: " + target +
                      "\r\nX-Amz-Date: 20260101T000000Z\r\nAuthorization: AWS4-HMAC-SHA256 "
                      "Credential=bench/20260101/us-east-1/dynamodb/aws4_request, "
                      "SignedHeaders=content-type;host;x-amz-date;x-amz-target, Signature=00\r\nContent-Length: " +
                      std::to_string(body.size()) + "\r\n\r\n" + body;
    for (size_t off = 0; off < req.size();) {
      ssize_t n = send(fd_, req.data() + off, req.size() - off, MSG_NOSIGNAL);
      if (n <= 0) return 0;
      off += static_cast<size_t>(n);
    }
    size_t head_end;
    while ((head_end = buf_.find("\r\n\r\n")) == std::string::npos) {
      if (!Fill()) return 0;
    }
    std::string head = buf_.substr(0, head_end);
    int status = std::atoi(head.c_str() + head.find(' ') + 1);
    size_t cl = 0;
    for (const char* name : {"Content-Length: ", "content-length: "}) {
      size_t at = head.find(name);
      if (at != std::string::npos) cl = std::strtoul(head.c_str() + at + std::strlen(name), nullptr, 10);
    }
    while (buf_.size() < head_end + 4 + cl) {
      if (!Fill()) return 0;
    }
    reply->assign(buf_, head_end + 4, cl);
    buf_.erase(0, head_end + 4 + cl);
    return status;
  }

 private:
  bool Fill() {
    char tmp[65536];
    ssize_t n = recv(fd_, tmp, sizeof tmp, 0);
    if (n <= 0) return false;
    buf_.append(tmp, static_cast<size_t>(n));
    return true;
  }
  std::string host_;
  int fd_ = -1;
  std::string buf_;
};

// The string value of the first "key":"..." in a JSON reply (no escapes expected).
std::string JsonString(const std::string& json, const std::string& key, size_t from = 0) {
  std::string pat = "\"" + key + "\":\"";
  size_t at = json.find(pat, from);
  if (at == std::string::npos) return "";
  at += pat.size();
  return json.substr(at, json.find('"', at) - at);
}

std::string MustCall(DynamoClient& c, const std::string& target, const std::string& body) {
  std::string reply;
  int status = c.Call(target, body, &reply);
  if (status != 200) {
    std::fprintf(stderr, "%s: HTTP %d %s\n", target.c_str(), status, reply.c_str());
    std::exit(1);
  }
  return reply;
}

void DynamoLatency(const Args& a) {
  const std::string kDb = "DynamoDB_20120810.", kStreams = "DynamoDBStreams_20120810.";
  const std::string table = "csbench_lat";
  DynamoClient admin(a.dynamo);
  std::string reply;
  admin.Call(kDb + "DeleteTable", "{\"TableName\":\"" + table + "\"}", &reply);  // missing is fine
  MustCall(admin, kDb + "CreateTable",
           "{\"TableName\":\"" + table +
               "\",\"AttributeDefinitions\":[{\"AttributeName\":\"id\",\"AttributeType\":\"N\"}],"
               "\"KeySchema\":[{\"AttributeName\":\"id\",\"KeyType\":\"HASH\"}],"
               "\"BillingMode\":\"PAY_PER_REQUEST\",\"StreamSpecification\":{\"StreamEnabled\":true,"
               "\"StreamViewType\":\"KEYS_ONLY\"}}");
  std::string arn = JsonString(MustCall(admin, kDb + "DescribeTable", "{\"TableName\":\"" + table + "\"}"),
                               "LatestStreamArn");
  std::string shard = JsonString(MustCall(admin, kStreams + "DescribeStream", "{\"StreamArn\":\"" + arn + "\"}"),
                                 "ShardId");
  std::string iter = JsonString(MustCall(admin, kStreams + "GetShardIterator",
                                         "{\"StreamArn\":\"" + arn + "\",\"ShardId\":\"" + shard +
                                             "\",\"ShardIteratorType\":\"LATEST\"}"),
                                "ShardIterator");
  if (arn.empty() || shard.empty() || iter.empty()) {
    std::fprintf(stderr, "dynamo: no stream (arn '%s', shard '%s')\n", arn.c_str(), shard.c_str());
    std::exit(1);
  }
  const int64_t total = static_cast<int64_t>(a.rate) * a.measure_ms / 1000;
  std::vector<std::atomic<int64_t>> ack(total), got(total);
  std::atomic<bool> stop_poll{false};
  std::atomic<int64_t> duplicates{0}, polls{0}, empty_polls{0};
  std::thread poller([&] {
    DynamoClient c(a.dynamo);
    std::string it = iter, out;
    auto deadline = Clock::now() + std::chrono::milliseconds(a.measure_ms + 15000);
    while (!stop_poll && Clock::now() < deadline) {
      int status = c.Call(kStreams + "GetRecords", "{\"ShardIterator\":\"" + it + "\",\"Limit\":1000}", &out);
      int64_t now = NowNs();
      polls++;
      if (status != 200) {
        std::fprintf(stderr, "GetRecords: HTTP %d %s\n", status, out.c_str());
        break;
      }
      int records = 0;
      for (size_t at = out.find("\"Keys\":"); at != std::string::npos; at = out.find("\"Keys\":", at + 1)) {
        int64_t id = std::atoll(JsonString(out, "N", at).c_str());
        ++records;
        if (id >= 0 && id < total) {
          int64_t zero = 0;
          if (!got[id].compare_exchange_strong(zero, now)) duplicates++;
        }
      }
      it = JsonString(out, "NextShardIterator");
      if (it.empty()) break;
      if (records == 0) {
        empty_polls++;
        std::this_thread::sleep_for(std::chrono::milliseconds(a.poll_ms));
      }
    }
  });
  std::vector<std::thread> writers;
  auto start = Clock::now();
  for (int w = 0; w < a.writers; ++w) {
    writers.emplace_back([&, w] {
      DynamoClient c(a.dynamo);
      std::string out;
      double per_ns = 1e9 * a.writers / a.rate;
      for (int64_t i = w, k = 0; i < total; i += a.writers, ++k) {
        auto due = start + std::chrono::nanoseconds(static_cast<int64_t>(k * per_ns + w * per_ns / a.writers));
        std::this_thread::sleep_until(due);
        int status = c.Call(kDb + "PutItem",
                            "{\"TableName\":\"" + table + "\",\"Item\":{\"id\":{\"N\":\"" + std::to_string(i) +
                                "\"},\"pad\":{\"S\":\"change-stream benchmark document ............\"}}}",
                            &out);
        if (status == 200) {
          ack[i] = NowNs();
        } else {
          std::fprintf(stderr, "PutItem: HTTP %d %s\n", status, out.c_str());
        }
      }
    });
  }
  for (auto& t : writers) t.join();
  double secs = std::chrono::duration<double>(Clock::now() - start).count();
  auto wait_until = Clock::now() + std::chrono::seconds(10);
  auto all_in = [&] {
    for (int64_t i = 0; i < total; ++i) {
      if (ack[i] && !got[i]) return false;
    }
    return true;
  };
  while (!all_in() && Clock::now() < wait_until) std::this_thread::sleep_for(std::chrono::milliseconds(20));
  stop_poll = true;
  poller.join();
  std::vector<int64_t> lat;
  int64_t acked = 0, missing = 0;
  for (int64_t i = 0; i < total; ++i) {
    if (!ack[i]) continue;
    ++acked;
    if (!got[i]) {
      ++missing;
      continue;
    }
    lat.push_back(std::max<int64_t>(0, got[i] - ack[i]));
  }
  std::printf("dynamo: %lld PutItems in %.2f s (%.0f/s), records %zu, missing %lld, duplicates %lld; %lld GetRecords "
              "(%lld empty, then %d ms pause)\n",
              static_cast<long long>(acked), secs, acked / secs, lat.size(), static_cast<long long>(missing),
              static_cast<long long>(duplicates.load()), static_cast<long long>(polls.load()),
              static_cast<long long>(empty_polls.load()), a.poll_ms);
  std::printf("dynamo: delivery after ack p50 %.3f ms, p99 %.3f ms, max %.3f ms\n", Percentile(lat, 0.50),
              Percentile(lat, 0.99), lat.empty() ? 0 : *std::max_element(lat.begin(), lat.end()) / 1e6);
  std::fflush(stdout);
  admin.Call(kDb + "DeleteTable", "{\"TableName\":\"" + table + "\"}", &reply);
}

struct Round {
  double rate = 0;           // inserts/s
  double server_us = 0;      // amalgamd CPU per insert
  double server_sys_us = 0;  // of which in the kernel
  double writers_us = 0;     // benchmark writer threads' CPU per insert
  double watchers_us = 0;    // benchmark watcher threads' CPU per insert
  double process_us = 0;     // the whole benchmark process per insert
};

Round Throughput(const Args& a, int streams, int round) {
  std::string name = "tp" + std::to_string(round) + "_" + std::to_string(streams);
  DropCollection(a, name.c_str());
  std::atomic<bool> stop{false};
  std::atomic<int> open{0};
  std::atomic<int64_t> delivered{0}, delivered_in_window{0}, getmores{0};
  std::atomic<double> watcher_cpu{0}, writer_cpu{0};
  std::atomic<bool> started{false};
  Clock::time_point start, end;
  std::vector<std::thread> watchers;
  for (int s = 0; s < streams; ++s) {
    watchers.emplace_back([&] {
      mongoc_client_t* c = Connect(a);
      CountGetMores(c, &getmores);
      mongoc_collection_t* coll = mongoc_client_get_collection(c, "csbench", name.c_str());
      mongoc_change_stream_t* cs = Watch(coll);
      const bson_t* ev;
      mongoc_change_stream_next(cs, &ev);
      open++;
      while (!started) std::this_thread::sleep_for(std::chrono::microseconds(100));
      double cpu0 = ThreadCpuSeconds(), cpu_end = -1;
      auto deadline = Clock::now() + std::chrono::milliseconds(a.measure_ms + 10000);
      while (!stop && Clock::now() < deadline) {
        bool got = mongoc_change_stream_next(cs, &ev);
        if (Clock::now() < end) {
          if (got) delivered_in_window++;
        } else if (cpu_end < 0) {
          cpu_end = ThreadCpuSeconds();  // the window is over: what follows is the tail
        }
        if (got) delivered++;
      }
      AddTo(watcher_cpu, (cpu_end < 0 ? ThreadCpuSeconds() : cpu_end) - cpu0);
      mongoc_change_stream_destroy(cs);
      mongoc_collection_destroy(coll);
      mongoc_client_destroy(c);
    });
  }
  while (open < streams) std::this_thread::sleep_for(std::chrono::milliseconds(1));
  std::atomic<int64_t> ops{0};
  std::vector<std::thread> writers;
  std::atomic<int> connected{0};
  start = Clock::now() + std::chrono::milliseconds(200);  // writers connect first
  end = start + std::chrono::milliseconds(a.measure_ms);
  for (int w = 0; w < a.conns; ++w) {
    writers.emplace_back([&, w] {
      mongoc_client_t* c = Connect(a);
      mongoc_collection_t* coll = mongoc_client_get_collection(c, "csbench", name.c_str());
      Insert(coll, -1 - w);  // connects
      connected++;
      std::this_thread::sleep_until(start);
      double cpu0 = ThreadCpuSeconds();
      // Paced (--cost-rate): this writer's k-th insert is due at start + k * conns / rate, so the
      // server's CPU per insert compares at the same load with and without streams.
      double per_ns = a.cost_rate > 0 ? 1e9 * a.conns / a.cost_rate : 0;
      for (int64_t i = w, k = 0; Clock::now() < end; i += a.conns, ++k) {
        if (per_ns > 0) {
          auto due = start + std::chrono::nanoseconds(static_cast<int64_t>(k * per_ns + w * per_ns / a.conns));
          if (due >= end) break;
          std::this_thread::sleep_until(due);
        }
        if (Insert(coll, i)) ops++;
      }
      AddTo(writer_cpu, ThreadCpuSeconds() - cpu0);
      mongoc_collection_destroy(coll);
      mongoc_client_destroy(c);
    });
  }
  std::this_thread::sleep_until(start);
  started = true;
  double sys0, sys1;
  double server0 = ProcessCpuSeconds(a.server_pid, &sys0), self0 = SelfCpuSeconds();
  int64_t getmores0 = getmores.load();
  for (auto& t : writers) t.join();
  double server1 = ProcessCpuSeconds(a.server_pid, &sys1), self1 = SelfCpuSeconds();
  int64_t window_getmores = getmores.load() - getmores0;
  double secs = std::chrono::duration<double>(Clock::now() - start).count();
  stop = true;
  for (auto& t : watchers) t.join();
  Round r;
  r.rate = ops / secs;
  double n = std::max<int64_t>(1, ops.load());
  r.server_us = (server1 - server0) * 1e6 / n;
  r.server_sys_us = (sys1 - sys0) * 1e6 / n;
  r.writers_us = writer_cpu.load() * 1e6 / n;
  r.watchers_us = watcher_cpu.load() * 1e6 / n;
  r.process_us = (self1 - self0) * 1e6 / n;
  std::printf("cost: round %d, %d streams: %.0f inserts/s on %d connections; events delivered %lld (%lld in the "
              "window, %.0f%% of %d x inserts; %.1f events per getMore); CPU per insert: server %.1f us (%.1f in "
              "the kernel), bench writers %.1f us, bench watchers %.1f us (bench process %.1f us)\n",
              round, streams, r.rate, a.conns, static_cast<long long>(delivered.load()),
              static_cast<long long>(delivered_in_window.load()),
              streams ? 100.0 * delivered_in_window.load() / (n * streams) : 0.0, streams,
              window_getmores ? static_cast<double>(delivered_in_window.load()) / window_getmores : 0.0, r.server_us,
              r.server_sys_us, r.writers_us, r.watchers_us, r.process_us);
  std::fflush(stdout);
  return r;
}

}  // namespace

int main(int argc, char** argv) {
  Args a;
  for (int i = 1; i + 1 < argc; i += 2) {
    std::string k = argv[i], v = argv[i + 1];
    if (k == "--mongo") a.uri = v;
    else if (k == "--dynamo") a.dynamo = v;
    else if (k == "--poll-ms") a.poll_ms = std::atoi(v.c_str());
    else if (k == "--cost") a.skip_cost = v == "off";
    else if (k == "--rate") a.rate = std::atoi(v.c_str());
    else if (k == "--writers") a.writers = std::atoi(v.c_str());
    else if (k == "--measure-ms") a.measure_ms = std::atoi(v.c_str());
    else if (k == "--conns") a.conns = std::atoi(v.c_str());
    else if (k == "--streams") a.streams = std::atoi(v.c_str());
    else if (k == "--server-pid") a.server_pid = std::atoi(v.c_str());
    else if (k == "--rounds") a.rounds = std::atoi(v.c_str());
    else if (k == "--latency") a.skip_latency = v == "off";
    else if (k == "--none") a.skip_none = v == "off";
    else if (k == "--cost-rate") a.cost_rate = std::atoi(v.c_str());
    else {
      std::fprintf(stderr, "unknown option %s\n", k.c_str());
      return 2;
    }
  }
  if (a.rate < 1 || a.writers < 1 || a.measure_ms < 100 || a.conns < 1 || a.streams < 0 || a.rounds < 1) {
    std::fprintf(stderr, "bad arguments\n");
    return 2;
  }
  mongoc_init();
  if (!a.skip_latency) Latency(a);
  if (!a.skip_latency && !a.dynamo.empty()) DynamoLatency(a);
  if (a.skip_cost) {
    mongoc_cleanup();
    return 0;
  }
  Round none, with;
  for (int round = 0; round < a.rounds; ++round) {
    if (!a.skip_none) {
      Round r0 = Throughput(a, 0, round);
      if (r0.rate > none.rate) none = r0;
    }
    Round r1 = Throughput(a, a.streams, round);
    if (r1.rate > with.rate) with = r1;
  }
  std::printf("cost: best of %d rounds: %.0f inserts/s without streams, %.0f with %d (%.1f%%)\n", a.rounds, none.rate,
              with.rate, a.streams, 100.0 * with.rate / none.rate);
  std::printf("cost: CPU per insert (best rounds), none -> %d streams: server %.1f -> %.1f us (kernel %.1f -> %.1f), "
              "bench writers %.1f -> %.1f us, bench watchers %.1f -> %.1f us\n",
              a.streams, none.server_us, with.server_us, none.server_sys_us, with.server_sys_us, none.writers_us,
              with.writers_us, none.watchers_us, with.watchers_us);
  DropCollection(a, "lat");
  mongoc_cleanup();
  return 0;
}
