// Conformance with Hugging Face / llama.cpp over the shared vocab fixtures
// (data/vocab/ggml-vocab-X.gguf with .inp/.out in llama.cpp's test-tokenizer-0 format, and the
// .stress.inp/.out cases, which parse special-token text). One test per .inp file present; a
// .inp without its .gguf is skipped, naming it.
#include <gtest/gtest.h>

#include <chrono>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <sstream>

#include "test_data.h"
#include "tokenizer/tokenizer.h"

namespace kindred {
namespace {

namespace fs = std::filesystem;

struct VocabCase {
  std::string vocab;    // "qwen2"
  bool stress = false;  // the .stress.inp/.out pair (parse_special = true)
};

std::string case_label(const VocabCase& c) { return c.stress ? c.vocab + " stress" : c.vocab; }

// Every .inp under data/vocab, found when the tests are registered.
std::vector<VocabCase> discover_cases() {
  std::vector<VocabCase> cases;
  const fs::path root = test::shared_data_dir();
  std::error_code ec;
  if (!root.empty() && fs::is_directory(root / "vocab", ec)) {
    for (const auto& entry : fs::directory_iterator(root / "vocab", ec)) {
      std::string name = entry.path().filename().string();
      const std::string prefix = "ggml-vocab-";
      for (const auto& [suffix, stress] :
           {std::pair{std::string(".gguf.stress.inp"), true}, std::pair{std::string(".gguf.inp"), false}}) {
        if (name.starts_with(prefix) && name.ends_with(suffix)) {
          cases.push_back({name.substr(prefix.size(), name.size() - prefix.size() - suffix.size()), stress});
          break;
        }
      }
    }
  }
  std::sort(cases.begin(), cases.end(),
            [](const VocabCase& a, const VocabCase& b) { return case_label(a) < case_label(b); });
  if (cases.empty()) cases.push_back({"none"});  // keeps the suite instantiated; it skips
  return cases;
}

std::string read_file(const fs::path& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) throw std::runtime_error("cannot read " + path.string());
  std::ostringstream s;
  s << in.rdbuf();
  return s.str();
}

// Inputs are each followed by "\n__ggml_vocab_test__\n".
std::vector<std::string> split_inputs(const std::string& text) {
  static const std::string kSeparator = "\n__ggml_vocab_test__\n";
  std::vector<std::string> inputs;
  size_t pos = 0;
  while (pos < text.size()) {
    const size_t at = text.find(kSeparator, pos);
    if (at == std::string::npos) throw std::runtime_error("input does not end with the separator");
    inputs.push_back(text.substr(pos, at - pos));
    pos = at + kSeparator.size();
  }
  return inputs;
}

std::vector<std::vector<int32_t>> parse_outputs(const std::string& text) {
  std::vector<std::vector<int32_t>> outputs;
  std::istringstream lines(text);
  std::string line;
  while (std::getline(lines, line)) {
    std::istringstream ids(line);
    std::vector<int32_t> row;
    for (int32_t id; ids >> id;) row.push_back(id);
    outputs.push_back(std::move(row));
  }
  return outputs;
}

std::string escaped(std::string_view s) {
  std::string out;
  for (unsigned char c : s) {
    if (c == '\n') {
      out += "\\n";
    } else if (c == '\r') {
      out += "\\r";
    } else if (c == '\t') {
      out += "\\t";
    } else {
      out += static_cast<char>(c);
    }
  }
  return out;
}

std::string ids_text(const std::vector<int32_t>& ids, const Tokenizer& tok) {
  std::string out;
  for (int32_t id : ids) {
    out += std::to_string(id);
    if (id >= 0 && id < tok.n_vocab()) out.append("'").append(escaped(tok.token_text(id))).append("'");
    out += ' ';
  }
  return out;
}

class VocabConformance : public ::testing::TestWithParam<VocabCase> {};

TEST_P(VocabConformance, MatchesReferenceIds) {
  KINDRED_REQUIRE_SHARED_DATA(data);
  const VocabCase& c = GetParam();
  if (c.vocab == "none") GTEST_SKIP() << "no vocab fixtures in " << (data / "vocab");
  const fs::path dir = data / "vocab";
  const fs::path gguf_path = dir / ("ggml-vocab-" + c.vocab + ".gguf");
  const std::string stem = gguf_path.string() + (c.stress ? ".stress" : "");
  if (!fs::exists(gguf_path))
    GTEST_SKIP() << "no " << gguf_path.filename() << ": cannot test " << case_label(c);

  const gguf::File file = gguf::File::open(gguf_path);
  const auto start = std::chrono::steady_clock::now();
  const auto tok = Tokenizer::from_gguf(file);
  const double load_ms =
      std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - start).count();

  const std::vector<std::string> inputs = split_inputs(read_file(stem + ".inp"));
  const std::vector<std::vector<int32_t>> expected = parse_outputs(read_file(stem + ".out"));
  ASSERT_EQ(inputs.size(), expected.size()) << stem << ": .inp and .out disagree on the number of cases";

  size_t passed = 0;
  std::string first_failure;
  const auto encode_start = std::chrono::steady_clock::now();
  for (size_t i = 0; i < inputs.size(); ++i) {
    const std::vector<int32_t> got =
        tok->encode(inputs[i], /*add_special=*/false, /*parse_special=*/c.stress);
    if (got == expected[i]) {
      ++passed;
    } else if (first_failure.empty()) {
      first_failure.append("case ").append(std::to_string(i)).append(" \"").append(escaped(inputs[i]));
      first_failure.append("\"\n  expected: ").append(ids_text(expected[i], *tok));
      first_failure.append("\n  got:      ").append(ids_text(got, *tok));
    }
  }
  const double encode_ms =
      std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - encode_start).count();
  std::cout << "[ vocab    ] " << case_label(c) << ": " << passed << "/" << inputs.size() << " passed (load "
            << load_ms << " ms, encode " << encode_ms << " ms)\n";
  EXPECT_EQ(passed, inputs.size()) << case_label(c) << ": first mismatch: " << first_failure;
}

std::string param_name(const ::testing::TestParamInfo<VocabCase>& info) {
  std::string name = info.param.vocab;
  if (info.param.stress) name.append("_stress");
  for (char& ch : name) {
    if (!std::isalnum(static_cast<unsigned char>(ch))) ch = '_';
  }
  return name;
}

INSTANTIATE_TEST_SUITE_P(SharedFixtures, VocabConformance, ::testing::ValuesIn(discover_cases()), param_name);

}  // namespace
}  // namespace kindred
