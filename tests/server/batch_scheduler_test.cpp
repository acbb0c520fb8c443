// The continuous-batching scheduler against the plain one-sequence generate(): the same tokens
// whether a request runs alone or beside others, plus cancellation, slot reuse, eviction to disk
// and restore, grammars and the queue limit.
#include "server/batch_scheduler.h"

#include <gtest/gtest.h>
#include <unistd.h>

#include <filesystem>
#include <thread>

#include "engine/generate.h"
#include "gguf/gguf.h"
#include "model/tiny_model.h"

namespace kindred::server {
namespace {

struct World {
  std::shared_ptr<const gguf::File> file;
  std::unique_ptr<Model> model;
  std::unique_ptr<Tokenizer> tokenizer;
  std::filesystem::path dir;

  World() {
    test::TinyModelSpec spec;
    spec.arch = "qwen3";
    spec.weight_type = DType::F32;
    file = std::make_shared<const gguf::File>(gguf::File::from_bytes(test::make_tiny_model(spec)));
    model = Model::load(file);
    tokenizer = Tokenizer::from_gguf(*file);
    char tmpl[] = "/tmp/kindred-sched-XXXXXX";
    dir = ::mkdtemp(tmpl);
  }
  ~World() { std::filesystem::remove_all(dir); }

  std::vector<int32_t> prompt(const std::string& text) const { return tokenizer->encode(text, true, false); }

  // The reference: one Context, generate().
  GenerateResult alone(const std::vector<int32_t>& prompt, SamplerParams sp, int n) const {
    Context ctx(*model, {.n_ctx = 256, .n_threads = 1, .kv_type = DType::F32});
    Sampler sampler(sp, tokenizer->n_vocab());
    return generate(ctx, *tokenizer, sampler, prompt, {.n_predict = n, .ignore_eos = true});
  }

