// `kindred card show CARD` prints the card object as stored (V1 cards presented as V2);
// `kindred card convert IN OUT` rewrites a card as PNG or JSON by OUT's extension, losing no field.
#include <CLI/CLI.hpp>
#include <iostream>
#include <memory>

#include "cli/commands.h"
#include "dialogue/character_card.h"

namespace kindred::cli {

void add_card_command(CLI::App& app) {
  auto* card = app.add_subcommand("card", "Show or convert character cards (V1/V2/V3, PNG or JSON)");
  card->require_subcommand(1);

  auto show_path = std::make_shared<std::string>();
  auto* show = card->add_subcommand("show", "Print the card object as JSON");
  show->add_option("card", *show_path, "CARD.png | CARD.json")->required();
  show->callback([show_path] {
    std::cout << dialogue::CharacterCard::load(*show_path).to_json().dump(2) << '\n';
  });

  auto paths = std::make_shared<std::pair<std::string, std::string>>();
  auto* convert = card->add_subcommand("convert", "Write the card as PNG or JSON (by OUT's extension)");
  convert->add_option("in", paths->first, "input card (.png or .json)")->required();
  convert->add_option("out", paths->second, "output file (.png or .json)")->required();
  convert->callback([paths] { dialogue::CharacterCard::load(paths->first).save(paths->second); });
}

}  // namespace kindred::cli
