// The family table: tokenizer.ggml.pre name -> pre-tokenizer recipe, plus the small
// family-specific scanners. Regexes are those of each family's Hugging Face tokenizer.json
// (as also listed in llama.cpp's llama-vocab.cpp); the scanners implement them by hand.
#include <array>

#include "tokenizer/pretokenizer.h"
#include "tokenizer/scanner.h"

namespace kindred::tok {
namespace {

// ---- scanners for single character classes -------------------------------------------------

template <bool (*In)(char32_t, uint16_t)>
size_t match_run(const UnitText& t, size_t pos, size_t end) {
  return run_while(t, pos, end, In) - pos;
}

template <bool (*In)(char32_t, uint16_t)>
size_t match_one(const UnitText& t, size_t pos, size_t) {
  return In(t.chars[pos], t.flags[pos]) ? 1 : 0;
}

// \s?CLASS+ : the optional whitespace is greedy, so try with it first.
template <bool (*In)(char32_t, uint16_t)>
size_t match_space_then_run(const UnitText& t, size_t pos, size_t end) {
  if ((t.flags[pos] & kWhitespace) && pos + 1 < end && In(t.chars[pos + 1], t.flags[pos + 1])) {
    return run_while(t, pos + 1, end, In) - pos;
  }
  return run_while(t, pos, end, In) - pos;
}

bool is_newline(char32_t, uint16_t f) { return f & kNewline; }
bool is_number_class(char32_t, uint16_t f) { return f & kNumber; }
bool is_letter_class(char32_t, uint16_t f) { return f & kLetter; }
bool is_punct_class(char32_t, uint16_t f) { return f & kPunctuation; }

// HF Punctuation: ASCII punctuation or \p{P}. llama.cpp's "default" recipe leaves out '`'.
bool is_hf_punctuation(char32_t c, uint16_t f) {
  return (f & kPunctuation) || c == '$' || c == '+' || c == '<' || c == '=' || c == '>' || c == '^' ||
         c == '~' || c == '|' || c == '`';
}
bool is_default_punctuation(char32_t c, uint16_t f) { return c != '`' && is_hf_punctuation(c, f); }

// DeepSeek LLM's explicit cased-letter class.
constexpr CodepointRange kDeepseekLetters[] = {
    {0x41, 0x5A},       {0x61, 0x7A},       {0xB5, 0xB5},       {0xC0, 0xD6},       {0xD8, 0xF6},
    {0xF8, 0x1BA},      {0x1BC, 0x1BF},     {0x1C4, 0x293},     {0x295, 0x2AF},     {0x370, 0x373},
    {0x376, 0x377},     {0x37B, 0x37D},     {0x37F, 0x37F},     {0x386, 0x386},     {0x388, 0x38A},
    {0x38C, 0x38C},     {0x38E, 0x3A1},     {0x3A3, 0x3F5},     {0x3F7, 0x481},     {0x48A, 0x52F},
    {0x531, 0x556},     {0x10A0, 0x10C5},   {0x13A0, 0x13F5},   {0x13F8, 0x13FD},   {0x1C90, 0x1CBA},
    {0x1CBD, 0x1CBF},   {0x1D00, 0x1D2B},   {0x1D6B, 0x1D77},   {0x1D79, 0x1D9A},   {0x1E00, 0x1F15},
    {0x1F18, 0x1F1D},   {0x1F20, 0x1F45},   {0x1F48, 0x1F4D},   {0x1F50, 0x1F57},   {0x1F59, 0x1F59},
    {0x1F5B, 0x1F5B},   {0x1F5D, 0x1F5D},   {0x1F5F, 0x1F7D},   {0x1F80, 0x1FB4},   {0x1FB6, 0x1FBC},
    {0x1FBE, 0x1FBE},   {0x1FC2, 0x1FC4},   {0x1FC6, 0x1FCC},   {0x1FD0, 0x1FD3},   {0x1FD6, 0x1FDB},
    {0x1FE0, 0x1FEC},   {0x1FF2, 0x1FF4},   {0x1FF6, 0x1FFC},   {0x2102, 0x2102},   {0x2107, 0x2107},
    {0x210A, 0x2113},   {0x2115, 0x2115},   {0x2119, 0x211D},   {0x2124, 0x2124},   {0x2126, 0x2126},
    {0x2128, 0x2128},   {0x212A, 0x212D},   {0x212F, 0x2134},   {0x2139, 0x2139},   {0x213C, 0x213F},
    {0x2145, 0x2149},   {0x214E, 0x214E},   {0x2183, 0x2184},   {0x2C00, 0x2C7B},   {0x2C7E, 0x2CE4},
    {0x2CEB, 0x2CEE},   {0x2CF2, 0x2CF3},   {0xA640, 0xA66D},   {0xA680, 0xA69B},   {0xA722, 0xA76F},
    {0xA771, 0xA787},   {0xA78B, 0xA78E},   {0xAB70, 0xABBF},   {0xFB00, 0xFB06},   {0xFB13, 0xFB17},
    {0xFF21, 0xFF3A},   {0xFF41, 0xFF5A},   {0x10400, 0x1044F}, {0x104B0, 0x104D3}, {0x104D8, 0x104FB},
    {0x10C80, 0x10CB2}, {0x10CC0, 0x10CF2}, {0x118A0, 0x118DF}, {0x1E900, 0x1E943},
};
static_assert(sorted_and_disjoint(kDeepseekLetters));
bool is_deepseek_letter(char32_t c, uint16_t) { return in_sorted_ranges(kDeepseekLetters, c); }

// [!-/:-~！-／：-～‘-‟　-。]
constexpr CodepointRange kDeepseekPunctuation[] = {
    {0x21, 0x2F}, {0x3A, 0x7E}, {0xFF01, 0xFF0F}, {0xFF1A, 0xFF5E}, {0x2018, 0x201F}, {0x3000, 0x3002},
};
bool is_deepseek_punctuation(char32_t c, uint16_t) { return in_ranges(kDeepseekPunctuation, c); }

// [一-龥ࠀ-一가-퟿]: CJK ideographs, U+0800..U+4E00 and Hangul.
constexpr CodepointRange kDeepseekCjk[] = {{0x4E00, 0x9FA5}, {0x0800, 0x4E00}, {0xAC00, 0xD7FF}};
bool is_deepseek_cjk(char32_t c, uint16_t) { return in_ranges(kDeepseekCjk, c); }

// [一-龥぀-ゟ゠-ヿ]: CJK ideographs and kana (DeepSeek V3).
constexpr CodepointRange kDeepseek3Cjk[] = {{0x4E00, 0x9FA5}, {0x3040, 0x309F}, {0x30A0, 0x30FF}};
bool is_deepseek3_cjk(char32_t c, uint16_t) { return in_ranges(kDeepseek3Cjk, c); }

// \s+$ : the trailing whitespace of the piece.
void split_trailing_whitespace(const UnitText& t, UnitRange piece, std::vector<UnitRange>& out) {
  uint32_t start = piece.end;
  while (start > piece.begin && (t.flags[start - 1] & kWhitespace)) --start;
  if (start > piece.begin) out.push_back({piece.begin, start});
  if (start < piece.end) out.push_back({start, piece.end});
}

// [0-9][0-9][0-9]
size_t match_three_ascii_digits(const UnitText& t, size_t pos, size_t end) {
  if (pos + 3 > end) return 0;
  for (size_t i = pos; i < pos + 3; ++i) {
    if (t.chars[i] < '0' || t.chars[i] > '9') return 0;
  }
  return 3;
}

// \p{N}{1,3}
size_t match_up_to_three_numbers(const UnitText& t, size_t pos, size_t end) {
  return std::min<size_t>(run_of(t, pos, end, kNumber) - pos, 3);
}

// DeepSeek V3's word regex:
//   [!"#$%&'()*+,\-./:;<=>?@\[\\\]^_`{|}~][A-Za-z]+|[^\r\n\p{L}\p{P}\p{S}]?[\p{L}\p{M}]+
//   | ?[\p{P}\p{S}]+[\r\n]*|\s*[\r\n]+|\s+(?!\S)|\s+
size_t match_deepseek3(const UnitText& t, size_t pos, size_t end) {
  const auto ascii_letter = [](char32_t c, uint16_t) {
    return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z');
  };
  const auto letter_or_mark = [](char32_t, uint16_t f) { return (f & (kLetter | kMark)) != 0; };
  const auto punct_or_symbol = [](char32_t, uint16_t f) { return (f & (kPunctuation | kSymbol)) != 0; };
  const char32_t c = t.chars[pos];
  const uint16_t f = t.flags[pos];
  const bool ascii_punct = c < 0x80 && (f & (kPunctuation | kSymbol));
  if (ascii_punct && pos + 1 < end && ascii_letter(t.chars[pos + 1], 0)) {
    return run_while(t, pos + 1, end, ascii_letter) - pos;
  }
  if (!(f & (kNewline | kLetter | kPunctuation | kSymbol)) && pos + 1 < end &&
      letter_or_mark(t.chars[pos + 1], t.flags[pos + 1])) {
    return run_while(t, pos + 1, end, letter_or_mark) - pos;
  }
  if (letter_or_mark(c, f)) return run_while(t, pos, end, letter_or_mark) - pos;
  const size_t q = pos + (c == ' ' && pos + 1 < end ? 1 : 0);
  if (punct_or_symbol(t.chars[q], t.flags[q])) {
    return run_of(t, run_while(t, q, end, punct_or_symbol), end, kNewline) - pos;
  }
  if (f & kWhitespace) return match_whitespace(t, pos, end, true);
  return 0;
}

// BLOOM / Poro: ` ?[^(\s|.,!?…。，、।۔،)]+`
bool is_bloom_word_char(char32_t c, uint16_t f) {
  if (f & kWhitespace) return false;
  switch (c) {
    case '(':
    case '|':
    case '.':
    case ',':
    case '!':
    case '?':
    case ')':
    case 0x2026:
    case 0x3002:
    case 0xFF0C:
    case 0x3001:
    case 0x0964:
    case 0x06D4:
    case 0x060C:
      return false;
    default:
      return true;
  }
}
size_t match_bloom(const UnitText& t, size_t pos, size_t end) {
  if (t.chars[pos] == ' ' && pos + 1 < end && is_bloom_word_char(t.chars[pos + 1], t.flags[pos + 1])) {
    return run_while(t, pos + 1, end, is_bloom_word_char) - pos;
  }
  return run_while(t, pos, end, is_bloom_word_char) - pos;
}

// Chameleon: <sentinel:[0-9]+>
size_t match_chameleon_sentinel(const UnitText& t, size_t pos, size_t end) {
  constexpr std::u32string_view kHead = U"<sentinel:";
  if (end - pos < kHead.size() + 2) return 0;
  for (size_t i = 0; i < kHead.size(); ++i) {
    if (t.chars[pos + i] != kHead[i]) return 0;
  }
  size_t i = pos + kHead.size();
  const size_t digits_start = i;
  while (i < end && t.chars[i] >= '0' && t.chars[i] <= '9') ++i;
  if (i == digits_start || i >= end || t.chars[i] != '>') return 0;
  return i + 1 - pos;
}

// Chameleon: (IMGIMG)((A|B|C|D|E|F|G|H|I){1,4})Z
size_t match_chameleon_image(const UnitText& t, size_t pos, size_t end) {
  constexpr std::u32string_view kHead = U"IMGIMG";
  if (end - pos < kHead.size() + 2) return 0;
  for (size_t i = 0; i < kHead.size(); ++i) {
    if (t.chars[pos + i] != kHead[i]) return 0;
  }
  size_t i = pos + kHead.size();
  const size_t letters_start = i;
  while (i < end && i - letters_start < 4 && t.chars[i] >= 'A' && t.chars[i] <= 'I') ++i;
  if (i == letters_start || i >= end || t.chars[i] != 'Z') return 0;
  return i + 1 - pos;
}

// Chameleon: ([\t\n]|    |  )
size_t match_chameleon_spacing(const UnitText& t, size_t pos, size_t end) {
  if (t.chars[pos] == '\t' || t.chars[pos] == '\n') return 1;
  const size_t spaces =
      run_while(t, pos, std::min(end, pos + 4), [](char32_t c, uint16_t) { return c == ' '; }) - pos;
  if (spaces == 4) return 4;
  return spaces >= 2 ? 2 : 0;
}

// Chameleon: [\p{P}!-/:-@\[-`{-~]
bool is_chameleon_punctuation(char32_t c, uint16_t f) {
  return (f & kPunctuation) || (c >= '!' && c <= '/') || (c >= ':' && c <= '@') || (c >= '[' && c <= '`') ||
         (c >= '{' && c <= '~');
}

// ---- recipes ------------------------------------------------------------------------------

constexpr PreTokenizeStep kGpt2Steps[] = {{&isolate_matches<match_gpt2>, true}};
constexpr PreTokenizeStep kLlama3Steps[] = {{&isolate_matches<match_llama3>, true}};
constexpr PreTokenizeStep kQwen2Steps[] = {{&isolate_matches<match_qwen2>, true}};
constexpr PreTokenizeStep kO200kSteps[] = {{&isolate_matches<match_o200k>, true}};
constexpr PreTokenizeStep kTekkenSteps[] = {{&isolate_matches<match_tekken>, true}};
constexpr PreTokenizeStep kStarcoderSteps[] = {
    {&isolate_matches<match_one<is_number_class>>, false},
    {&isolate_matches<match_gpt2>, true},
};
// HF: Punctuation(contiguous), ByteLevel(use_regex), Digits, Split([0-9]{3}); the last two
// see the byte stand-ins.
constexpr PreTokenizeStep kFalconSteps[] = {
    {&isolate_matches<match_run<is_hf_punctuation>>, false},
    {&isolate_matches<match_gpt2>, true},
    {&isolate_matches<match_run<is_number_class>>, false},
    {&isolate_matches<match_three_ascii_digits>, false},
};
constexpr PreTokenizeStep kDeepseekLlmSteps[] = {
    {&isolate_matches<match_one<is_newline>>, false},
    {&isolate_matches<match_space_then_run<is_deepseek_letter>>, false},
    {&isolate_matches<match_space_then_run<is_deepseek_punctuation>>, false},
    {&split_trailing_whitespace, false},
    {&isolate_matches<match_run<is_deepseek_cjk>>, false},
    {&isolate_matches<match_run<is_number_class>>, true},
};
constexpr PreTokenizeStep kDeepseekCoderSteps[] = {
    {&isolate_matches<match_one<is_newline>>, false},
    {&isolate_matches<match_space_then_run<is_letter_class>>, false},
    {&isolate_matches<match_space_then_run<is_punct_class>>, false},
    {&isolate_matches<match_run<is_deepseek_cjk>>, false},
    {&isolate_matches<match_one<is_number_class>>, true},
};
constexpr PreTokenizeStep kDeepseek3Steps[] = {
    {&isolate_matches<match_up_to_three_numbers>, false},
    {&isolate_matches<match_run<is_deepseek3_cjk>>, false},
    {&isolate_matches<match_deepseek3>, true},
};
constexpr PreTokenizeStep kBloomSteps[] = {{&isolate_matches<match_bloom>, true}};
constexpr PreTokenizeStep kVikingSteps[] = {
    {&isolate_matches<match_bloom>, false},
    {&isolate_matches<match_one<is_number_class>>, true},
};
constexpr PreTokenizeStep kChameleonSteps[] = {
    {&isolate_matches<match_chameleon_sentinel>, false},
    {&isolate_matches<match_chameleon_image>, false},
    {&isolate_matches<match_chameleon_spacing>, false},
    {&isolate_matches<match_one<is_number_class>>, false},
    {&isolate_matches<match_one<is_chameleon_punctuation>>, false},
    {&isolate_matches<match_gpt2>, true},
};
// llama.cpp's fallback for BPE vocabs converted without a pre-tokenizer name.
constexpr PreTokenizeStep kDefaultSteps[] = {
    {&isolate_matches<match_run<is_default_punctuation>>, false},
    {&isolate_matches<match_gpt2>, false},
    {&isolate_matches<match_run<is_number_class>>, false},
    {&isolate_matches<match_three_ascii_digits>, true},
};

const PreTokenizerRecipe kGpt2{.steps = kGpt2Steps};
const PreTokenizerRecipe kGptNeox{.steps = kGpt2Steps, .nfc = true};  // GPT-NeoX tokenizer: NFC
const PreTokenizerRecipe kLlama3{.steps = kLlama3Steps, .ignore_merges = true, .add_bos = true};
const PreTokenizerRecipe kCl100k{.steps = kLlama3Steps};
const PreTokenizerRecipe kQwen2{.steps = kQwen2Steps, .nfc = true};
const PreTokenizerRecipe kQwen2NoNormalizer{.steps = kQwen2Steps};
const PreTokenizerRecipe kO200k{.steps = kO200kSteps};
const PreTokenizerRecipe kTekken{.steps = kTekkenSteps, .ignore_merges = true, .add_bos = true};
const PreTokenizerRecipe kStarcoder{.steps = kStarcoderSteps};
const PreTokenizerRecipe kCommandR{.steps = kStarcoderSteps, .nfc = true};
const PreTokenizerRecipe kFalcon{.steps = kFalconSteps};
const PreTokenizerRecipe kDeepseekLlm{.steps = kDeepseekLlmSteps};
const PreTokenizerRecipe kDeepseekCoder{.steps = kDeepseekCoderSteps};
const PreTokenizerRecipe kDeepseek3{.steps = kDeepseek3Steps};
const PreTokenizerRecipe kBloom{.steps = kBloomSteps};
const PreTokenizerRecipe kViking{.steps = kVikingSteps};
const PreTokenizerRecipe kChameleon{.steps = kChameleonSteps, .add_bos = true};
const PreTokenizerRecipe kDefault{.steps = kDefaultSteps};

struct NamedRecipe {
  std::string_view name;
  const PreTokenizerRecipe* recipe;
};

// One row per tokenizer.ggml.pre value.
const NamedRecipe kFamilies[] = {
    {"default", &kDefault},
    {"llama-bpe", &kLlama3},
    {"llama3", &kLlama3},
    {"llama-v3", &kLlama3},
    {"falcon3", &kLlama3},
    {"falcon-h1", &kLlama3},
    {"pixtral", &kLlama3},
    {"midm-2.0", &kLlama3},
    {"lfm2", &kLlama3},
    {"dbrx", &kCl100k},
    {"smaug-bpe", &kCl100k},
    {"chatglm-bpe", &kCl100k},
    {"glm4", &kCl100k},
    {"qwen2", &kQwen2},
    {"deepseek-r1-qwen", &kQwen2},
    {"megrez", &kQwen2},
    {"stablelm2", &kQwen2NoNormalizer},
    {"hunyuan", &kQwen2NoNormalizer},
    {"gpt-4o", &kO200k},
    {"llama4", &kO200k},
    {"tekken", &kTekken},
    {"gpt-2", &kGpt2},
    {"phi-2", &kGpt2},
    {"mpt", &kGptNeox},
    {"olmo", &kGpt2},
    {"jais", &kGpt2},
    {"roberta-bpe", &kGpt2},
    {"jina-es", &kGpt2},
    {"jina-de", &kGpt2},
    {"jina-v1-en", &kGpt2},
    {"jina-v2-es", &kGpt2},
    {"jina-v2-de", &kGpt2},
    {"jina-v2-code", &kGpt2},
    {"gigachat", &kGpt2},
    {"exaone4", &kGpt2},
    {"trillion", &kGpt2},
    {"starcoder", &kStarcoder},
    {"refact", &kStarcoder},
    {"command-r", &kCommandR},
    {"smollm", &kStarcoder},
    {"codeshell", &kStarcoder},
    {"exaone", &kStarcoder},
    {"minerva-7b", &kStarcoder},
    {"falcon", &kFalcon},
    {"deepseek-llm", &kDeepseekLlm},
    {"deepseek-coder", &kDeepseekCoder},
    {"deepseek-v3", &kDeepseek3},
    {"bloom", &kBloom},
    {"poro-chat", &kBloom},
    {"gpt3-finnish", &kBloom},
    {"viking", &kViking},
    {"chameleon", &kChameleon},
};

}  // namespace

const PreTokenizerRecipe* find_pre_tokenizer(std::string_view pre_name) {
  for (const NamedRecipe& row : kFamilies) {
    if (row.name == pre_name) return row.recipe;
  }
  return nullptr;
}

}  // namespace kindred::tok
