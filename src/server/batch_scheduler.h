// Continuous batching: every generation request the server runs (OpenAI calls, llama.cpp-style
// completions, Kindred session replies) becomes a Job on one scheduler thread. Each step it
// admits queued jobs into slots, then runs ONE batched forward (BatchDecoder) over every active
// sequence — prompt chunks of newly admitted jobs beside the single decode tokens of the others —
// and samples each sequence's next token. A job that finishes frees its slot at once, so new
// requests join between steps rather than waiting for a whole batch to drain.
//
// Slots own a Context (KV cache). Resident contexts are bounded by a KV memory budget; when a new
// sequence needs room, the least recently used idle slot is evicted: a keyed slot (a Kindred
// session) is saved to disk and restored without re-processing when its session returns; an
// anonymous slot is dropped. Anonymous requests pick the idle slot sharing the longest prompt
// prefix, so a client that resends a growing conversation reuses its cache.
#pragma once
#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <deque>
#include <filesystem>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <thread>
#include <vector>

#include "engine/batch_decoder.h"
#include "engine/context.h"
#include "engine/generate.h"
#include "sampling/grammar.h"
#include "sampling/sampler.h"
#include "tokenizer/tokenizer.h"

namespace kindred::server {

// A request the scheduler cannot take (queue full, prompt longer than the context): the server
// answers 4xx/503 with the message.
class SchedulerError : public std::runtime_error {
 public:
  SchedulerError(int http_status, const std::string& message) : std::runtime_error(message), status(http_status) {}
  int status;
};

struct TokenAlternative {
  int32_t id = 0;
  std::string piece;
  float logprob = 0;
};

// One sampled token, reported from the scheduler thread (keep callbacks short: they stall the batch).
struct TokenEvent {
  int32_t id = 0;
  std::string piece;           // the token's own text (may be part of a UTF-8 character)
  std::string text;            // text now safe to show (stop strings and split characters held back)
  float logprob = 0;           // log-probability of the token (after logit bias and grammar)
  std::vector<TokenAlternative> top;  // the top_logprobs most likely tokens
};

struct GenerationRequest {
  std::string slot_key;              // non-empty: this sequence's slot persists (a session)
  std::string owner;                 // the tenant, so /api/extra/abort stops only its own jobs
  std::vector<int32_t> prompt;       // the whole sequence to continue
  SamplerParams sampling;
  GenerateParams params;             // n_predict, stop, stop_tokens, ignore_eos (reuse_prefix is implied)
  std::shared_ptr<const Grammar> grammar;  // constrain the output (response_format, tools)
  int top_logprobs = 0;              // alternatives per token in TokenEvent::top
  bool want_logprobs = false;        // compute TokenEvent::logprob
  std::shared_ptr<const SteeringVectors> steering;
  // Called for each sampled token; return false to cancel (the client went away).
  std::function<bool(const TokenEvent&)> on_token;
};

struct GenerationOutcome {
  GenerateResult result;
  std::optional<std::string> error;  // set when the job failed (the message)
  double queue_seconds = 0;          // waiting for a slot
  double first_token_seconds = 0;    // from submit to the first sampled token
};

class Job {
 public:
  // Blocks until the job is finished, cancelled or failed.
  const GenerationOutcome& wait();
  bool finished() const;
  // Asks the scheduler to stop this job at its next step.
  void cancel() { cancelled_.store(true); }
  bool cancelled() const { return cancelled_.load(); }

