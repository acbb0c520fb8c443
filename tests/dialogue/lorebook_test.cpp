// Lorebook activation: keys, selective logic, regex, case, scan depth, budget, recursion,
// constant/disabled entries and the V3 decorators, each with the reason it reports.
#include "dialogue/lorebook.h"

#include <gtest/gtest.h>

namespace kindred::dialogue {
namespace {

using nlohmann::json;

json entry(std::vector<std::string> keys, const std::string& content, json extra = json::object()) {
  json e = {{"keys", keys}, {"content", content}, {"extensions", json::object()}, {"enabled", true},
            {"insertion_order", 100}};
  e.update(extra);
  return e;
}

Lorebook book_of(std::vector<json> entries, json extra = json::object()) {
  json b = {{"extensions", json::object()}, {"entries", entries}};
  b.update(extra);
  return Lorebook::from_json(b);
}

LoreScan chat(std::vector<std::string> messages) {
  LoreScan s;
  s.messages = std::move(messages);
  return s;
}

std::vector<std::string> names(const std::vector<LoreActivation>& acts) {
  std::vector<std::string> out;
  for (const auto& a : acts) out.push_back(a.name);
  return out;
}

TEST(Lorebook, KeyMatchReportsMessage) {
  const auto book = book_of({entry({"dragon"}, "Dragons hoard gold.", {{"name", "Dragons"}})});
  const auto acts = activate(book, chat({"hello", "a Dragon appears", "run!"}));
  ASSERT_EQ(acts.size(), 1u);
  EXPECT_EQ(acts[0].content, "Dragons hoard gold.");
  EXPECT_EQ(acts[0].reason, "key 'dragon' matched in message 2");
  EXPECT_EQ(acts[0].position, LorePosition::BeforeChar);
  EXPECT_EQ(acts[0].role, "system");
  EXPECT_TRUE(activate(book, chat({"no beasts here"})).empty());
}

TEST(Lorebook, SelectiveLogicAllFour) {
  auto run = [](json logic, const std::string& text) {
    const auto book = book_of({entry({"sword"}, "lore", {{"selective", true}, {"secondary_keys", {"fire", "ice"}},
                                                          {"extensions", {{"selectiveLogic", logic}}}})});
    return activate(book, chat({text})).size() == 1;
  };
  // AND ANY (0, also the default): one secondary key is enough.
  EXPECT_TRUE(run(0, "a sword of fire"));
  EXPECT_FALSE(run(0, "a plain sword"));
  // NOT ALL (1): fails only when every secondary key is present.
  EXPECT_TRUE(run(1, "a sword of fire"));
  EXPECT_FALSE(run(1, "a sword of fire and ice"));
  // NOT ANY (2): no secondary key may appear.
  EXPECT_TRUE(run(2, "a plain sword"));
  EXPECT_FALSE(run(2, "a sword of ice"));
  // AND ALL (3): every secondary key must appear; string names work too.
  EXPECT_TRUE(run("AND ALL", "sword, fire, ice"));
  EXPECT_FALSE(run(3, "sword and fire"));
  // Without selective the secondary keys are ignored.
  const auto plain = book_of({entry({"sword"}, "lore", {{"secondary_keys", {"fire"}}})});
  EXPECT_EQ(activate(plain, chat({"sword"})).size(), 1u);
  const auto reason = activate(book_of({entry({"sword"}, "lore", {{"selective", true}, {"secondary_keys", {"ice"}}})}),
                               chat({"sword", "ice"}))[0].reason;
  EXPECT_NE(reason.find("secondary key 'ice'"), std::string::npos) << reason;
}

TEST(Lorebook, RegexKeysWithFlags) {
  const auto slashed = book_of({entry({"/drag(on|ons)\\b/i"}, "lore")});
  EXPECT_EQ(activate(slashed, chat({"DRAGONS!"})).size(), 1u);
  EXPECT_TRUE(activate(slashed, chat({"dragonfly"})).empty());
  const auto no_i = book_of({entry({"/Dragon/"}, "lore")});
  EXPECT_TRUE(activate(no_i, chat({"dragon"})).empty());
  EXPECT_EQ(activate(no_i, chat({"Dragon"})).size(), 1u);
  const auto use_regex = book_of({entry({"^k[0-9]+$"}, "lore", {{"use_regex", true}, {"case_sensitive", true}})});
  EXPECT_EQ(activate(use_regex, chat({"k42"})).size(), 1u);
  EXPECT_TRUE(activate(use_regex, chat({"K42"})).empty());
  const auto invalid = book_of({entry({"(unclosed"}, "lore", {{"use_regex", true}})});
  EXPECT_TRUE(activate(invalid, chat({"(unclosed"})).empty());  // V3: invalid patterns never match
  // A backtracking-heavy pattern over a huge message neither crashes nor misses the recent text.
  const auto heavy = book_of({entry({"/(a|b)*c/"}, "lore")});
  EXPECT_EQ(activate(heavy, chat({std::string(5000, 'a') + "c"})).size(), 1u);
  const auto early = book_of({entry({"/^dragon\\b/"}, "lore")});
  EXPECT_EQ(activate(early, chat({"dragon " + std::string(100000, 'z')})).size(), 1u);
  EXPECT_TRUE(activate(early, chat({std::string(5000, 'z') + " dragon"})).empty());  // ^ stays the start
}

TEST(Lorebook, CaseSensitivity) {
  const auto cs = book_of({entry({"Rome"}, "lore", {{"case_sensitive", true}})});
  EXPECT_TRUE(activate(cs, chat({"rome"})).empty());
  EXPECT_EQ(activate(cs, chat({"Rome"})).size(), 1u);
  const auto ci = book_of({entry({"Rome"}, "lore")});
  EXPECT_EQ(activate(ci, chat({"ROME"})).size(), 1u);
  auto scan = chat({"ROME"});
  scan.default_case_sensitive = true;
  EXPECT_TRUE(activate(ci, scan).empty());
}

TEST(Lorebook, ScanDepth) {
  const auto book = book_of({entry({"owl"}, "lore")}, {{"scan_depth", 2}});
  EXPECT_TRUE(activate(book, chat({"an owl", "b", "c"})).empty());
  EXPECT_EQ(activate(book, chat({"a", "an owl", "c"})).size(), 1u);
  const auto deco = book_of({entry({"owl"}, "@@scan_depth 3\nlore")}, {{"scan_depth", 1}});
  EXPECT_EQ(activate(deco, chat({"an owl", "b", "c"})).size(), 1u);
  auto dflt = chat({"an owl", "b", "c"});
  EXPECT_TRUE(activate(book_of({entry({"owl"}, "lore")}), dflt).empty());  // default 2
  dflt.default_scan_depth = 5;
  EXPECT_EQ(activate(book_of({entry({"owl"}, "lore")}), dflt).size(), 1u);
}

TEST(Lorebook, ConstantDisabledAndOrder) {
  const auto book = book_of({entry({"x"}, "late", {{"name", "late"}, {"insertion_order", 50}}),
                             entry({}, "always", {{"name", "always"}, {"constant", true}, {"insertion_order", 5}}),
                             entry({"x"}, "off", {{"name", "off"}, {"enabled", false}, {"constant", true}}),
                             entry({"x"}, "", {{"name", "empty"}})});
  const auto acts = activate(book, chat({"x"}));
  EXPECT_EQ(names(acts), (std::vector<std::string>{"always", "late"}));  // lower insertion_order first
  EXPECT_EQ(acts[0].reason, "constant");
}

TEST(Lorebook, TokenBudgetDropsLowestPriorityFirst) {
  auto count = [](std::string_view s) { return s.size(); };  // one token per byte
  const auto book = book_of({entry({"a"}, "0123456789", {{"name", "low"}, {"priority", 1}, {"insertion_order", 1}}),
                             entry({"a"}, "0123456789", {{"name", "high"}, {"priority", 9}, {"insertion_order", 2}}),
                             entry({"a"}, "0123456789", {{"name", "mid"}, {"priority", 5}, {"insertion_order", 3}})},
                            {{"token_budget", 25}});
  auto scan = chat({"a"});
  scan.count_tokens = count;
  const auto acts = activate(book, scan);
  EXPECT_EQ(names(acts), (std::vector<std::string>{"high", "mid"}));
  EXPECT_EQ(acts[0].tokens, 10u);
  // Without priorities the lowest insertion_order goes first.
  const auto by_order = book_of({entry({"a"}, "0123456789", {{"name", "first"}, {"insertion_order", 1}}),
                                 entry({"a"}, "0123456789", {{"name", "second"}, {"insertion_order", 2}})},
                                {{"token_budget", 15}});
  EXPECT_EQ(names(activate(by_order, scan)), std::vector<std::string>{"second"});
  scan.count_tokens = nullptr;  // no counter: no trimming
  EXPECT_EQ(activate(by_order, scan).size(), 2u);
}

TEST(Lorebook, RecursionAndItsLimit) {
  const auto book = book_of({entry({"king"}, "The king lives in the castle.", {{"name", "King"}}),
                             entry({"castle"}, "The castle has a tower.", {{"name", "Castle"}}),
                             entry({"tower"}, "The tower hides a dragon.", {{"name", "Tower"}}),
                             entry({"dragon"}, "The dragon sleeps.", {{"name", "Dragon"}})});
  auto scan = chat({"Tell me of the king"});
  auto acts = activate(book, scan);
  ASSERT_EQ(names(acts), (std::vector<std::string>{"King", "Castle", "Tower", "Dragon"}));
  EXPECT_EQ(acts[1].reason, "recursion from entry 'King' (key 'castle')");
  scan.max_recursion_depth = 1;
  EXPECT_EQ(names(activate(book, scan)), (std::vector<std::string>{"King", "Castle"}));
  const auto off = book_of({entry({"king"}, "the castle"), entry({"castle"}, "c")}, {{"recursive_scanning", false}});
  EXPECT_EQ(activate(off, chat({"king"})).size(), 1u);
  const auto prevent = book_of({entry({"king"}, "the castle", {{"extensions", {{"prevent_recursion", true}}}}),
                                entry({"castle"}, "c")});
  EXPECT_EQ(activate(prevent, chat({"king"})).size(), 1u);
}

TEST(Lorebook, DecoratorsParseAndStrip) {
  std::string content = "@@depth 2\n@@role assistant\n@@unknown_thing 4\n@@@activate_only_after 3\n\nBody text";
  const auto d = parse_decorators(content);
  EXPECT_EQ(content, "Body text");
  EXPECT_EQ(d.depth, 2);
  EXPECT_EQ(d.role, "assistant");
  EXPECT_EQ(d.activate_only_after, 3);  // the fallback ran because the first was unknown
  std::string second = "@@depth 4\n@@@scan_depth 9\n@@depth 7\nx";
  const auto d2 = parse_decorators(second);
  EXPECT_EQ(d2.depth, 4);               // first of a name wins
  EXPECT_FALSE(d2.scan_depth);          // fallback skipped: @@depth was understood
  std::string plain = "no decorators @@depth 3";
  parse_decorators(plain);
  EXPECT_EQ(plain, "no decorators @@depth 3");
}

TEST(Lorebook, DecoratorGates) {
  auto one = [](const std::string& content, LoreScan scan) {
    return activate(book_of({entry({"key"}, content)}), scan).size() == 1;
  };
  LoreScan s = chat({"key"});
  s.assistant_messages = 2;
  EXPECT_FALSE(one("@@activate_only_after 3\nx", s));
  s.assistant_messages = 3;
  EXPECT_TRUE(one("@@activate_only_after 3\nx", s));
  EXPECT_TRUE(one("@@activate_only_every 3\nx", s));
  s.assistant_messages = 4;
  EXPECT_FALSE(one("@@activate_only_every 3\nx", s));
  EXPECT_FALSE(one("@@dont_activate\nx", s));
  EXPECT_TRUE(one("@@dont_activate\n@@activate\nx", chat({"nothing"})));
  s.matched_before = {0};
  EXPECT_FALSE(one("@@dont_activate_after_match\nx", s));
  LoreScan kept = chat({"nothing"});
  kept.matched_before = {0};
  EXPECT_TRUE(one("@@keep_activate_after_match\nx", kept));
  LoreScan greet = chat({"key"});
  greet.greeting_index = 1;
  EXPECT_TRUE(one("@@is_greeting 1\nx", greet));
  EXPECT_FALSE(one("@@is_greeting 0\nx", greet));
  LoreScan icon = chat({"key"});
  icon.user_icon = "knight";
  EXPECT_TRUE(one("@@is_user_icon knight\nx", icon));
  EXPECT_FALSE(one("@@is_user_icon mage\nx", icon));
  EXPECT_TRUE(one("@@additional_keys moon,sun\nx", chat({"key", "sun"})));
  EXPECT_FALSE(one("@@additional_keys moon,sun\nx", chat({"key"})));
  EXPECT_FALSE(one("@@exclude_keys night\nx", chat({"key at night"})));
  EXPECT_TRUE(one("@@exclude_keys night\nx", chat({"key at noon"})));
}

TEST(Lorebook, DecoratorPlacement) {
  const auto book = book_of({entry({"k"}, "@@depth 3\n@@role user\nA", {{"name", "A"}}),
                             entry({"k"}, "@@position after_desc\n@@depth 1\nB", {{"name", "B"}}),
                             entry({"k"}, "C", {{"name", "C"}, {"position", "after_char"}}),
                             entry({"k"}, "D", {{"name", "D"}, {"position", "before_char"},
                                               {"extensions", {{"position", 4}, {"depth", 2}, {"role", 2}, {"scan_depth", 5}}}})});
  const auto acts = activate(book, chat({"k"}));
  ASSERT_EQ(acts.size(), 4u);
  EXPECT_EQ(acts[0].position, LorePosition::AtDepth);
  EXPECT_EQ(acts[0].depth, 3);
  EXPECT_EQ(acts[0].role, "user");
  EXPECT_EQ(acts[0].content, "A");
  EXPECT_EQ(acts[1].position, LorePosition::AfterDesc);  // @@position beats @@depth
  EXPECT_EQ(acts[2].position, LorePosition::AfterChar);
  EXPECT_EQ(acts[3].position, LorePosition::AtDepth);
  EXPECT_EQ(acts[3].depth, 2);
  EXPECT_EQ(acts[3].role, "assistant");
  EXPECT_STREQ(position_name(acts[1].position), "after_desc");
  EXPECT_EQ(book.entries()[3].decorators.scan_depth, 5);
}

TEST(Lorebook, SillyTavernWorldShapes) {
  // Entries keyed by uid, secondary keys as one comma-separated string, logic at entry level.
  const json world = {{"entries", {{"0", entry({"moon"}, "lore", {{"secondary_keys", "wolf, night"}, {"selective", true},
                                                                 {"selectiveLogic", 3}})}}}};
  const auto book = Lorebook::from_json(world);
  ASSERT_EQ(book.entries().size(), 1u);
  EXPECT_EQ(book.entries()[0].secondary_keys, (std::vector<std::string>{"wolf", "night"}));
  EXPECT_EQ(book.entries()[0].logic, SelectiveLogic::AndAll);
  EXPECT_TRUE(activate(book, chat({"moon and wolf"})).empty());
  EXPECT_EQ(activate(book, chat({"moon", "wolf at night"})).size(), 1u);
}

TEST(Lorebook, StandaloneSpecAndValidation) {
  const json standalone = {{"spec", "lorebook_v3"},
                           {"data", {{"name", "World"}, {"extensions", json::object()}, {"entries", {entry({"a"}, "b")}}}}};
  const auto book = Lorebook::from_json(standalone);
  EXPECT_EQ(book.name(), "World");
  EXPECT_EQ(book.to_json(), standalone);
  EXPECT_EQ(book.entries().size(), 1u);
  EXPECT_EQ(book.entries()[0].name, "#0");
  try {
    Lorebook::from_json({{"entries", {{{"keys", {1}}, {"content", "x"}}}}});
    FAIL() << "no error";
  } catch (const std::runtime_error& e) {
    EXPECT_NE(std::string(e.what()).find("entries[0].keys must be an array of strings"), std::string::npos);
  }
  EXPECT_THROW(Lorebook::from_json({{"entries", 5}}), std::runtime_error);
  EXPECT_THROW(Lorebook::from_json({{"entries", json::array()}, {"scan_depth", "2"}}), std::runtime_error);
}

}  // namespace
}  // namespace kindred::dialogue
