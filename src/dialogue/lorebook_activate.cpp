// activate(): which lorebook entries the recent chat switches on, and why. Gates (enabled,
// decorators) run first, then keys over the scan window, then recursion over activated content,
// then ordering and the token budget.
#include <algorithm>
#include <regex>

#include "dialogue/lorebook.h"

namespace kindred::dialogue {
namespace {

// A text that keys are matched against, with the words a reason uses for it.
struct Source {
  std::string_view text;
  std::string label;  // "in message 3" or "from entry 'Castle'"
};

std::string lower(std::string_view s) {
  std::string out(s);
  for (char& c : out) c = char(std::tolower(static_cast<unsigned char>(c)));
  return out;
}

constexpr size_t kRegexWindow = 2048, kRegexOverlap = 256;

// A key as written: `/pattern/flags` is a regex (SillyTavern), and so is any key when use_regex.
class KeyMatcher {
 public:
  KeyMatcher(const std::string& key, bool use_regex, bool case_sensitive) : key_(key), cs_(case_sensitive) {
    std::string pattern;
    bool icase = !case_sensitive, is_regex = use_regex;
    const size_t last = key.rfind('/');
    if (key.size() > 2 && key[0] == '/' && last > 0 && key.find_first_not_of("gimsuy", last + 1) == std::string::npos) {
      pattern = key.substr(1, last - 1);
      icase = key.find('i', last) != std::string::npos;
      is_regex = true;
    } else if (use_regex) {
      pattern = key;
    }
    if (!is_regex) {
      needle_ = cs_ ? key : lower(key);
      return;
    }
    try {
      auto flags = std::regex::ECMAScript;
      if (icase) flags |= std::regex::icase;
      regex_.emplace(pattern, flags);
    } catch (const std::regex_error&) {
      invalid_ = true;  // V3: an invalid pattern never matches
    }
  }

  bool matches(std::string_view text) const {
    if (invalid_) return false;
    if (regex_) {
      // libstdc++'s regex recurses once per character, so a long message could exhaust the
      // stack: search overlapping windows instead (a match longer than the overlap is missed).
      for (size_t start = 0;; start += kRegexWindow - kRegexOverlap) {
        const size_t end = std::min(text.size(), start + kRegexWindow);
        auto flags = std::regex_constants::match_default;
        if (start > 0) flags |= std::regex_constants::match_prev_avail;
        if (end < text.size()) flags |= std::regex_constants::match_not_eol;
        if (std::regex_search(text.begin() + std::ptrdiff_t(start), text.begin() + std::ptrdiff_t(end), *regex_, flags))
          return true;
        if (end == text.size()) return false;
      }
    }
    if (needle_.empty()) return false;
    return cs_ ? text.find(needle_) != std::string_view::npos : lower(text).find(needle_) != std::string::npos;
  }
  const std::string& key() const { return key_; }