 private:
  friend class BatchScheduler;
  GenerationRequest request;
  GenerationOutcome outcome;
  std::atomic<bool> cancelled_{false};
  mutable std::mutex mutex_;
  std::condition_variable done_cv_;
  bool done_ = false;
  std::chrono::steady_clock::time_point submitted;
};

struct SchedulerOptions {
  int n_ctx = 4096;                  // context of every slot
  int n_threads = 0;                 // 0: all hardware threads
  int max_active = 64;               // sequences decoded together at most
  int max_queue = 1024;              // waiting jobs at most (more → 503)
  size_t kv_budget_bytes = 0;        // 0: room for max_active contexts
  int prefill_chunk = 256;           // prompt tokens per sequence per step
  int max_prefill_per_step = 512;    // prompt tokens per step over all sequences (keeps decodes flowing)
  DType kv_type = DType::F16;
  std::filesystem::path state_dir;   // where evicted keyed slots go (empty: keyed slots are dropped too)
};

struct SlotInfo {
  int id = 0;
  std::string key;
  bool resident = false;
  bool busy = false;
  int n_past = 0;
  double idle_seconds = 0;
};

struct SchedulerStats {
  int queued = 0;
  int active = 0;
  int resident_slots = 0;
  int slots = 0;
  size_t kv_bytes_used = 0;
  size_t kv_bytes_budget = 0;
  uint64_t evicted = 0;
  uint64_t restored = 0;
  uint64_t steps = 0;
  uint64_t generated_tokens = 0;
};

class BatchScheduler {
 public:
  BatchScheduler(const Model& model, const Tokenizer& tokenizer, SchedulerOptions options);
  ~BatchScheduler();
  BatchScheduler(const BatchScheduler&) = delete;
  BatchScheduler& operator=(const BatchScheduler&) = delete;

  // Queues a request. Throws SchedulerError (400) for a prompt that cannot fit a slot's context
  // and (503) when the queue is full or the scheduler is stopping.
  std::shared_ptr<Job> submit(GenerationRequest request);
  // Cancels every queued and running job, or only those of `owner` (KoboldCpp's /api/extra/abort).
  int cancel_all(const std::optional<std::string>& owner = std::nullopt);

  SchedulerStats stats() const;
  std::vector<SlotInfo> slots() const;
  // /slots actions, run on the scheduler thread between steps. Throw SchedulerError (404 for an
  // unknown slot, 409 for a busy one, 400 for a bad file name).
  size_t save_slot(int slot_id, const std::string& filename);
  size_t restore_slot(int slot_id, const std::string& filename);
  void erase_slot(int slot_id);
  // Evicts the keyed slot (to disk when a state_dir is set) e.g. when its session is deleted.
  void forget_key(const std::string& key);

  const SchedulerOptions& options() const { return options_; }
  int n_ctx() const { return options_.n_ctx; }
  const std::vector<std::string>& token_pieces() const { return pieces_; }

 private:
  struct Slot;
  struct Active;
  void run();
  void run_controls(std::unique_lock<std::mutex>& lock);
  bool admit(std::unique_lock<std::mutex>& lock);
  // A slot for the job, made resident; null when none is free now (busy key: *busy_key is set).
  Slot* acquire_slot(const std::string& key, const std::vector<int32_t>& prompt, bool* busy_key);
  void start(std::shared_ptr<Job> job, Slot* slot);
  bool make_room();
  void evict(Slot& slot);
  void ensure_resident(Slot& slot);
  void step();
  // Samples the next token of `a` from `logits`; false when the job is finished.
  bool sample_next(Active& a, std::span<const float> logits);
  void finish(Active& a, StopReason reason, std::optional<std::string> error = std::nullopt);
  size_t context_bytes() const;
  void run_control(std::function<void()> fn);
  Slot* find_slot(int id);

  const Model& model_;
  const Tokenizer& tokenizer_;
  SchedulerOptions options_;
  std::vector<std::string> pieces_;  // every token's text, for grammar masks
  ThreadPool pool_;
  BatchDecoder decoder_;

  mutable std::mutex mutex_;
  std::condition_variable wake_;
  std::deque<std::shared_ptr<Job>> queue_;
  std::deque<std::function<void()>> controls_;
  std::vector<std::unique_ptr<Slot>> slots_;
  std::vector<std::unique_ptr<Active>> active_;
  int next_slot_id_ = 0;
  bool stopping_ = false;
  SchedulerStats stats_;
  std::vector<SlotInfo> slot_snapshot_;  // refreshed under the lock after every step
  void refresh_snapshot();  // with the lock held
  std::thread thread_;
};

}  // namespace kindred::server
