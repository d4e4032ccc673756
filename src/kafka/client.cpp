#include "kafka/client.hpp"

#include "kafka/logging.hpp"

#include <algorithm>
#include <cstring>
#include <librdkafka/rdkafka.h>
#include <map>
#include <mutex>
#include <shared_mutex>
#include <utility>

namespace bulwark::kafka {
namespace {

error from_code(rd_kafka_resp_err_t code, std::string_view what) {
  error e;
  e.code = code;
  e.message = std::string(what) + ": " + rd_kafka_err2str(code);
  return e;
}

error from_error(rd_kafka_error_t* err, std::string_view what) {
  error e;
  e.code = rd_kafka_error_code(err);
  e.message = std::string(what) + ": " + rd_kafka_error_string(err);
  e.fatal = rd_kafka_error_is_fatal(err) != 0;
  e.retriable = rd_kafka_error_is_retriable(err) != 0;
  e.abort_transaction = rd_kafka_error_txn_requires_abort(err) != 0;
  rd_kafka_error_destroy(err);
  return e;
}

struct conf_deleter {
  void operator()(rd_kafka_conf_t* c) const noexcept { rd_kafka_conf_destroy(c); }
};
using conf_ptr = std::unique_ptr<rd_kafka_conf_t, conf_deleter>;

struct list_deleter {
  void operator()(rd_kafka_topic_partition_list_t* l) const noexcept {
    rd_kafka_topic_partition_list_destroy(l);
  }
};
using list_ptr = std::unique_ptr<rd_kafka_topic_partition_list_t, list_deleter>;

/// Applies `defaults`, then `props` over them. A bad property names itself
/// and librdkafka's reason, never its value (it may be a password).
result<conf_ptr> make_conf(const properties& defaults, const properties& props) {
  conf_ptr conf(rd_kafka_conf_new());
  route_logs(conf.get()); // every handle: producers, consumers, admin clients
  char reason[512];
  for (const properties* set : {&defaults, &props}) {
    for (const auto& [key, value] : *set) {
      if (rd_kafka_conf_set(conf.get(), key.c_str(), value.c_str(), reason, sizeof reason) !=
          RD_KAFKA_CONF_OK)
        return error{"kafka.properties " + key + ": " + reason};
    }
  }
  return conf;
}

std::vector<topic_partition> to_vector(const rd_kafka_topic_partition_list_t* list) {
  std::vector<topic_partition> out;
  if (list == nullptr) return out;
  out.reserve(static_cast<std::size_t>(list->cnt));
  for (int i = 0; i < list->cnt; ++i)
    out.push_back({list->elems[i].topic, list->elems[i].partition});
  return out;
}

list_ptr to_list(const std::vector<topic_partition>& partitions) {
  list_ptr list(rd_kafka_topic_partition_list_new(static_cast<int>(partitions.size())));
  for (const auto& tp : partitions)
    rd_kafka_topic_partition_list_add(list.get(), tp.topic.c_str(), tp.partition);
  return list;
}

} // namespace

void client_deleter::operator()(rd_kafka_s* rk) const noexcept {
  rd_kafka_destroy(rk);
}

void message_deleter::operator()(rd_kafka_message_s* m) const noexcept {
  rd_kafka_message_destroy(m);
}

std::string_view library_version() noexcept {
  return rd_kafka_version_str();
}

// ---------------------------------------------------------------- message

std::optional<error> message::failure() const {
  if (m_->err == RD_KAFKA_RESP_ERR_NO_ERROR) return std::nullopt;
  error e;
  e.code = m_->err;
  e.message = rd_kafka_message_errstr(m_.get());
  return e;
}

std::string_view message::topic() const noexcept {
  return m_->rkt != nullptr ? std::string_view(rd_kafka_topic_name(m_->rkt)) : std::string_view{};
}
std::int32_t message::partition() const noexcept {
  return m_->partition;
}
std::int64_t message::offset() const noexcept {
  return m_->offset;
}
std::optional<std::string_view> message::key() const noexcept {
  if (m_->key == nullptr) return std::nullopt;
  return std::string_view(static_cast<const char*>(m_->key), m_->key_len);
}
std::optional<std::string_view> message::value() const noexcept {
  if (m_->payload == nullptr) return std::nullopt;
  return std::string_view(static_cast<const char*>(m_->payload), m_->len);
}
std::optional<std::int64_t> message::timestamp() const noexcept {
  rd_kafka_timestamp_type_t type = RD_KAFKA_TIMESTAMP_NOT_AVAILABLE;
  const std::int64_t ts = rd_kafka_message_timestamp(m_.get(), &type);
  if (type == RD_KAFKA_TIMESTAMP_NOT_AVAILABLE || ts < 0) return std::nullopt;
  return ts;
}
std::vector<header> message::headers() const {
  std::vector<header> out;
  rd_kafka_headers_t* hdrs = nullptr;
  if (rd_kafka_message_headers(m_.get(), &hdrs) != RD_KAFKA_RESP_ERR_NO_ERROR) return out;
  const char* name = nullptr;
  const void* value = nullptr;
  std::size_t size = 0;
  for (std::size_t i = 0;
       rd_kafka_header_get_all(hdrs, i, &name, &value, &size) == RD_KAFKA_RESP_ERR_NO_ERROR; ++i) {
    header h{name, std::nullopt};
    if (value != nullptr) h.value = std::string_view(static_cast<const char*>(value), size);
    out.push_back(h);
  }
  return out;
}

// ---------------------------------------------------------------- producer

struct producer::state {
  delivery_handler on_delivery;
  /// Topic handles by name, made on a topic's first record: a record then
  /// names its topic by handle, and librdkafka skips looking the name up
  /// under its client-wide lock for every record. The outputs are a fixed,
  /// configured set of topics, so this stays small.
  std::shared_mutex topics_mu;
  std::map<std::string, rd_kafka_topic_t*, std::less<>> topics;