  SchedulerOptions options(int max_active = 8) const {
    SchedulerOptions o;
    o.n_ctx = 256;
    o.n_threads = 1;
    o.max_active = max_active;
    o.kv_type = DType::F32;
    o.state_dir = dir / "state";
    return o;
  }
};

GenerationRequest request(std::vector<int32_t> prompt, int n, uint64_t seed = 0, float temperature = 0.0f) {
  GenerationRequest r;
  r.prompt = std::move(prompt);
  r.sampling.temperature = temperature;
  r.sampling.seed = seed;
  r.params.n_predict = n;
  r.params.ignore_eos = true;
  return r;
}

TEST(BatchScheduler, OneRequestMatchesGenerate) {
  World w;
  BatchScheduler s(*w.model, *w.tokenizer, w.options());
  const auto prompt = w.prompt("Once upon a time");
  auto job = s.submit(request(prompt, 12));
  const GenerationOutcome& o = job->wait();
  ASSERT_FALSE(o.error) << *o.error;
  const GenerateResult ref = w.alone(prompt, {.temperature = 0.0f}, 12);
  EXPECT_EQ(o.result.tokens, ref.tokens);
  EXPECT_EQ(o.result.text, ref.text);
  EXPECT_EQ(o.result.reason, StopReason::Length);
  EXPECT_EQ(o.result.n_prompt, static_cast<int>(prompt.size()));
}

TEST(BatchScheduler, ConcurrentRequestsEachMatchTheirSoloRun) {
  World w;
  BatchScheduler s(*w.model, *w.tokenizer, w.options());
  const std::vector<std::string> texts = {"a", "the cat sat", "hello there, friend", "xyz", "once", "ab ab ab ab",
                                          "zzz top", "q"};
  std::vector<std::shared_ptr<Job>> jobs;
  for (size_t i = 0; i < texts.size(); ++i) {
    // Sampled (not greedy), each with its own seed: the draws must be those of the solo run.
    jobs.push_back(s.submit(request(w.prompt(texts[i]), 10 + static_cast<int>(i), 100 + i, 0.9f)));
  }
  for (size_t i = 0; i < texts.size(); ++i) {
    const GenerationOutcome& o = jobs[i]->wait();
    ASSERT_FALSE(o.error) << *o.error;
    SamplerParams sp;
    sp.temperature = 0.9f;
    sp.seed = 100 + i;
    const GenerateResult ref = w.alone(w.prompt(texts[i]), sp, 10 + static_cast<int>(i));
    EXPECT_EQ(o.result.tokens, ref.tokens) << "request " << i;
  }
  EXPECT_GT(s.stats().steps, 0u);
  EXPECT_LT(s.stats().steps, 40u) << "8 requests of <= 17 tokens decode together, not one after another";
}

TEST(BatchScheduler, CancelStopsAJobAtTheNextToken) {
  World w;
  BatchScheduler s(*w.model, *w.tokenizer, w.options());
  GenerationRequest r = request(w.prompt("tell me"), 100);
  int seen = 0;
  r.on_token = [&seen](const TokenEvent&) { return ++seen < 3; };
  auto job = s.submit(std::move(r));
  const GenerationOutcome& o = job->wait();
  EXPECT_EQ(o.result.reason, StopReason::Cancelled);
  EXPECT_EQ(o.result.tokens.size(), 3u);
  // The slot is free again: another request runs.
  auto next = s.submit(request(w.prompt("more"), 4));
  EXPECT_EQ(next->wait().result.tokens.size(), 4u);
}

TEST(BatchScheduler, KeyedSlotReusesItsPrefix) {
  World w;
  BatchScheduler s(*w.model, *w.tokenizer, w.options());
  GenerationRequest first = request(w.prompt("The first turn of a chat"), 6);
  first.slot_key = "session:1";
  const GenerationOutcome o1 = s.submit(first)->wait();
  std::vector<int32_t> second_prompt = first.prompt;
  second_prompt.insert(second_prompt.end(), o1.result.tokens.begin(), o1.result.tokens.end());
  const auto more = w.prompt(" and the second");
  second_prompt.insert(second_prompt.end(), more.begin() + 1, more.end());
  GenerationRequest second = request(second_prompt, 6);
  second.slot_key = "session:1";
  const GenerationOutcome o2 = s.submit(second)->wait();
  // Everything but the last sampled token (never evaluated) is reused.
  EXPECT_EQ(o2.result.n_reused, static_cast<int>(first.prompt.size() + o1.result.tokens.size() - 1));
  EXPECT_EQ(o2.result.tokens, w.alone(second_prompt, {.temperature = 0.0f}, 6).tokens);
}

TEST(BatchScheduler, EvictsIdleSessionsToDiskAndRestoresThem) {
  World w;
  SchedulerOptions o = w.options(2);
  o.kv_budget_bytes = 2 * KvCache::bytes_for(w.model->config(), o.n_ctx, o.kv_type);  // two resident contexts
  BatchScheduler s(*w.model, *w.tokenizer, o);
  std::vector<GenerationOutcome> firsts;
  std::vector<std::vector<int32_t>> prompts;
  for (int k = 0; k < 3; ++k) {
    GenerationRequest r = request(w.prompt("session number " + std::to_string(k) + " says hello"), 5);
    r.slot_key = "session:" + std::to_string(k);
    prompts.push_back(r.prompt);
    firsts.push_back(s.submit(std::move(r))->wait());
  }
  EXPECT_GE(s.stats().evicted, 1u);
  EXPECT_LE(s.stats().resident_slots, 2);
  // Session 0 was evicted (least recently used); it comes back from disk with its cache.
  std::vector<int32_t> again = prompts[0];
  again.insert(again.end(), firsts[0].result.tokens.begin(), firsts[0].result.tokens.end());
  GenerationRequest r = request(again, 5);
  r.slot_key = "session:0";
  const GenerationOutcome back = s.submit(std::move(r))->wait();
  EXPECT_GE(s.stats().restored, 1u);
  EXPECT_EQ(back.result.n_reused, static_cast<int>(again.size() - 1));
  EXPECT_EQ(back.result.tokens, w.alone(again, {.temperature = 0.0f}, 5).tokens);
}

TEST(BatchScheduler, GrammarConstrainsTheOutput) {
  World w;
  BatchScheduler s(*w.model, *w.tokenizer, w.options());
  GenerationRequest r = request(w.prompt("digits:"), 40);
  r.params.ignore_eos = false;
  r.grammar = Grammar::parse(R"(root ::= "<" [0-9]+ ">")");
  r.sampling.temperature = 1.0f;
  r.sampling.seed = 7;
  const GenerationOutcome o = s.submit(std::move(r))->wait();
  ASSERT_FALSE(o.error) << *o.error;
  ASSERT_GE(o.result.text.size(), 2u);
  EXPECT_EQ(o.result.text.front(), '<');
  for (size_t i = 1; i + 1 < o.result.text.size(); ++i) EXPECT_TRUE(std::isdigit(static_cast<unsigned char>(o.result.text[i]))) << o.result.text;
  if (o.result.reason == StopReason::EndOfGeneration) {
    EXPECT_EQ(o.result.text.back(), '>');
  }
}

TEST(BatchScheduler, RejectsWhatCannotRun) {
  World w;
  SchedulerOptions o = w.options(1);
  o.max_queue = 1;
  BatchScheduler s(*w.model, *w.tokenizer, o);
  try {
    s.submit(request(std::vector<int32_t>(300, 5), 1));
    FAIL() << "a prompt longer than the context was accepted";
  } catch (const SchedulerError& e) {
    EXPECT_EQ(e.status, 400);
  }
  EXPECT_THROW(s.submit(request({}, 1)), SchedulerError);
  // One running (long), one queued: the third is refused with 503.
  auto running = s.submit(request(w.prompt("a"), 200));
  while (s.stats().active == 0) std::this_thread::sleep_for(std::chrono::milliseconds(1));
  auto queued = s.submit(request(w.prompt("b"), 1));
  try {
    s.submit(request(w.prompt("c"), 1));
    FAIL() << "the queue limit was not enforced";
  } catch (const SchedulerError& e) {
    EXPECT_EQ(e.status, 503);
  }
  EXPECT_EQ(s.cancel_all(), 2);
  EXPECT_EQ(running->wait().result.reason, StopReason::Cancelled);
  EXPECT_EQ(queued->wait().result.reason, StopReason::Cancelled);
}

}  // namespace
}  // namespace kindred::server