 private:
  std::string key_, needle_;
  bool cs_ = false, invalid_ = false;
  std::optional<std::regex> regex_;
};

struct EntryMatchers {
  std::vector<KeyMatcher> keys, secondary, additional, exclude;
};

EntryMatchers build_matchers(const LoreEntry& e, bool case_sensitive) {
  EntryMatchers m;
  auto add = [&](std::vector<KeyMatcher>& out, const std::vector<std::string>& keys) {
    for (const auto& k : keys) out.emplace_back(k, e.use_regex, case_sensitive);
  };
  add(m.keys, e.keys);
  // V3: secondary keys and exclude keys are ignored for regex entries.
  if (!e.use_regex) add(m.secondary, e.secondary_keys);
  add(m.additional, e.decorators.additional_keys);
  if (!e.use_regex) add(m.exclude, e.decorators.exclude_keys);
  return m;
}

// The first key (in key order) found in any source, newest source first.
const Source* find_any(const std::vector<KeyMatcher>& keys, const std::vector<Source>& sources,
                       const KeyMatcher** which) {
  for (const auto& k : keys)
    for (auto s = sources.rbegin(); s != sources.rend(); ++s)
      if (k.matches(s->text)) {
        *which = &k;
        return &*s;
      }
  return nullptr;
}

bool found(const KeyMatcher& k, const std::vector<Source>& sources) {
  return std::any_of(sources.begin(), sources.end(), [&](const Source& s) { return k.matches(s.text); });
}

// Keys, selective logic and the key decorators; the reason when all pass.
std::optional<std::string> match_keys(const LoreEntry& e, const EntryMatchers& m, const std::vector<Source>& sources) {
  const KeyMatcher* key = nullptr;
  const Source* where = find_any(m.keys, sources, &key);
  if (!where) return std::nullopt;
  std::string reason = "key '" + key->key() + "' matched " + where->label;
  if (e.selective && !m.secondary.empty()) {
    size_t hits = 0;
    std::string first_hit;
    for (const auto& k : m.secondary)
      if (found(k, sources)) {
        if (!hits++) first_hit = k.key();
      }
    const size_t n = m.secondary.size();
    switch (e.logic) {
      case SelectiveLogic::AndAny:
        if (!hits) return std::nullopt;
        reason += " with secondary key '" + first_hit + "' (AND ANY)";
        break;
      case SelectiveLogic::AndAll:
        if (hits != n) return std::nullopt;
        reason += " with all secondary keys (AND ALL)";
        break;
      case SelectiveLogic::NotAny:
        if (hits) return std::nullopt;
        reason += " and no secondary key (NOT ANY)";
        break;
      case SelectiveLogic::NotAll:
        if (hits == n) return std::nullopt;
        reason += " and not all secondary keys (NOT ALL)";
        break;
    }
  }
  if (!m.additional.empty()) {
    const KeyMatcher* extra = nullptr;
    if (!find_any(m.additional, sources, &extra)) return std::nullopt;
    reason += " with additional key '" + extra->key() + "'";
  }
  for (const auto& k : m.exclude)
    if (found(k, sources)) return std::nullopt;
  return reason;
}

enum class Gate { Blocked, Forced, Keys };

// Decorator and flag checks that do not look at the chat text.
Gate gate(const LoreEntry& e, const LoreScan& scan, std::string& reason) {
  const auto& d = e.decorators;
  if (!e.enabled || e.content.empty()) return Gate::Blocked;
  if (d.activate) return reason = "@@activate", Gate::Forced;
  if (d.dont_activate) return Gate::Blocked;
  if (d.activate_only_after && scan.assistant_messages < *d.activate_only_after) return Gate::Blocked;
  if (d.activate_only_every && *d.activate_only_every > 0 && scan.assistant_messages % *d.activate_only_every != 0)
    return Gate::Blocked;
  if (d.is_greeting && scan.greeting_index >= 0 && scan.greeting_index != *d.is_greeting) return Gate::Blocked;
  if (d.is_user_icon && !scan.user_icon.empty() && scan.user_icon != *d.is_user_icon) return Gate::Blocked;
  if (scan.matched_before.count(e.index)) {
    if (d.dont_activate_after_match) return Gate::Blocked;
    if (d.keep_activate_after_match) return reason = "kept active after an earlier match", Gate::Forced;
  }
  if (e.constant) return reason = "constant", Gate::Forced;
  return Gate::Keys;
}

}  // namespace

std::vector<LoreActivation> activate(const Lorebook& book, const LoreScan& scan) {
  const auto& entries = book.entries();
  std::vector<LoreActivation> out;
  std::vector<bool> active(entries.size(), false);
  std::vector<Gate> gates(entries.size());
  std::vector<EntryMatchers> matchers(entries.size());
  const int book_depth = book.scan_depth().value_or(scan.default_scan_depth);

  auto add = [&](size_t i, std::string reason) {
    const LoreEntry& e = entries[i];
    active[i] = true;
    out.push_back({.entry = i, .name = e.name, .content = e.content, .role = e.role, .position = e.position,
                   .depth = e.depth, .order = e.insertion_order, .tokens = 0, .reason = std::move(reason)});
  };

  // Pass 0: gates, forced entries, and keys over the last scan-depth messages.
  for (size_t i = 0; i < entries.size(); ++i) {
    const LoreEntry& e = entries[i];
    std::string reason;
    gates[i] = gate(e, scan, reason);
    if (gates[i] == Gate::Forced) add(i, reason);
    if (gates[i] != Gate::Keys) continue;
    matchers[i] = build_matchers(e, e.case_sensitive.value_or(scan.default_case_sensitive));
    const int depth = std::max(0, e.decorators.scan_depth.value_or(book_depth));
    const size_t n = scan.messages.size(), first = n - std::min<size_t>(n, size_t(depth));
    std::vector<Source> window;
    for (size_t m = first; m < n; ++m) window.push_back({scan.messages[m], "in message " + std::to_string(m + 1)});
    if (auto r = match_keys(e, matchers[i], window)) add(i, *r);
  }

  // Recursion: content activated in one pass can trigger entries in the next.
  if (book.recursive_scanning().value_or(scan.default_recursive)) {
    size_t from = 0;
    for (int pass = 0; pass < scan.max_recursion_depth && from < out.size(); ++pass) {
      std::vector<Source> sources;
      for (size_t a = from; a < out.size(); ++a)
        if (!entries[out[a].entry].prevent_recursion)
          sources.push_back({out[a].content, "from entry '" + out[a].name + "'"});
      from = out.size();
      for (size_t i = 0; i < entries.size(); ++i) {
        if (active[i] || gates[i] != Gate::Keys || entries[i].exclude_recursion) continue;
        if (auto r = match_keys(entries[i], matchers[i], sources)) {
          // "key 'x' matched from entry 'Castle'" reads as "recursion from entry 'Castle'".
          const size_t at = r->find(" matched from entry ");
          add(i, "recursion " + r->substr(at + 9) + " (" + r->substr(0, at) + ")");
        }
      }
    }
  }

  // Budget: drop the lowest priority (else lowest insertion_order), latest activated first.
  const auto budget = book.token_budget();
  if (scan.count_tokens) {
    size_t total = 0;
    for (auto& a : out) total += a.tokens = scan.count_tokens(a.content);
    while (budget && *budget > 0 && total > size_t(*budget) && !out.empty()) {
      auto rank = [&](const LoreActivation& a) { return entries[a.entry].priority.value_or(a.order); };
      size_t victim = 0;
      for (size_t a = 1; a < out.size(); ++a)
        if (rank(out[a]) <= rank(out[victim])) victim = a;
      total -= out[victim].tokens;
      out.erase(out.begin() + std::ptrdiff_t(victim));
    }
  }

  std::stable_sort(out.begin(), out.end(), [](const LoreActivation& a, const LoreActivation& b) {
    return a.order != b.order ? a.order < b.order : a.entry < b.entry;
  });
  return out;
}

}  // namespace kindred::dialogue