  /// Drops the handles; the client must still exist.
  void release_topics() noexcept {
    for (auto& [name, rkt] : topics)
      rd_kafka_topic_destroy(rkt);
    topics.clear();
  }
  state() = default;
  state(const state&) = delete;
  state& operator=(const state&) = delete;
  /// Reached with handles only when a producer is assigned over, which
  /// destroys its old state while its old client still exists.
  ~state() { release_topics(); }
};

namespace {

void on_delivery_report(rd_kafka_t* /*rk*/, const rd_kafka_message_t* m, void* opaque) {
  auto* s = static_cast<producer::state*>(opaque);
  delivery d;
  d.token = m->_private;
  if (m->err != RD_KAFKA_RESP_ERR_NO_ERROR) {
    error e;
    e.code = m->err;
    e.message = std::string("produce: ") + rd_kafka_err2str(m->err);
    d.failure = std::move(e);
  }
  d.topic = m->rkt != nullptr ? rd_kafka_topic_name(m->rkt) : "";
  d.partition = m->partition;
  d.offset = m->offset;
  if (m->key != nullptr) d.key = std::string_view(static_cast<const char*>(m->key), m->key_len);
  if (m->payload != nullptr)
    d.value = std::string_view(static_cast<const char*>(m->payload), m->len);
  if (s->on_delivery) s->on_delivery(d);
}

} // namespace

producer::producer(std::unique_ptr<state> s, std::unique_ptr<rd_kafka_s, client_deleter> rk)
    : state_(std::move(s)), rk_(std::move(rk)) {}
producer::producer(producer&&) noexcept = default;
producer& producer::operator=(producer&&) noexcept = default;
producer::~producer() {
  // The topic handles go before the client; then the client, whose
  // destructor may still serve delivery reports that reference the state.
  if (state_ && rk_) state_->release_topics();
  rk_.reset();
}

rd_kafka_topic_t* producer::topic_handle(std::string_view topic) {
  {
    std::shared_lock lock(state_->topics_mu);
    if (auto it = state_->topics.find(topic); it != state_->topics.end()) return it->second;
  }
  std::unique_lock lock(state_->topics_mu);
  if (auto it = state_->topics.find(topic); it != state_->topics.end()) return it->second;
  std::string name(topic);
  rd_kafka_topic_t* rkt = rd_kafka_topic_new(rk_.get(), name.c_str(), nullptr);
  if (rkt != nullptr) state_->topics.emplace(std::move(name), rkt);
  return rkt;
}

result<producer> producer::make(const properties& props, delivery_handler on_delivery) {
  const properties defaults{
      {"enable.idempotence", "true"},
      {"acks", "all"},
      // 0 = no limit: transient errors are retried by librdkafka for as long
      // as it takes; a record is never given up because time passed.
      {"message.timeout.ms", "0"},
      // At high rates batches fill before this; at low rates it is latency
      // added per hop. 1 ms gained ~3 ms of p50 on the embedded cluster, within
      // the noise of a shared machine, and makes batches of a few records per
      // partition at full rate: 5 ms (librdkafka's own default) stays.
      {"linger.ms", "5"},
      // JSON compresses 3-4x with lz4 for a few percent of the CPU of a record.
      {"compression.type", "lz4"},
      // The producer queue is what backpressure waits on: when it is full the
      // workers pause their consumers. 64 MB covers over half a second of
      // output at 100 MB/s, enough to ride out a broker round trip, and is
      // what a stalled broker can cost in memory (not the backlog).
      {"queue.buffering.max.messages", "100000"},
      {"queue.buffering.max.kbytes", "65536"},
      {"message.max.bytes", "8388608"},
  };
  auto conf = make_conf(defaults, props);
  if (auto* e = std::get_if<error>(&conf)) return *e;
  conf_ptr c = std::move(std::get<conf_ptr>(conf));
  auto s = std::make_unique<state>();
  s->on_delivery = std::move(on_delivery);
  rd_kafka_conf_set_opaque(c.get(), s.get());
  rd_kafka_conf_set_dr_msg_cb(c.get(), on_delivery_report);
  char reason[512];
  rd_kafka_t* rk = rd_kafka_new(RD_KAFKA_PRODUCER, c.get(), reason, sizeof reason);
  if (rk == nullptr) return error{std::string("producer: ") + reason};
  (void)c.release(); // owned by rk now
  return producer(std::move(s), std::unique_ptr<rd_kafka_s, client_deleter>(rk));
}

produce_status producer::produce(const outgoing& r, error* why) {
  rd_kafka_headers_t* hdrs = nullptr;
  if (!r.headers.empty()) {
    hdrs = rd_kafka_headers_new(r.headers.size());
    for (const header& h : r.headers)
      rd_kafka_header_add(hdrs, h.name.data(), static_cast<ssize_t>(h.name.size()),
                          h.value ? h.value->data() : nullptr,
                          h.value ? static_cast<ssize_t>(h.value->size()) : 0);
  }
  rd_kafka_vu_t vus[8];
  std::size_t n = 0;
  // By handle; by name only when no handle could be made, so that
  // librdkafka's own error for the name is what is reported.
  std::string topic;
  if (rd_kafka_topic_t* rkt = topic_handle(r.topic)) {
    vus[n].vtype = RD_KAFKA_VTYPE_RKT;
    vus[n++].u.rkt = rkt;
  } else {
    topic.assign(r.topic);
    vus[n].vtype = RD_KAFKA_VTYPE_TOPIC;
    vus[n++].u.cstr = topic.c_str();
  }
  vus[n].vtype = RD_KAFKA_VTYPE_PARTITION;
  vus[n++].u.i32 = r.partition;
  if (r.value.data() != nullptr) { // a default string_view: a null value (tombstone)
    vus[n].vtype = RD_KAFKA_VTYPE_VALUE;
    vus[n].u.mem.ptr = const_cast<char*>(r.value.data());
    vus[n++].u.mem.size = r.value.size();
  }
  if (r.key) {
    vus[n].vtype = RD_KAFKA_VTYPE_KEY;
    vus[n].u.mem.ptr = const_cast<char*>(r.key->data());
    vus[n++].u.mem.size = r.key->size();
  }
  vus[n].vtype = RD_KAFKA_VTYPE_MSGFLAGS;
  vus[n++].u.i = RD_KAFKA_MSG_F_COPY;
  vus[n].vtype = RD_KAFKA_VTYPE_OPAQUE;
  vus[n++].u.ptr = r.token;
  if (r.timestamp) {
    vus[n].vtype = RD_KAFKA_VTYPE_TIMESTAMP;
    vus[n++].u.i64 = *r.timestamp;
  }
  if (hdrs != nullptr) {
    vus[n].vtype = RD_KAFKA_VTYPE_HEADERS;
    vus[n++].u.headers = hdrs;
  }
  rd_kafka_error_t* err = rd_kafka_produceva(rk_.get(), vus, n);
  if (err == nullptr) return produce_status::queued; // headers are owned by the message now
  if (hdrs != nullptr) rd_kafka_headers_destroy(hdrs);
  const bool full = rd_kafka_error_code(err) == RD_KAFKA_RESP_ERR__QUEUE_FULL;
  error e = from_error(err, "produce to " + std::string(r.topic));
  if (why != nullptr) *why = std::move(e);
  return full ? produce_status::queue_full : produce_status::failed;
}

int producer::poll(std::chrono::milliseconds wait) {
  return rd_kafka_poll(rk_.get(), static_cast<int>(wait.count()));
}

bool producer::flush(std::chrono::milliseconds wait) {
  return rd_kafka_flush(rk_.get(), static_cast<int>(wait.count())) == RD_KAFKA_RESP_ERR_NO_ERROR;
}

int producer::pending() const noexcept {
  return rd_kafka_outq_len(rk_.get());
}

std::optional<error> producer::fatal_error() const {
  char reason[512];
  const rd_kafka_resp_err_t code = rd_kafka_fatal_error(rk_.get(), reason, sizeof reason);
  if (code == RD_KAFKA_RESP_ERR_NO_ERROR) return std::nullopt;
  error e;
  e.code = code;
  e.fatal = true;
  e.message = std::string("producer fatal error: ") + reason;
  return e;
}

result<std::map<std::string, int>> producer::list_topics(std::chrono::milliseconds wait) {
  const rd_kafka_metadata_t* md = nullptr;
  const rd_kafka_resp_err_t code =
      rd_kafka_metadata(rk_.get(), 1, nullptr, &md, static_cast<int>(wait.count()));
  if (code != RD_KAFKA_RESP_ERR_NO_ERROR) return from_code(code, "cluster metadata");
  std::map<std::string, int> out;
  for (int i = 0; i < md->topic_cnt; ++i)
    if (md->topics[i].err == RD_KAFKA_RESP_ERR_NO_ERROR)
      out[md->topics[i].topic] = md->topics[i].partition_cnt;
  rd_kafka_metadata_destroy(md);
  return out;
}

result<int> producer::partition_count(const std::string& topic, std::chrono::milliseconds wait) {
  rd_kafka_topic_t* rkt = rd_kafka_topic_new(rk_.get(), topic.c_str(), nullptr);
  const rd_kafka_metadata_t* md = nullptr;
  const rd_kafka_resp_err_t code =
      rd_kafka_metadata(rk_.get(), 0, rkt, &md, static_cast<int>(wait.count()));
  rd_kafka_topic_destroy(rkt);
  if (code != RD_KAFKA_RESP_ERR_NO_ERROR) return from_code(code, "metadata for " + topic);
  int count = 0;
  std::optional<error> failure;
  if (md->topic_cnt == 1) {
    if (md->topics[0].err != RD_KAFKA_RESP_ERR_NO_ERROR)
      failure = from_code(md->topics[0].err, "topic " + topic);
    count = md->topics[0].partition_cnt;
  }
  rd_kafka_metadata_destroy(md);
  if (failure) return *failure;
  return count;
}

std::optional<error> producer::init_transactions(std::chrono::milliseconds wait) {
  if (rd_kafka_error_t* e = rd_kafka_init_transactions(rk_.get(), static_cast<int>(wait.count())))
    return from_error(e, "init transactions");
  return std::nullopt;
}

std::optional<error> producer::begin_transaction() {
  if (rd_kafka_error_t* e = rd_kafka_begin_transaction(rk_.get()))
    return from_error(e, "begin transaction");
  return std::nullopt;
}

std::optional<error>
producer::send_offsets_to_transaction(const consumer& c,
                                      const std::vector<partition_offset>& offsets,
                                      std::chrono::milliseconds wait) {
  if (offsets.empty()) return std::nullopt;
  list_ptr list(rd_kafka_topic_partition_list_new(static_cast<int>(offsets.size())));
  for (const auto& o : offsets)
    rd_kafka_topic_partition_list_add(list.get(), o.tp.topic.c_str(), o.tp.partition)->offset =
        o.offset;
  rd_kafka_consumer_group_metadata_t* md = rd_kafka_consumer_group_metadata(c.handle());
  rd_kafka_error_t* e = rd_kafka_send_offsets_to_transaction(rk_.get(), list.get(), md,
                                                             static_cast<int>(wait.count()));
  rd_kafka_consumer_group_metadata_destroy(md);
  if (e != nullptr) return from_error(e, "send offsets to transaction");
  return std::nullopt;
}

std::optional<error> producer::commit_transaction(std::chrono::milliseconds wait) {
  if (rd_kafka_error_t* e = rd_kafka_commit_transaction(rk_.get(), static_cast<int>(wait.count())))
    return from_error(e, "commit transaction");
  return std::nullopt;
}

std::optional<error> producer::abort_transaction(std::chrono::milliseconds wait) {
  if (rd_kafka_error_t* e = rd_kafka_abort_transaction(rk_.get(), static_cast<int>(wait.count())))
    return from_error(e, "abort transaction");
  return std::nullopt;
}

// ---------------------------------------------------------------- consumer

struct consumer::state {
  rebalance_handler* handler = nullptr;
};

namespace {

void on_rebalance(rd_kafka_t* rk, rd_kafka_resp_err_t err, rd_kafka_topic_partition_list_t* parts,
                  void* opaque) {
  auto* s = static_cast<consumer::state*>(opaque);
  const bool cooperative = std::strcmp(rd_kafka_rebalance_protocol(rk), "COOPERATIVE") == 0;
  if (err == RD_KAFKA_RESP_ERR__ASSIGN_PARTITIONS) {
    if (cooperative) {
      if (rd_kafka_error_t* e = rd_kafka_incremental_assign(rk, parts)) rd_kafka_error_destroy(e);
    } else {
      rd_kafka_assign(rk, parts);
    }
    if (s->handler != nullptr) s->handler->on_assign(to_vector(parts));
    return;
  }
  // Revoked (or lost): the owner finishes and commits before we let go.
  if (s->handler != nullptr) s->handler->on_revoke(to_vector(parts));
  if (cooperative) {
    if (rd_kafka_error_t* e = rd_kafka_incremental_unassign(rk, parts)) rd_kafka_error_destroy(e);
  } else {
    rd_kafka_assign(rk, nullptr);
  }
}

void on_commit_result(rd_kafka_t* /*rk*/, rd_kafka_resp_err_t err,
                      rd_kafka_topic_partition_list_t* offsets, void* opaque) {
  auto* s = static_cast<consumer::state*>(opaque);
  // Nothing to commit is not a failure (a commit of offsets already stored).
  if (s->handler == nullptr || err == RD_KAFKA_RESP_ERR__NO_OFFSET) return;
  std::vector<partition_offset> refused;
  rd_kafka_resp_err_t first = err;
  if (offsets != nullptr)
    for (int i = 0; i < offsets->cnt; ++i) {
      const rd_kafka_topic_partition_t& e = offsets->elems[i];
      if (err == RD_KAFKA_RESP_ERR_NO_ERROR && e.err == RD_KAFKA_RESP_ERR_NO_ERROR) continue;
      if (first == RD_KAFKA_RESP_ERR_NO_ERROR) first = e.err;
      refused.push_back({{e.topic, e.partition}, e.offset});
    }
  if (refused.empty()) return;
  s->handler->on_commit_failed(refused, from_code(first, "commit"));
}

} // namespace

consumer::consumer(std::unique_ptr<state> s, std::unique_ptr<rd_kafka_s, client_deleter> rk)
    : state_(std::move(s)), rk_(std::move(rk)) {}
consumer::consumer(consumer&& o) noexcept
    : state_(std::move(o.state_)), rk_(std::move(o.rk_)), closed_(o.closed_) {
  o.closed_ = true;
}
consumer& consumer::operator=(consumer&& o) noexcept {
  if (this != &o) {
    close();
    rk_.reset();
    state_ = std::move(o.state_);
    rk_ = std::move(o.rk_);
    closed_ = o.closed_;
    o.closed_ = true;
  }
  return *this;
}
consumer::~consumer() {
  close();
  rk_.reset();
}

result<consumer> consumer::make(const properties& props, const std::vector<std::string>& topics,
                                rebalance_handler* handler) {
  const properties defaults{
      {"enable.auto.commit", "false"},
      {"enable.auto.offset.store", "false"},
      {"auto.offset.reset", "earliest"},
      {"enable.partition.eof", "false"},
      // What one worker holds prefetched, so n workers hold at most n x 64 MB
      // whatever the backlog. 16 MB halved a single worker's relay throughput
      // on the embedded cluster (bench/RESULTS.md): the fetcher idles once
      // the queue is over the limit, so it must cover a few fetch round trips.
      {"queued.max.messages.kbytes", "65536"},
  };
  auto conf = make_conf(defaults, props);
  if (auto* e = std::get_if<error>(&conf)) return *e;
  conf_ptr c = std::move(std::get<conf_ptr>(conf));
  // Whatever `properties` say, bulwark commits only what was delivered.
  char reason[512];
  rd_kafka_conf_set(c.get(), "enable.auto.commit", "false", reason, sizeof reason);
  rd_kafka_conf_set(c.get(), "enable.auto.offset.store", "false", reason, sizeof reason);
  auto s = std::make_unique<state>();
  s->handler = handler;
  rd_kafka_conf_set_opaque(c.get(), s.get());
  rd_kafka_conf_set_rebalance_cb(c.get(), on_rebalance);
  rd_kafka_conf_set_offset_commit_cb(c.get(), on_commit_result);
  rd_kafka_t* rk = rd_kafka_new(RD_KAFKA_CONSUMER, c.get(), reason, sizeof reason);
  if (rk == nullptr) return error{std::string("consumer: ") + reason};
  (void)c.release();
  std::unique_ptr<rd_kafka_s, client_deleter> owned(rk);
  rd_kafka_poll_set_consumer(rk);
  list_ptr list(rd_kafka_topic_partition_list_new(static_cast<int>(topics.size())));
  for (const auto& t : topics)
    rd_kafka_topic_partition_list_add(list.get(), t.c_str(), RD_KAFKA_PARTITION_UA);
  if (const rd_kafka_resp_err_t code = rd_kafka_subscribe(rk, list.get()); code != 0) {
    rd_kafka_consumer_close(rk);
    return from_code(code, "subscribe");
  }
  return consumer(std::move(s), std::move(owned));
}

std::optional<message> consumer::poll(std::chrono::milliseconds wait) {
  rd_kafka_message_t* m = rd_kafka_consumer_poll(rk_.get(), static_cast<int>(wait.count()));
  if (m == nullptr) return std::nullopt;
  return message(m);
}

std::optional<error> consumer::commit(const std::vector<partition_offset>& offsets, bool async) {
  if (offsets.empty()) return std::nullopt;
  list_ptr list(rd_kafka_topic_partition_list_new(static_cast<int>(offsets.size())));
  for (const auto& o : offsets)
    rd_kafka_topic_partition_list_add(list.get(), o.tp.topic.c_str(), o.tp.partition)->offset =
        o.offset;
  const rd_kafka_resp_err_t code = rd_kafka_commit(rk_.get(), list.get(), async ? 1 : 0);
  if (code != RD_KAFKA_RESP_ERR_NO_ERROR && code != RD_KAFKA_RESP_ERR__NO_OFFSET)
    return from_code(code, "commit");
  return std::nullopt;
}

void consumer::pause_all() {
  rd_kafka_topic_partition_list_t* list = nullptr;
  if (rd_kafka_assignment(rk_.get(), &list) != RD_KAFKA_RESP_ERR_NO_ERROR) return;
  list_ptr owned(list);
  rd_kafka_pause_partitions(rk_.get(), list);
}

void consumer::resume_all() {
  rd_kafka_topic_partition_list_t* list = nullptr;
  if (rd_kafka_assignment(rk_.get(), &list) != RD_KAFKA_RESP_ERR_NO_ERROR) return;
  list_ptr owned(list);
  rd_kafka_resume_partitions(rk_.get(), list);
}

void consumer::resume(const std::vector<topic_partition>& partitions) {
  if (partitions.empty()) return;
  rd_kafka_resume_partitions(rk_.get(), to_list(partitions).get());
}

std::vector<topic_partition> consumer::assignment() const {
  rd_kafka_topic_partition_list_t* list = nullptr;
  if (rd_kafka_assignment(rk_.get(), &list) != RD_KAFKA_RESP_ERR_NO_ERROR) return {};
  list_ptr owned(list);
  return to_vector(list);
}

std::optional<error> consumer::seek_to_committed(const std::vector<topic_partition>& partitions,
                                                 std::chrono::milliseconds wait) {
  if (partitions.empty()) return std::nullopt;
  const list_ptr list = to_list(partitions);
  if (const rd_kafka_resp_err_t code =
          rd_kafka_committed(rk_.get(), list.get(), static_cast<int>(wait.count()));
      code != RD_KAFKA_RESP_ERR_NO_ERROR)
    return from_code(code, "committed offsets");
  for (int i = 0; i < list->cnt; ++i)
    if (list->elems[i].offset < 0) list->elems[i].offset = RD_KAFKA_OFFSET_BEGINNING;
  if (rd_kafka_error_t* e =
          rd_kafka_seek_partitions(rk_.get(), list.get(), static_cast<int>(wait.count())))
    return from_error(e, "seek");
  return std::nullopt;
}

std::optional<std::int64_t> consumer::cached_high_watermark(const std::string& topic,
                                                            std::int32_t partition) const noexcept {
  if (!rk_) return std::nullopt;
  std::int64_t low = -1, high = -1;
  if (rd_kafka_get_watermark_offsets(rk_.get(), topic.c_str(), partition, &low, &high) !=
          RD_KAFKA_RESP_ERR_NO_ERROR ||
      high < 0)
    return std::nullopt;
  return high;
}

void consumer::close() {
  if (closed_ || !rk_) return;
  closed_ = true;
  rd_kafka_consumer_close(rk_.get());
}

// ---------------------------------------------------------------- read the end

namespace {

/// Leaves a reader's assignment and closes it before destroying the handle.
struct reader_deleter {
  void operator()(rd_kafka_s* rk) const noexcept {
    rd_kafka_assign(rk, nullptr);
    rd_kafka_consumer_close(rk);
    client_deleter{}(rk);
  }
};
using reader_ptr = std::unique_ptr<rd_kafka_s, reader_deleter>;

/// A consumer that is assigned partitions, never subscribed: no group
/// membership, no rebalance, nothing committed (librdkafka still wants a
/// group.id for a consumer handle); partition ends are reported. Closed when
/// the pointer goes.
result<reader_ptr> make_reader(const properties& props, const char* group, const char* what) {
  properties p = props;
  p["group.id"] = group;
  const properties defaults{{"enable.auto.commit", "false"},
                            {"enable.auto.offset.store", "false"},
                            {"enable.partition.eof", "true"}};
  auto conf = make_conf(defaults, p);
  if (auto* e = std::get_if<error>(&conf)) return *e;
  conf_ptr c = std::move(std::get<conf_ptr>(conf));
  char reason[512];
  rd_kafka_conf_set(c.get(), "enable.auto.commit", "false", reason, sizeof reason);
  rd_kafka_conf_set(c.get(), "enable.partition.eof", "true", reason, sizeof reason);
  rd_kafka_t* raw = rd_kafka_new(RD_KAFKA_CONSUMER, c.get(), reason, sizeof reason);
  if (raw == nullptr) return error{std::string(what) + ": " + reason};
  (void)c.release();
  reader_ptr rk(raw);
  rd_kafka_poll_set_consumer(raw);
  return rk;
}

} // namespace

result<std::optional<std::string>>
read_last_record(const properties& props, const std::string& topic, std::int32_t partition,
                 std::chrono::milliseconds wait, std::optional<std::string_view> key) {
  auto made = make_reader(props, "bulwark-read-last", "consumer");
  if (auto* e = std::get_if<error>(&made)) return *e;
  const reader_ptr rk = std::move(std::get<reader_ptr>(made));
  rd_kafka_t* raw = rk.get();

  std::int64_t low = 0, high = 0;
  const rd_kafka_resp_err_t code = rd_kafka_query_watermark_offsets(
      raw, topic.c_str(), partition, &low, &high, static_cast<int>(wait.count()));
  if (code != RD_KAFKA_RESP_ERR_NO_ERROR) {
    return from_code(code, topic + " [" + std::to_string(partition) + "] watermarks");
  }
  if (high <= low) {
    return std::optional<std::string>{};
  }
  // Markers of transactions take offsets but are never delivered: start a
  // few records back and keep the last one seen before the end. Looking for
  // a key, go further back each round until it turns up or the start is read.
  const auto deadline = std::chrono::steady_clock::now() + wait;
  std::int64_t look_back = 64;
  std::int64_t until = high; // this round reads [from, until)
  for (;;) {
    const std::int64_t from = std::max(low, until - look_back);
    list_ptr list(rd_kafka_topic_partition_list_new(1));
    rd_kafka_topic_partition_list_add(list.get(), topic.c_str(), partition)->offset = from;
    if (const rd_kafka_resp_err_t a = rd_kafka_assign(raw, list.get()); a != 0) {
      return from_code(a, "assign " + topic);
    }
    std::optional<std::string> last;
    bool done = false;
    while (!done && std::chrono::steady_clock::now() < deadline) {
      rd_kafka_message_t* m = rd_kafka_consumer_poll(raw, 100);
      if (m == nullptr) continue;
      if (m->err == RD_KAFKA_RESP_ERR__PARTITION_EOF) {
        done = m->offset >= until;
      } else if (m->err == RD_KAFKA_RESP_ERR_NO_ERROR) {
        const bool wanted =
            m->offset < until &&
            (!key || (m->key != nullptr &&
                      std::string_view(static_cast<const char*>(m->key), m->key_len) == *key));
        if (wanted) last.emplace(static_cast<const char*>(m->payload), m->len);
        done = m->offset + 1 >= until;
      }
      rd_kafka_message_destroy(m);
    }
    if (!done) {
      return error{"reading the end of " + topic + " [" + std::to_string(partition) +
                   "]: no answer within " + std::to_string(wait.count()) + " ms"};
    }
    if (last || !key || from <= low) {
      return last;
    }
    until = from;
    look_back *= 8;
  }
}

result<std::map<std::int32_t, std::map<std::string, std::string>>>
read_compacted(const properties& props, const std::string& topic,
               const std::vector<std::int32_t>& partitions, std::chrono::milliseconds wait) {
  using out_type = std::map<std::int32_t, std::map<std::string, std::string>>;
  // Assigned, not subscribed, like read_last_record: no group to join (a
  // rebalance callback must not wait for one), nothing committed.
  auto made = make_reader(props, "bulwark-read-compacted", "compacted-topic reader");
  if (auto* e = std::get_if<error>(&made)) return *e;
  const reader_ptr rk = std::move(std::get<reader_ptr>(made));
  rd_kafka_t* raw = rk.get();
  const auto where = [&topic](std::int32_t part) {
    return topic + " [" + std::to_string(part) + "]";
  };

  out_type out;
  std::map<std::int32_t, std::int64_t> ends; // partitions still to read, up to this offset
  std::unique_ptr<rd_kafka_topic_partition_list_t, decltype(&rd_kafka_topic_partition_list_destroy)>
      list(rd_kafka_topic_partition_list_new(static_cast<int>(partitions.size())),
           &rd_kafka_topic_partition_list_destroy);
  for (std::int32_t part : partitions) {
    out[part];
    std::int64_t low = 0, high = 0;
    const rd_kafka_resp_err_t code = rd_kafka_query_watermark_offsets(
        raw, topic.c_str(), part, &low, &high, static_cast<int>(wait.count()));
    if (code != RD_KAFKA_RESP_ERR_NO_ERROR) {
      return error{where(part) + ": " + rd_kafka_err2str(code), static_cast<int>(code)};
    }
    if (high <= low) continue;
    ends[part] = high;
    rd_kafka_topic_partition_list_add(list.get(), topic.c_str(), part)->offset = low;
  }
  if (ends.empty()) {
    return out;
  }
  if (const rd_kafka_resp_err_t a = rd_kafka_assign(raw, list.get()); a != 0) {
    return error{"assign " + topic + ": " + rd_kafka_err2str(a), static_cast<int>(a)};
  }
  const auto deadline = std::chrono::steady_clock::now() + wait;
  while (!ends.empty() && std::chrono::steady_clock::now() < deadline) {
    rd_kafka_message_t* m = rd_kafka_consumer_poll(raw, 100);
    if (m == nullptr) continue;
    const std::int32_t part = m->partition;
    const auto end = ends.find(part);
    if (m->err == RD_KAFKA_RESP_ERR_NO_ERROR && end != ends.end() && m->key != nullptr) {
      std::string key(static_cast<const char*>(m->key), m->key_len);
      if (m->payload == nullptr)
        out[part].erase(key); // a tombstone
      else
        out[part][std::move(key)].assign(static_cast<const char*>(m->payload), m->len);
    }
    // Records written after reading began are the new owner's own: not needed.
    if (end != ends.end() &&
        (m->err == RD_KAFKA_RESP_ERR_NO_ERROR || m->err == RD_KAFKA_RESP_ERR__PARTITION_EOF) &&
        m->offset + (m->err == RD_KAFKA_RESP_ERR_NO_ERROR ? 1 : 0) >= end->second)
      ends.erase(end);
    rd_kafka_message_destroy(m);
  }
  if (!ends.empty())
    return error{"reading " + where(ends.begin()->first) + ": no answer within " +
                 std::to_string(wait.count()) + " ms"};
  return out;
}

// ---------------------------------------------------------------- admin

std::optional<error> create_topics(const properties& props, const std::vector<std::string>& topics,
                                   int partitions, int replication_factor,
                                   const std::map<std::string, std::string>& configs,
                                   std::chrono::milliseconds wait) {
  auto conf = make_conf({}, props);
  if (auto* e = std::get_if<error>(&conf)) return *e;
  conf_ptr c = std::move(std::get<conf_ptr>(conf));
  char reason[512];
  rd_kafka_t* raw = rd_kafka_new(RD_KAFKA_PRODUCER, c.get(), reason, sizeof reason);
  if (raw == nullptr) return error{std::string("admin client: ") + reason};
  (void)c.release();
  std::unique_ptr<rd_kafka_s, client_deleter> rk(raw);

  std::vector<rd_kafka_NewTopic_t*> new_topics;
  for (const auto& t : topics) {
    rd_kafka_NewTopic_t* nt =
        rd_kafka_NewTopic_new(t.c_str(), partitions, replication_factor, reason, sizeof reason);
    if (nt == nullptr) {
      for (auto* n : new_topics)
        rd_kafka_NewTopic_destroy(n);
      return error{"topic " + t + ": " + reason};
    }
    for (const auto& [k, v] : configs)
      rd_kafka_NewTopic_set_config(nt, k.c_str(), v.c_str());
    new_topics.push_back(nt);
  }
  rd_kafka_queue_t* queue = rd_kafka_queue_new(rk.get());
  rd_kafka_AdminOptions_t* options =
      rd_kafka_AdminOptions_new(rk.get(), RD_KAFKA_ADMIN_OP_CREATETOPICS);
  rd_kafka_AdminOptions_set_operation_timeout(options, static_cast<int>(wait.count()), reason,
                                              sizeof reason);
  rd_kafka_CreateTopics(rk.get(), new_topics.data(), new_topics.size(), options, queue);
  std::optional<error> failure;
  rd_kafka_event_t* ev = rd_kafka_queue_poll(queue, static_cast<int>(wait.count()) + 1000);
  if (ev == nullptr) {
    failure = error{"create topics: no answer from the cluster within " +
                    std::to_string(wait.count()) + " ms"};
  } else if (rd_kafka_event_error(ev) != RD_KAFKA_RESP_ERR_NO_ERROR) {
    failure = error{std::string("create topics: ") + rd_kafka_event_error_string(ev)};
  } else if (const rd_kafka_CreateTopics_result_t* res = rd_kafka_event_CreateTopics_result(ev)) {
    std::size_t n = 0;
    const rd_kafka_topic_result_t** results = rd_kafka_CreateTopics_result_topics(res, &n);
    for (std::size_t i = 0; i < n && !failure; ++i) {
      const rd_kafka_resp_err_t code = rd_kafka_topic_result_error(results[i]);
      if (code != RD_KAFKA_RESP_ERR_NO_ERROR && code != RD_KAFKA_RESP_ERR_TOPIC_ALREADY_EXISTS)
        failure = error{std::string("create topic ") + rd_kafka_topic_result_name(results[i]) +
                        ": " + rd_kafka_err2str(code)};
    }
  }
  if (ev != nullptr) rd_kafka_event_destroy(ev);
  rd_kafka_AdminOptions_destroy(options);
  rd_kafka_queue_destroy(queue);
  for (auto* n : new_topics)
    rd_kafka_NewTopic_destroy(n);
  return failure;
}

} // namespace bulwark::kafka
