// Known formats, template selection for GGUF files, render speed, and the CLI.
#include "template/chat_template.h"

#include <gtest/gtest.h>
#include <sys/wait.h>

#include <chrono>
#include <fstream>
#include <sstream>

#include "gguf/gguf.h"
#include "test_data.h"

namespace kindred {
namespace {

ChatTemplateInputs conversation() {
  ChatTemplateInputs in;
  in.messages = nlohmann::ordered_json::parse(R"([
    {"role": "system", "content": "Be brief."},
    {"role": "user", "content": "Hi"},
    {"role": "assistant", "content": "Hello!"},
    {"role": "user", "content": "Bye"}])");
  in.bos_token = "<s>";
  in.eos_token = "</s>";
  return in;
}

TEST(KnownTemplates, EveryFormatRendersEveryTurnOnce) {
  ASSERT_EQ(known_chat_template_names().size(), 10u);
  for (const auto& name : known_chat_template_names()) {
    SCOPED_TRACE(name);
    const std::string out = known_chat_template(name).render(conversation());
    for (const char* text : {"Be brief.", "Hi", "Hello!", "Bye"}) {
      const size_t at = out.find(text);
      EXPECT_NE(at, std::string::npos) << out;
    }
    EXPECT_NE(out.find("Hello!"), std::string::npos);
    EXPECT_LT(out.find("Hi"), out.find("Bye"));
  }
}

TEST(KnownTemplates, ExactShapes) {
  ChatTemplateInputs in = conversation();
  EXPECT_EQ(known_chat_template("chatml").render(in),
            "<|im_start|>system\nBe brief.<|im_end|>\n<|im_start|>user\nHi<|im_end|>\n<|im_start|>assistant\n"
            "Hello!<|im_end|>\n<|im_start|>user\nBye<|im_end|>\n<|im_start|>assistant\n");
  EXPECT_EQ(known_chat_template("llama3").render(in),
            "<s><|start_header_id|>system<|end_header_id|>\n\nBe brief.<|eot_id|><|start_header_id|>user<|end_header_id|>"
            "\n\nHi<|eot_id|><|start_header_id|>assistant<|end_header_id|>\n\nHello!<|eot_id|><|start_header_id|>user"
            "<|end_header_id|>\n\nBye<|eot_id|><|start_header_id|>assistant<|end_header_id|>\n\n");
  EXPECT_EQ(known_chat_template("mistral").render(in), "<s>[INST] Be brief.\n\nHi[/INST]Hello!</s>[INST] Bye[/INST]");
  EXPECT_EQ(known_chat_template("llama2").render(in),
            "<s>[INST] <<SYS>>\nBe brief.\n<</SYS>>\n\nHi [/INST] Hello! </s><s>[INST] Bye [/INST]");
  EXPECT_EQ(known_chat_template("gemma").render(in),
            "<s><start_of_turn>user\nBe brief.\n\nHi<end_of_turn>\n<start_of_turn>model\nHello!<end_of_turn>\n"
            "<start_of_turn>user\nBye<end_of_turn>\n<start_of_turn>model\n");
  in.add_generation_prompt = false;
  EXPECT_EQ(known_chat_template("chatml").render(in).substr(0, 26), "<|im_start|>system\nBe brie");
  const std::string phi3 = known_chat_template("phi3").render(in);
  EXPECT_NE(phi3.find("<|assistant|>\nHello!<|end|>\n"), std::string::npos) << phi3;
  EXPECT_TRUE(phi3.ends_with("<|user|>\nBye<|end|>\n")) << phi3;
}

TEST(KnownTemplates, UnknownNameListsTheKnownOnes) {
  try {
    known_chat_template("nope");
    FAIL();
  } catch (const TemplateError& e) {
    EXPECT_NE(std::string(e.what()).find("chatml, llama2, llama3"), std::string::npos) << e.what();
  }
}

gguf::File gguf_with(const std::vector<std::string>& tokens, const std::string& chat_template = "") {
  gguf::Writer w;
  w.set("general.architecture", gguf::Value::string("llama"));
  if (!tokens.empty()) w.set("tokenizer.ggml.tokens", gguf::Value::string_array(tokens));
  if (!chat_template.empty()) w.set("tokenizer.chat_template", gguf::Value::string(chat_template));
  return gguf::File::from_bytes(w.to_bytes());
}

TEST(ChatTemplateFor, PrefersTheFilesTemplateThenGuessesFromTheVocabulary) {
  EXPECT_EQ(chat_template_for(gguf_with({"a"}, "{{ 'own' }}")).source(), "{{ 'own' }}");
  EXPECT_EQ(chat_template_for(gguf_with({"<s>", "<|im_start|>", "<|im_end|>"})).source(),
            known_chat_template("chatml").source());
  EXPECT_EQ(chat_template_for(gguf_with({"<|start_header_id|>", "<|eot_id|>"})).source(),
            known_chat_template("llama3").source());
  EXPECT_EQ(chat_template_for(gguf_with({"<bos>", "<start_of_turn>"})).source(), known_chat_template("gemma").source());
  EXPECT_EQ(chat_template_for(gguf_with({"<s>", "[INST]", "[/INST]"})).source(), known_chat_template("mistral").source());
  EXPECT_EQ(chat_template_for(gguf_with({"a", "b"})).source(), known_chat_template("chatml").source());
  EXPECT_EQ(chat_template_for(gguf_with({})).source(), known_chat_template("chatml").source());
}

TEST(Performance, HundredMessagesRenderWellUnderAMillisecond) {
  const ChatTemplate t = ChatTemplate::parse(
      "{%- set ns = namespace(system='') -%}{%- for m in messages -%}{%- if m['role'] == 'system' -%}"
      "{%- set ns.system = m['content'] | trim -%}{%- else -%}{{ '<|im_start|>' + m['role'] + '\\n' + m['content'] | trim + "
      "'<|im_end|>\\n' }}{%- endif -%}{%- endfor -%}{%- if add_generation_prompt %}<|im_start|>assistant\n{% endif -%}");
  ChatTemplateInputs in;
  for (int i = 0; i < 100; ++i) {
    in.messages.push_back({{"role", i % 2 ? "assistant" : "user"},
                           {"content", "Message number " + std::to_string(i) + " with a little text in it."}});
  }
  (void)t.render(in);
  const int reps = 200;
  const auto start = std::chrono::steady_clock::now();
  size_t bytes = 0;
  for (int r = 0; r < reps; ++r) bytes += t.render(in).size();
  const double us = std::chrono::duration<double, std::micro>(std::chrono::steady_clock::now() - start).count() / reps;
  EXPECT_GT(bytes, 0u);
  RecordProperty("render_us", std::to_string(us));
  std::printf("100-message render: %.1f us\n", us);
  EXPECT_LT(us, 2000.0);  // generous for slow shared CI machines; typically far below 1 ms
}

std::string quote(const std::string& s) {
  std::string q = "'";
  for (char c : s) q += c == '\'' ? std::string("'\\''") : std::string(1, c);
  return q + "'";
}

std::string slurp(const std::filesystem::path& p) {
  std::ifstream f(p, std::ios::binary);
  std::ostringstream s;
  s << f.rdbuf();
  return s.str();
}

TEST(Cli, TemplateRenderPrintsExactlyThePrompt) {
  if (!std::filesystem::exists(KINDRED_BINARY)) GTEST_SKIP() << "kindred binary not built";
  const auto dir = test::temp_dir();
  std::ofstream(dir / "t.jinja") << "{{ bos_token }}{% for m in messages %}[{{ m.role }}]{{ m.content }}{% endfor %}"
                                    "{% if tools %}{{ tools | tojson }}{% endif %}{% if add_generation_prompt %}[assistant]{% endif %}\n";
  std::ofstream(dir / "m.json") << R"([{"role": "user", "content": "héllo"}])";
  std::ofstream(dir / "tools.json") << R"([{"name": "f", "a": 1}])";
  const std::string cmd = quote(KINDRED_BINARY) + " template render -t " + quote((dir / "t.jinja").string()) +
                          " --messages " + quote((dir / "m.json").string()) + " --tools " +
                          quote((dir / "tools.json").string()) + " --add-generation-prompt --bos '<s>' > " +
                          quote((dir / "out").string()) + " 2> " + quote((dir / "err").string());
  const int status = std::system(cmd.c_str());
  ASSERT_TRUE(WIFEXITED(status));
  EXPECT_EQ(WEXITSTATUS(status), 0) << slurp(dir / "err");
  EXPECT_EQ(slurp(dir / "out"), "<s>[user]héllo[{\"name\": \"f\", \"a\": 1}][assistant]");

  // A GGUF model: its own template, and BOS/EOS from the vocabulary.
  gguf::Writer w;
  w.set("general.architecture", gguf::Value::string("llama"));
  w.set("tokenizer.ggml.tokens", gguf::Value::string_array({"<unk>", "<BOS>", "<EOS>"}));
  w.set("tokenizer.ggml.bos_token_id", gguf::Value::u32(1));
  w.set("tokenizer.ggml.eos_token_id", gguf::Value::u32(2));
  w.set("tokenizer.chat_template", gguf::Value::string("{{ bos_token }}{{ messages[0].content }}{{ eos_token }}"));
  w.write(dir / "m.gguf");
  const std::string from_gguf = quote(KINDRED_BINARY) + " template render -t " + quote((dir / "m.gguf").string()) +
                                " --messages " + quote((dir / "m.json").string()) + " > " + quote((dir / "out3").string());
  EXPECT_EQ(std::system(from_gguf.c_str()), 0);
  EXPECT_EQ(slurp(dir / "out3"), "<BOS>héllo<EOS>");

  std::ofstream(dir / "bad.jinja") << "{{ raise_exception('no system role') }}";
  const std::string bad = quote(KINDRED_BINARY) + " template render -t " + quote((dir / "bad.jinja").string()) +
                          " --messages " + quote((dir / "m.json").string()) + " > " + quote((dir / "out2").string()) +
                          " 2> " + quote((dir / "err2").string());
  const int bad_status = std::system(bad.c_str());
  ASSERT_TRUE(WIFEXITED(bad_status));
  EXPECT_EQ(WEXITSTATUS(bad_status), 1);
  EXPECT_EQ(slurp(dir / "out2"), "");
  const std::string err = slurp(dir / "err2");
  EXPECT_NE(err.find("no system role"), std::string::npos) << err;
  EXPECT_EQ(std::count(err.begin(), err.end(), '\n'), 1) << err;
}

}  // namespace
}  // namespace kindred
