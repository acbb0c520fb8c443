// Tool calls: format detection on real templates, parsing of each format, and round trips
// through the real templates (a call rendered by the template is parsed back unchanged).
#include "template/tool_calls.h"

#include <gtest/gtest.h>

#include <fstream>
#include <map>
#include <sstream>

#include "template/chat_template.h"
#include "test_data.h"

namespace kindred {
namespace {

using J = nlohmann::ordered_json;

std::string read_text(const std::filesystem::path& p) {
  std::ifstream f(p, std::ios::binary);
  std::stringstream ss;
  ss << f.rdbuf();
  return ss.str();
}

void expect_call(const ToolCall& c, const std::string& id, const std::string& name, const std::string& args) {
  EXPECT_EQ(c.id, id);
  EXPECT_EQ(c.name, name);
  EXPECT_EQ(c.arguments_json, args);
}

TEST(ToolCallFormat, DetectedFromRealTemplates) {
  KINDRED_REQUIRE_SHARED_DATA(root);
  const std::map<std::string, ToolCallFormat> expected = {
      {"Qwen-Qwen2.5-7B-Instruct", ToolCallFormat::Hermes},
      {"Qwen-Qwen3-0.6B", ToolCallFormat::Hermes},
      {"Qwen-QwQ-32B", ToolCallFormat::Hermes},
      {"NousResearch-Hermes-2-Pro-Llama-3-8B-tool_use", ToolCallFormat::Hermes},
      {"NousResearch-Hermes-3-Llama-3.1-8B-tool_use", ToolCallFormat::Hermes},
      {"ibm-granite-granite-4.1", ToolCallFormat::Hermes},
      {"mistralai-Mistral-Nemo-Instruct-2407", ToolCallFormat::MistralNemo},
      {"mistralai-Ministral-3-14B-Reasoning-2512", ToolCallFormat::MistralNemo},
      {"unsloth-mistral-Devstral-Small-2507", ToolCallFormat::MistralNemo},
      {"meta-llama-Llama-3.1-8B-Instruct", ToolCallFormat::Llama3},
      {"meta-llama-Llama-3.2-3B-Instruct", ToolCallFormat::Llama3},
      {"meta-llama-Llama-3.3-70B-Instruct", ToolCallFormat::Llama3},
      {"meetkai-functionary-medium-v3.1", ToolCallFormat::FunctionaryOrGeneric},
      // XML-argument syntaxes and templates without tools.
      {"Qwen3.5-4B", ToolCallFormat::None},
      {"GLM-4.7-Flash", ToolCallFormat::None},
      {"MiniMax-M3", ToolCallFormat::None},
      {"unsloth-Apriel-1.5", ToolCallFormat::None},
      {"google-gemma-2-2b-it", ToolCallFormat::None},
      {"microsoft-Phi-3.5-mini-instruct", ToolCallFormat::None},
  };
  for (const auto& [name, format] : expected) {
    const std::string source = read_text(root / "chat-templates" / (name + ".jinja"));
    ASSERT_FALSE(source.empty()) << name;
    EXPECT_EQ(detect_tool_call_format(source), format) << name << ": " << tool_call_format_name(detect_tool_call_format(source));
  }
  EXPECT_EQ(detect_tool_call_format(""), ToolCallFormat::None);
  for (const auto& name : known_chat_template_names())
    EXPECT_EQ(detect_tool_call_format(known_chat_template(name).source()), ToolCallFormat::None) << name;
}

TEST(ToolCallParse, Hermes) {
  const ToolCallFormat f = ToolCallFormat::Hermes;
  ParsedReply r = parse_tool_calls("Just words, no <tool_call here.", f);
  EXPECT_EQ(r.content, "Just words, no <tool_call here.");
  EXPECT_TRUE(r.tool_calls.empty());

  r = parse_tool_calls("Let me look.\n<tool_call>\n{\"name\": \"get_weather\", \"arguments\": {\"city\": \"Paris\", \"days\": 2}}\n</tool_call>", f);
  EXPECT_EQ(r.content, "Let me look.");
  ASSERT_EQ(r.tool_calls.size(), 1u);
  expect_call(r.tool_calls[0], "call_0", "get_weather", R"({"city":"Paris","days":2})");

  r = parse_tool_calls("Two things.\n<tool_call>\n{\"name\": \"a\", \"arguments\": {\"z\": 1, \"y\": [true, null]}}\n</tool_call>\n"
                       "<tool_call>\n{\"name\": \"b\", \"arguments\": \"{\\\"q\\\": \\\"x\\\"}\"}\n</tool_call>\nDone.", f, 5);
  EXPECT_EQ(r.content, "Two things.\n\nDone.");
  ASSERT_EQ(r.tool_calls.size(), 2u);
  expect_call(r.tool_calls[0], "call_5", "a", R"({"z":1,"y":[true,null]})");  // key order kept
  expect_call(r.tool_calls[1], "call_6", "b", R"({"q":"x"})");                // arguments given as a string

  // Malformed JSON stays in content; a good call after it is still found.
  r = parse_tool_calls("<tool_call>\n{\"name\": \"a\", \"arguments\": {\"x\": }\n</tool_call>\n<tool_call>{\"name\":\"b\"}</tool_call>", f);
  EXPECT_EQ(r.content, "<tool_call>\n{\"name\": \"a\", \"arguments\": {\"x\": }\n</tool_call>");
  ASSERT_EQ(r.tool_calls.size(), 1u);
  expect_call(r.tool_calls[0], "call_0", "b", "{}");
  // JSON that is not a call, and arguments that are no object.
  r = parse_tool_calls("<tool_call>[1, 2]</tool_call> <tool_call>{\"name\": \"c\", \"arguments\": \"oops\"}</tool_call>", f);
  EXPECT_TRUE(r.tool_calls.empty());
  EXPECT_EQ(r.content, "<tool_call>[1, 2]</tool_call> <tool_call>{\"name\": \"c\", \"arguments\": \"oops\"}</tool_call>");

  // Unicode arguments, escaped or not, come back as UTF-8; a missing closing tag at the end is fine.
  r = parse_tool_calls("<tool_call>\n{\"name\": \"say\", \"arguments\": {\"text\": \"h\\u00e9llo \xe6\x97\xa5\xe6\x9c\xac \xf0\x9f\x98\x80\", \"q\": \"a\\\"b\"}}", f);
  EXPECT_EQ(r.content, "");
  ASSERT_EQ(r.tool_calls.size(), 1u);
  EXPECT_EQ(r.tool_calls[0].arguments_json, "{\"text\":\"h\xc3\xa9llo \xe6\x97\xa5\xe6\x9c\xac \xf0\x9f\x98\x80\",\"q\":\"a\\\"b\"}");
  // Invalid UTF-8 inside the JSON: not a call, and no exception.
  r = parse_tool_calls("<tool_call>{\"name\": \"x\", \"arguments\": {\"t\": \"\xff\"}}</tool_call>", f);
  EXPECT_TRUE(r.tool_calls.empty());
  // Several calls as an array in one block.
  r = parse_tool_calls("<tool_call>[{\"name\":\"a\",\"arguments\":{}},{\"name\":\"b\",\"arguments\":{\"k\":1}}]</tool_call>", f);
  ASSERT_EQ(r.tool_calls.size(), 2u);
  expect_call(r.tool_calls[1], "call_1", "b", R"({"k":1})");
}

TEST(ToolCallParse, MistralNemo) {
  const ToolCallFormat f = ToolCallFormat::MistralNemo;
  ParsedReply r = parse_tool_calls("No calls [here].", f);
  EXPECT_EQ(r.content, "No calls [here].");
  EXPECT_TRUE(r.tool_calls.empty());

  r = parse_tool_calls("Checking. [TOOL_CALLS][{\"name\": \"get_weather\", \"arguments\": {\"city\": \"Z\xc3\xbcrich\"}, \"id\": \"abcDEF123\"}]", f);
  EXPECT_EQ(r.content, "Checking.");
  ASSERT_EQ(r.tool_calls.size(), 1u);
  expect_call(r.tool_calls[0], "call_0", "get_weather", "{\"city\":\"Z\xc3\xbcrich\"}");

  r = parse_tool_calls("[TOOL_CALLS][{\"name\": \"a\", \"arguments\": \"{\\\"n\\\": 1}\"}, {\"name\": \"b\", \"arguments\": {}}] after", f);
  EXPECT_EQ(r.content, "after");
  ASSERT_EQ(r.tool_calls.size(), 2u);
  expect_call(r.tool_calls[0], "call_0", "a", R"({"n":1})");
  expect_call(r.tool_calls[1], "call_1", "b", "{}");

  // Ministral 3 / Devstral: [TOOL_CALLS]name[ARGS]{...}, one marker per call.
  r = parse_tool_calls("Sure.[TOOL_CALLS]search[ARGS]{\"q\": \"cats\"}[TOOL_CALLS]open[ARGS]{\"url\": \"x\"}", f);
  EXPECT_EQ(r.content, "Sure.");
  ASSERT_EQ(r.tool_calls.size(), 2u);
  expect_call(r.tool_calls[0], "call_0", "search", R"({"q":"cats"})");
  expect_call(r.tool_calls[1], "call_1", "open", R"({"url":"x"})");

  r = parse_tool_calls("[TOOL_CALLS][{\"name\": \"a\", \"arguments\": {\"x\": 1}", f);  // cut off
  EXPECT_TRUE(r.tool_calls.empty());
  EXPECT_EQ(r.content, "[TOOL_CALLS][{\"name\": \"a\", \"arguments\": {\"x\": 1}");
  r = parse_tool_calls("[TOOL_CALLS]bad name[ARGS]{}", f);
  EXPECT_TRUE(r.tool_calls.empty());
  EXPECT_EQ(r.content, "[TOOL_CALLS]bad name[ARGS]{}");
}

TEST(ToolCallParse, Llama3) {
  const ToolCallFormat f = ToolCallFormat::Llama3;
  ParsedReply r = parse_tool_calls("The answer is {not json} and {\"name\": \"x\"}.", f);
  EXPECT_TRUE(r.tool_calls.empty());
  EXPECT_EQ(r.content, "The answer is {not json} and {\"name\": \"x\"}.");

  r = parse_tool_calls("{\"name\": \"get_time\", \"parameters\": {\"tz\": \"UTC\"}}", f);
  EXPECT_EQ(r.content, "");
  ASSERT_EQ(r.tool_calls.size(), 1u);
  expect_call(r.tool_calls[0], "call_0", "get_time", R"({"tz":"UTC"})");

  r = parse_tool_calls("Calling both. {\"type\": \"function\", \"name\": \"a\", \"parameters\": {}}; "
                       "{\"name\": \"b\", \"parameters\": {\"s\": \"\xd0\xbf\xd1\x80\xd0\xb8\xd0\xb2\xd0\xb5\xd1\x82\"}} Then more.", f);
  EXPECT_EQ(r.content, "Calling both.  Then more.");
  ASSERT_EQ(r.tool_calls.size(), 2u);
  expect_call(r.tool_calls[1], "call_1", "b", "{\"s\":\"\xd0\xbf\xd1\x80\xd0\xb8\xd0\xb2\xd0\xb5\xd1\x82\"}");

  // A JSON object that is not a call is data: calls nested in it are not taken.
  r = parse_tool_calls(R"({"result": {"name": "a", "parameters": {}}})", f);
  EXPECT_TRUE(r.tool_calls.empty());

  r = parse_tool_calls("<|python_tag|>{\"name\": \"lookup\", \"parameters\": {\"id\": 7}}", f);
  ASSERT_EQ(r.tool_calls.size(), 1u);
  expect_call(r.tool_calls[0], "call_0", "lookup", R"({"id":7})");
  r = parse_tool_calls("Searching.<|python_tag|>brave_search.call(query=\"llama \\\"3\\\"\", count=3, safe=True)", f);
  EXPECT_EQ(r.content, "Searching.");
  ASSERT_EQ(r.tool_calls.size(), 1u);
  expect_call(r.tool_calls[0], "call_0", "brave_search", R"({"query":"llama \"3\"","count":3,"safe":true})");
  r = parse_tool_calls("<|python_tag|>print(1 + 1)", f);
  EXPECT_TRUE(r.tool_calls.empty());
  EXPECT_EQ(r.content, "<|python_tag|>print(1 + 1)");
  r = parse_tool_calls("{\"name\": \"a\", \"parameters\": {\"x\": }}", f);
  EXPECT_TRUE(r.tool_calls.empty());
  EXPECT_EQ(r.content, "{\"name\": \"a\", \"parameters\": {\"x\": }}");
}

TEST(ToolCallParse, FunctionaryOrGeneric) {
  const ToolCallFormat f = ToolCallFormat::FunctionaryOrGeneric;
  ParsedReply r = parse_tool_calls("Nothing to call.", f);
  EXPECT_EQ(r.content, "Nothing to call.");
  EXPECT_TRUE(r.tool_calls.empty());

  r = parse_tool_calls("Let me check.<function=get_weather>{\"city\": \"K\xc3\xb8" "benhavn\"}</function>", f);
  EXPECT_EQ(r.content, "Let me check.");
  ASSERT_EQ(r.tool_calls.size(), 1u);
  expect_call(r.tool_calls[0], "call_0", "get_weather", "{\"city\":\"K\xc3\xb8" "benhavn\"}");

  r = parse_tool_calls("A {\"name\": \"one\", \"arguments\": {\"a\": 1}}\n{\"name\": \"two\", \"arguments\": {}} B", f);
  EXPECT_EQ(r.content, "A  B");
  ASSERT_EQ(r.tool_calls.size(), 2u);
  expect_call(r.tool_calls[0], "call_0", "one", R"({"a":1})");
  expect_call(r.tool_calls[1], "call_1", "two", "{}");

  r = parse_tool_calls("<function=broken>{\"a\": </function> tail", f);
  EXPECT_TRUE(r.tool_calls.empty());
  EXPECT_EQ(r.content, "<function=broken>{\"a\": </function> tail");
  // Ordinary JSON with a "name" but other keys is not a call.
  r = parse_tool_calls(R"({"name": "Ada", "arguments": {}, "age": 36})", f);
  EXPECT_TRUE(r.tool_calls.empty());
}

TEST(ToolCallParse, NoneKeepsEverything) {
  const std::string text = "<tool_call>{\"name\": \"a\", \"arguments\": {}}</tool_call>";
  const ParsedReply r = parse_tool_calls(text, ToolCallFormat::None);
  EXPECT_EQ(r.content, text);
  EXPECT_TRUE(r.tool_calls.empty());
}

// The assistant turn a template renders for a tool call parses back to the same call.
struct RoundTrip {
  const char* file;
  const char* reply_marker;  // the text after which the assistant's reply starts (last occurrence)
  bool arguments_as_string;
};

TEST(ToolCallParse, RoundTripThroughRealTemplates) {
  KINDRED_REQUIRE_SHARED_DATA(root);
  const RoundTrip cases[] = {
      {"Qwen-Qwen2.5-7B-Instruct", "<|im_start|>assistant\n", false},
      {"NousResearch-Hermes-3-Llama-3.1-8B-tool_use", "<|im_start|>assistant\n", false},
      {"mistralai-Mistral-Nemo-Instruct-2407", "[/INST]", true},
      {"mistralai-Ministral-3-14B-Reasoning-2512", "[/INST]", false},
      {"meta-llama-Llama-3.2-3B-Instruct", "<|start_header_id|>assistant<|end_header_id|>\n\n", false},
      {"meetkai-functionary-medium-v3.1", "<|start_header_id|>assistant<|end_header_id|>\n\n", true},
  };
  for (const RoundTrip& c : cases) {
    SCOPED_TRACE(c.file);
    const std::string source = read_text(root / "chat-templates" / (std::string(c.file) + ".jinja"));
    const ChatTemplate t = ChatTemplate::parse(source);
    const J args = J::parse("{\"city\": \"S\xc3\xa3o Paulo\", \"days\": 3}");
    ChatTemplateInputs in;
    in.tools = J::parse(R"([{"type":"function","function":{"name":"get_weather","description":"Weather by city",
        "parameters":{"type":"object","properties":{"city":{"type":"string"},"days":{"type":"integer"}},"required":["city"]}}}])");
    in.messages = J::array({J{{"role", "user"}, {"content", "Weather?"}},
                            J{{"role", "assistant"},
                              {"content", ""},
                              {"tool_calls", J::array({J{{"id", "abcDEF123"},
                                                          {"type", "function"},
                                                          {"function", J{{"name", "get_weather"},
                                                                         {"arguments", c.arguments_as_string ? J(args.dump()) : args}}}}})}}});
    in.add_generation_prompt = false;
    in.bos_token = "<s>";
    in.eos_token = "</s>";
    const std::string prompt = t.render(in);
    const size_t at = prompt.rfind(c.reply_marker);
    ASSERT_NE(at, std::string::npos) << prompt;
    std::string reply = prompt.substr(at + std::string(c.reply_marker).size());
    for (const char* end : {"<|im_end|>", "</s>", "<|eom_id|>", "<|eot_id|>"})
      if (const size_t e = reply.find(end); e != std::string::npos) reply.resize(e);
    const ParsedReply r = parse_tool_calls(reply, detect_tool_call_format(source));
    EXPECT_EQ(r.content, "") << reply;
    ASSERT_EQ(r.tool_calls.size(), 1u) << reply;
    expect_call(r.tool_calls[0], "call_0", "get_weather", "{\"city\":\"S\xc3\xa3o Paulo\",\"days\":3}");
  }
}

TEST(ToolCallRender, QwenTemplateRendersTools) {
  KINDRED_REQUIRE_SHARED_DATA(root);
  const ChatTemplate t = ChatTemplate::parse(read_text(root / "chat-templates" / "Qwen-Qwen2.5-7B-Instruct.jinja"));
  ChatTemplateInputs in;
  in.messages = J::parse(R"([{"role":"user","content":"Weather in Oslo?"}])");
  in.tools = J::parse(R"([{"type":"function","function":{"name":"get_weather","description":"Current weather",
      "parameters":{"type":"object","properties":{"city":{"type":"string"}},"required":["city"]}}}])");
  const std::string with_tools = t.render(in);
  EXPECT_NE(with_tools.find("<tools>\n{\"type\": \"function\", \"function\": {\"name\": \"get_weather\""), std::string::npos)
      << with_tools;
  EXPECT_NE(with_tools.find("<tool_call>"), std::string::npos);
  in.tools = nullptr;
  const std::string without = t.render(in);
  EXPECT_EQ(without.find("<tools>"), std::string::npos) << without;
  EXPECT_EQ(without.find("get_weather"), std::string::npos);
}

}  // namespace
}  // namespace kindred
