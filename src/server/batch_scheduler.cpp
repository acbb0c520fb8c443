#include "server/batch_scheduler.h"

#include <algorithm>
#include <cmath>
#include <fstream>

#include "model/kv_cache.h"
#include "sampling/stop_strings.h"

namespace kindred::server {

using Clock = std::chrono::steady_clock;

namespace {

double seconds_since(Clock::time_point t) { return std::chrono::duration<double>(Clock::now() - t).count(); }

size_t common_prefix(std::span<const int32_t> a, std::span<const int32_t> b) {
  const size_t n = std::min(a.size(), b.size());
  size_t i = 0;
  while (i < n && a[i] == b[i]) ++i;
  return i;
}

// Slot file names come from clients (/slots/{id}?action=save): plain names only.
void check_slot_filename(const std::string& name) {
  const bool ok = !name.empty() && name.size() <= 128 && name != "." && name != ".." &&
                  std::all_of(name.begin(), name.end(), [](char c) {
                    return std::isalnum(static_cast<unsigned char>(c)) || c == '-' || c == '_' || c == '.';
                  });
  if (!ok) throw SchedulerError(400, "slot file name '" + name + "' must be 1-128 characters of [A-Za-z0-9._-]");
}

std::string key_file_name(const std::string& key) {
  std::string out = "session-";
  for (char c : key) out += std::isalnum(static_cast<unsigned char>(c)) ? c : '_';
  return out + "-" + std::to_string(std::hash<std::string>{}(key) & 0xffffffff) + ".kvstate";
}

}  // namespace

struct BatchScheduler::Slot {
  int id = 0;
  std::string key;                 // empty: anonymous
  std::unique_ptr<Context> ctx;    // null: evicted (saved_path holds it, if anywhere)
  std::filesystem::path saved_path;
  bool busy = false;
  Clock::time_point last_used = Clock::now();
};

struct BatchScheduler::Active {
  std::shared_ptr<Job> job;
  Slot* slot = nullptr;
  size_t prefill_pos = 0;          // prompt tokens already in the cache
  std::unique_ptr<Sampler> sampler;
  std::unique_ptr<GrammarMatcher> grammar;
  std::unique_ptr<StreamDecoder> decoder;
  std::unique_ptr<StopMatcher> stops;
  int32_t last_token = -1;         // sampled, not yet evaluated
  std::vector<float> scratch;      // masked logits
  Clock::time_point decode_start;
  bool first_token_seen = false;
};

const GenerationOutcome& Job::wait() {
  std::unique_lock lock(mutex_);
  done_cv_.wait(lock, [&] { return done_; });
  return outcome;
}

bool Job::finished() const {
  std::lock_guard lock(mutex_);
  return done_;
}

BatchScheduler::BatchScheduler(const Model& model, const Tokenizer& tokenizer, SchedulerOptions options)
    : model_(model),
      tokenizer_(tokenizer),
      options_(std::move(options)),
      pool_(options_.n_threads),
      decoder_(model, pool_) {
  if (options_.n_ctx <= 0) throw std::invalid_argument("scheduler: n_ctx must be positive");
  if (options_.max_active <= 0) throw std::invalid_argument("scheduler: max_active must be positive");
  if (options_.kv_budget_bytes == 0) options_.kv_budget_bytes = context_bytes() * options_.max_active;
  if (options_.kv_budget_bytes < context_bytes()) {
    throw std::invalid_argument("scheduler: the KV budget (" + std::to_string(options_.kv_budget_bytes >> 20) +
                                " MiB) is smaller than one context (" + std::to_string(context_bytes() >> 20) + " MiB)");
  }
  if (!options_.state_dir.empty()) std::filesystem::create_directories(options_.state_dir);
  pieces_.resize(static_cast<size_t>(tokenizer_.n_vocab()));
  for (int32_t id = 0; id < tokenizer_.n_vocab(); ++id) pieces_[id] = tokenizer_.token_to_piece(id);
  stats_.kv_bytes_budget = options_.kv_budget_bytes;
  thread_ = std::thread([this] { run(); });
}

BatchScheduler::~BatchScheduler() {
  {
    std::lock_guard lock(mutex_);
    stopping_ = true;
  }
  wake_.notify_all();
  if (thread_.joinable()) thread_.join();
}

size_t BatchScheduler::context_bytes() const {
  return KvCache::bytes_for(model_.config(), options_.n_ctx, options_.kv_type);
}

std::shared_ptr<Job> BatchScheduler::submit(GenerationRequest request) {
  if (request.prompt.empty()) throw SchedulerError(400, "the prompt is empty: nothing to continue from");
  if (static_cast<int>(request.prompt.size()) >= options_.n_ctx) {
    throw SchedulerError(400, "the prompt (" + std::to_string(request.prompt.size()) +
                                  " tokens) does not fit the context of " + std::to_string(options_.n_ctx) + " tokens");
  }
  for (int32_t id : request.prompt) {
    if (id < 0 || id >= tokenizer_.n_vocab()) throw SchedulerError(400, "token id " + std::to_string(id) + " is outside the vocabulary");
  }
  auto job = std::make_shared<Job>();
  job->request = std::move(request);
  job->submitted = Clock::now();
  {
    std::lock_guard lock(mutex_);
    if (stopping_) throw SchedulerError(503, "the server is shutting down");
    if (static_cast<int>(queue_.size()) >= options_.max_queue) {
      throw SchedulerError(503, "the server is overloaded: " + std::to_string(queue_.size()) + " requests are waiting");
    }
    queue_.push_back(job);
    stats_.queued = static_cast<int>(queue_.size());
  }
  wake_.notify_all();
  return job;
}

int BatchScheduler::cancel_all(const std::optional<std::string>& owner) {
  std::lock_guard lock(mutex_);
  int n = 0;
  auto maybe_cancel = [&](Job& j) {
    if (owner && j.request.owner != *owner) return;
    j.cancel();
    ++n;
  };
  for (auto& j : queue_) maybe_cancel(*j);
  for (auto& a : active_) maybe_cancel(*a->job);
  return n;
}

SchedulerStats BatchScheduler::stats() const {
  std::lock_guard lock(mutex_);
  return stats_;
}

std::vector<SlotInfo> BatchScheduler::slots() const {
  std::lock_guard lock(mutex_);
  return slot_snapshot_;
}

void BatchScheduler::refresh_snapshot() {
  slot_snapshot_.clear();
  int resident = 0;
  for (const auto& s : slots_) {
    slot_snapshot_.push_back({.id = s->id, .key = s->key, .resident = s->ctx != nullptr, .busy = s->busy,
                              .n_past = s->ctx ? s->ctx->n_past() : 0,
                              .idle_seconds = s->busy ? 0 : seconds_since(s->last_used)});
    resident += s->ctx != nullptr;
  }
  stats_.queued = static_cast<int>(queue_.size());
  stats_.active = static_cast<int>(active_.size());
  stats_.resident_slots = resident;
  stats_.slots = static_cast<int>(slots_.size());
  stats_.kv_bytes_used = static_cast<size_t>(resident) * context_bytes();
}

void BatchScheduler::run_control(std::function<void()> fn) {
  std::exception_ptr error;
  bool done = false;
  std::mutex m;
  std::condition_variable cv;
  {
    std::lock_guard lock(mutex_);
    if (stopping_) throw SchedulerError(503, "the server is shutting down");
    controls_.push_back([&] {
      try {
        fn();
      } catch (...) {
        error = std::current_exception();
      }
      std::lock_guard l(m);
      done = true;
      cv.notify_all();
    });
  }
  wake_.notify_all();
  std::unique_lock l(m);
  cv.wait(l, [&] { return done; });
  if (error) std::rethrow_exception(error);
}

BatchScheduler::Slot* BatchScheduler::find_slot(int id) {
  for (auto& s : slots_) {
    if (s->id == id) return s.get();
  }
  throw SchedulerError(404, "no slot " + std::to_string(id));
}

size_t BatchScheduler::save_slot(int slot_id, const std::string& filename) {
  check_slot_filename(filename);
  if (options_.state_dir.empty()) throw SchedulerError(400, "slot saving needs a state directory (--state-dir)");
  size_t n = 0;
  run_control([&] {
    Slot* s = find_slot(slot_id);
    if (s->busy) throw SchedulerError(409, "slot " + std::to_string(slot_id) + " is busy");
    ensure_resident(*s);
    s->ctx->save_state(options_.state_dir / filename);
    n = static_cast<size_t>(s->ctx->n_past());
  });
  return n;
}

size_t BatchScheduler::restore_slot(int slot_id, const std::string& filename) {
  check_slot_filename(filename);
  if (options_.state_dir.empty()) throw SchedulerError(400, "slot restoring needs a state directory (--state-dir)");
  const auto path = options_.state_dir / filename;
  if (!std::filesystem::exists(path)) throw SchedulerError(404, "no saved slot file '" + filename + "'");
  size_t n = 0;
  run_control([&] {
    Slot* s = find_slot(slot_id);
    if (s->busy) throw SchedulerError(409, "slot " + std::to_string(slot_id) + " is busy");
    ensure_resident(*s);
    try {
      s->ctx->load_state(path);
    } catch (const std::exception& e) {
      throw SchedulerError(400, e.what());
    }
    n = static_cast<size_t>(s->ctx->n_past());
  });
  return n;
}

void BatchScheduler::erase_slot(int slot_id) {
  run_control([&] {
    Slot* s = find_slot(slot_id);
    if (s->busy) throw SchedulerError(409, "slot " + std::to_string(slot_id) + " is busy");
    if (s->ctx) s->ctx->reset();
    if (!s->saved_path.empty()) std::filesystem::remove(s->saved_path), s->saved_path.clear();
  });
}

void BatchScheduler::forget_key(const std::string& key) {
  run_control([&] {
    for (auto it = slots_.begin(); it != slots_.end(); ++it) {
      Slot& s = **it;
      if (s.key != key || s.busy) continue;
      if (!s.saved_path.empty()) std::filesystem::remove(s.saved_path);
      std::lock_guard lock(mutex_);
      slots_.erase(it);
      return;
    }
  });
}

void BatchScheduler::run() {
  std::unique_lock lock(mutex_);
  for (;;) {
    wake_.wait(lock, [&] { return stopping_ || !controls_.empty() || !active_.empty() || !queue_.empty(); });
    if (stopping_) break;
    run_controls(lock);
    admit(lock);
    refresh_snapshot();
    if (active_.empty()) {
      // Queued jobs that found no slot wait for one to free; nothing to step.
      if (!queue_.empty() && controls_.empty()) wake_.wait_for(lock, std::chrono::milliseconds(5));
      continue;
    }
    lock.unlock();
    step();
    lock.lock();
    ++stats_.steps;
    refresh_snapshot();
  }
  // Shutting down: fail whatever is left so no client waits forever.
  auto active = std::move(active_);
  auto queued = std::move(queue_);
  lock.unlock();
  for (auto& a : active) finish(*a, StopReason::Cancelled, "the server is shutting down");
  for (auto& j : queued) {
    std::lock_guard l(j->mutex_);
    j->outcome.error = "the server is shutting down";
    j->done_ = true;
    j->done_cv_.notify_all();
  }
}

void BatchScheduler::run_controls(std::unique_lock<std::mutex>& lock) {
  while (!controls_.empty()) {
    auto fn = std::move(controls_.front());
    controls_.pop_front();
    lock.unlock();
    fn();
    lock.lock();
  }
}

bool BatchScheduler::admit(std::unique_lock<std::mutex>& /*lock*/) {
  bool admitted = false;
  for (auto it = queue_.begin(); it != queue_.end() && static_cast<int>(active_.size()) < options_.max_active;) {
    std::shared_ptr<Job> job = *it;
    if (job->cancelled()) {
      it = queue_.erase(it);
      std::lock_guard l(job->mutex_);
      job->outcome.result.reason = StopReason::Cancelled;
      job->outcome.result.n_prompt = static_cast<int>(job->request.prompt.size());
      job->done_ = true;
      job->done_cv_.notify_all();
      continue;
    }
    bool busy_key = false;
    Slot* slot = nullptr;
    try {
      slot = acquire_slot(job->request.slot_key, job->request.prompt, &busy_key);
    } catch (const std::exception& e) {  // a state file that no longer loads, a full disk
      it = queue_.erase(it);
      std::lock_guard l(job->mutex_);
      job->outcome.error = std::string("could not prepare a slot: ") + e.what();
      job->done_ = true;
      job->done_cv_.notify_all();
      continue;
    }
    if (!slot) {
      if (busy_key) {  // the same session is generating: later jobs of other sessions may go first
        ++it;
        continue;
      }
      break;  // no memory for another sequence until one finishes
    }
    it = queue_.erase(it);
    start(std::move(job), slot);
    admitted = true;
  }
  return admitted;
}

BatchScheduler::Slot* BatchScheduler::acquire_slot(const std::string& key, const std::vector<int32_t>& prompt,
                                                   bool* busy_key) {
  const auto resident_count = [&] {
    return static_cast<size_t>(std::count_if(slots_.begin(), slots_.end(), [](const auto& s) { return s->ctx != nullptr; }));
  };
  if (!key.empty()) {
    for (auto& s : slots_) {
      if (s->key != key) continue;
      if (s->busy) {
        *busy_key = true;
        return nullptr;
      }
      if (!s->ctx) {
        if (!make_room()) return nullptr;
        ensure_resident(*s);
      }
      return s.get();
    }
  } else {
    // The idle anonymous slot sharing the longest prefix (ties: least recently used).
    Slot* best = nullptr;
    size_t best_common = 0;
    for (auto& s : slots_) {
      if (s->busy || !s->ctx || !s->key.empty()) continue;
      const size_t common = common_prefix(s->ctx->tokens(), prompt);
      if (!best || common > best_common || (common == best_common && s->last_used < best->last_used)) {
        best = s.get();
        best_common = common;
      }
    }
    const bool room = (resident_count() + 1) * context_bytes() <= options_.kv_budget_bytes;
    if (best && (best_common > 0 || !room)) return best;
  }
  if (!make_room()) return nullptr;
  auto slot = std::make_unique<Slot>();
  slot->id = next_slot_id_++;
  slot->key = key;
  slots_.push_back(std::move(slot));
  ensure_resident(*slots_.back());
  return slots_.back().get();
}

bool BatchScheduler::make_room() {
  for (;;) {
    size_t resident = 0;
    Slot* lru = nullptr;
    for (auto& s : slots_) {
      if (!s->ctx) continue;
      ++resident;
      if (!s->busy && (!lru || s->last_used < lru->last_used)) lru = s.get();
    }
    if ((resident + 1) * context_bytes() <= options_.kv_budget_bytes) return true;
    if (!lru) return false;
    evict(*lru);
  }
}

void BatchScheduler::evict(Slot& slot) {
  if (!slot.key.empty() && !options_.state_dir.empty() && slot.ctx->n_past() > 0) {
    slot.saved_path = options_.state_dir / key_file_name(slot.key);
    slot.ctx->save_state(slot.saved_path);
  } else {
    slot.saved_path.clear();
  }
  slot.ctx.reset();
  ++stats_.evicted;
  if (slot.key.empty()) {  // nothing to come back for
    std::erase_if(slots_, [&](const auto& s) { return s.get() == &slot; });
  }
}

void BatchScheduler::ensure_resident(Slot& slot) {
  if (slot.ctx) return;
  ContextParams params{.n_ctx = options_.n_ctx, .n_threads = options_.n_threads, .kv_type = options_.kv_type};
  params.shared_pool = &pool_;
  slot.ctx = std::make_unique<Context>(model_, params);
  if (!slot.saved_path.empty()) {
    try {
      slot.ctx->load_state(slot.saved_path);
      ++stats_.restored;
    } catch (const std::exception&) {
      slot.ctx->reset();  // a damaged or stale file costs a re-computation, not the request
    }
    std::filesystem::remove(slot.saved_path);
    slot.saved_path.clear();
  }
}

void BatchScheduler::start(std::shared_ptr<Job> job, Slot* slot) {
  auto a = std::make_unique<Active>();
  const GenerationRequest& req = job->request;
  a->slot = slot;
  slot->busy = true;
  slot->last_used = Clock::now();
  Context& ctx = *slot->ctx;
  size_t common = common_prefix(ctx.tokens(), req.prompt);
  if (common >= req.prompt.size()) common = req.prompt.size() - 1;  // the last token gives the logits
  ctx.truncate(static_cast<int>(common));
  ctx.set_steering(req.steering);
  a->prefill_pos = common;
  job->outcome.result.n_prompt = static_cast<int>(req.prompt.size());
  job->outcome.result.n_reused = static_cast<int>(common);
  job->outcome.queue_seconds = seconds_since(job->submitted);
  a->sampler = std::make_unique<Sampler>(req.sampling, tokenizer_.n_vocab());
  for (int32_t id : req.prompt) a->sampler->accept(id);
  if (req.grammar) a->grammar = std::make_unique<GrammarMatcher>(req.grammar);
  a->decoder = std::make_unique<StreamDecoder>(tokenizer_);
  a->stops = std::make_unique<StopMatcher>(req.params.stop);
  a->decode_start = Clock::now();
  a->job = std::move(job);
  active_.push_back(std::move(a));
}

void BatchScheduler::step() {
  std::vector<BatchItem> items;
  std::vector<Active*> owners;
  std::vector<size_t> prefill_counts;
  int prefill_budget = options_.max_prefill_per_step;
  for (auto& ap : active_) {
    Active& a = *ap;
    if (a.job->done_) continue;
    if (a.job->cancelled()) {
      finish(a, StopReason::Cancelled);
      continue;
    }
    const auto& prompt = a.job->request.prompt;
    Context& ctx = *a.slot->ctx;
    if (a.prefill_pos < prompt.size()) {
      const size_t n = std::min({static_cast<size_t>(options_.prefill_chunk), prompt.size() - a.prefill_pos,
                                 static_cast<size_t>(std::max(prefill_budget, 0))});
      if (n == 0) continue;  // this step's prompt budget is spent; the decodes go on
      prefill_budget -= static_cast<int>(n);
      items.push_back({&ctx, std::span<const int32_t>(prompt.data() + a.prefill_pos, n)});
      prefill_counts.push_back(n);
    } else {
      items.push_back({&ctx, std::span<const int32_t>(&a.last_token, 1)});
      prefill_counts.push_back(0);
    }
    owners.push_back(&a);
  }
  if (!items.empty()) {
    std::span<const float> logits;
    try {
      logits = decoder_.eval(items);
    } catch (const std::exception& e) {
      for (Active* a : owners) finish(*a, StopReason::Cancelled, std::string("generation failed: ") + e.what());
      owners.clear();
    }
    const size_t n_vocab = static_cast<size_t>(tokenizer_.n_vocab());
    for (size_t i = 0; i < owners.size(); ++i) {
      Active& a = *owners[i];
      if (prefill_counts[i] > 0) {
        a.prefill_pos += prefill_counts[i];
        if (a.prefill_pos < a.job->request.prompt.size()) continue;
        a.job->outcome.result.prompt_seconds = seconds_since(a.decode_start);
        a.decode_start = Clock::now();
        if (a.job->request.params.n_predict == 0) {
          finish(a, StopReason::Length);
          continue;
        }
      }
      sample_next(a, logits.subspan(i * n_vocab, n_vocab));
    }
  }
  std::lock_guard lock(mutex_);
  std::erase_if(active_, [](const auto& a) { return a->job->done_; });
}

bool BatchScheduler::sample_next(Active& a, std::span<const float> logits) {
  const GenerationRequest& req = a.job->request;
  GenerateResult& result = a.job->outcome.result;
  std::span<const float> l = logits;
  if (a.grammar) {
    a.scratch.assign(logits.begin(), logits.end());
    apply_grammar(*a.grammar, pieces_, a.scratch, tokenizer_.eos());
    l = a.scratch;
  }
  int32_t id = 0;
  try {
    id = a.sampler->sample(l);
  } catch (const std::exception& e) {
    finish(a, StopReason::Cancelled, std::string("sampling failed: ") + e.what());
    return false;
  }
  if (!a.first_token_seen) {
    a.first_token_seen = true;
    a.job->outcome.first_token_seconds = seconds_since(a.job->submitted);
  }
  const auto& stop_tokens = req.params.stop_tokens;
  if ((!req.params.ignore_eos && tokenizer_.is_eog(id)) ||
      std::find(stop_tokens.begin(), stop_tokens.end(), id) != stop_tokens.end()) {
    finish(a, StopReason::EndOfGeneration);
    return false;
  }
  a.sampler->accept(id);
  result.tokens.push_back(id);
  if (a.grammar) a.grammar->accept_bytes(pieces_[id]);
  TokenEvent ev;
  ev.id = id;
  ev.piece = pieces_[id];
  const StopMatcher::Result piece = a.stops->push(a.decoder->push(id));
  ev.text = piece.emit;
  result.text += piece.emit;
  if (req.want_logprobs || req.top_logprobs > 0) {
    float max = -INFINITY;
    for (float x : l) max = std::max(max, x);
    double sum = 0;
    for (float x : l) sum += std::isfinite(x) ? std::exp(static_cast<double>(x - max)) : 0.0;
    const float lse = max + static_cast<float>(std::log(sum));
    ev.logprob = l[id] - lse;
    if (req.top_logprobs > 0) {
      std::vector<int32_t> ids(l.size());
      for (size_t i = 0; i < ids.size(); ++i) ids[i] = static_cast<int32_t>(i);
      const size_t k = std::min<size_t>(static_cast<size_t>(req.top_logprobs), ids.size());
      std::partial_sort(ids.begin(), ids.begin() + static_cast<std::ptrdiff_t>(k), ids.end(),
                        [&](int32_t x, int32_t y) { return l[x] > l[y] || (l[x] == l[y] && x < y); });
      for (size_t i = 0; i < k; ++i) {
        if (!std::isfinite(l[ids[i]])) break;
        ev.top.push_back({ids[i], pieces_[ids[i]], l[ids[i]] - lse});
      }
    }
  }
  if (req.on_token && !req.on_token(ev)) {
    finish(a, StopReason::Cancelled);
    return false;
  }
  if (piece.stopped) {
    finish(a, StopReason::StopString);
    return false;
  }
  if (req.params.n_predict >= 0 && static_cast<int>(result.tokens.size()) >= req.params.n_predict) {
    finish(a, StopReason::Length);
    return false;
  }
  if (a.slot->ctx->n_past() >= options_.n_ctx) {
    finish(a, StopReason::ContextFull);
    return false;
  }
  a.last_token = id;
  return true;
}

void BatchScheduler::finish(Active& a, StopReason reason, std::optional<std::string> error) {
  Job& job = *a.job;
  GenerateResult& result = job.outcome.result;
  if (!error && reason != StopReason::StopString && reason != StopReason::Cancelled) {
    // What the stream decoder and the stop matcher still hold.
    const std::string tail = a.stops->push(a.decoder->flush()).emit + a.stops->flush();
    if (!tail.empty()) {
      result.text += tail;
      TokenEvent ev;
      ev.id = -1;
      ev.text = tail;
      if (job.request.on_token) job.request.on_token(ev);
    }
  }
  result.reason = reason;
  result.decode_seconds = seconds_since(a.decode_start);
  a.slot->busy = false;
  a.slot->last_used = Clock::now();
  if (a.slot->ctx) a.slot->ctx->clear_steering();
  {
    std::lock_guard lock(mutex_);
    stats_.generated_tokens += result.tokens.size();
    refresh_snapshot();  // so a client that saw its job finish sees the slot as it left it
  }
  std::lock_guard l(job.mutex_);
  job.outcome.error = std::move(error);
  job.done_ = true;
  job.done_cv_.notify_all();
}

}  // namespace kindred::server
