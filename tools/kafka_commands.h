// The Kafka-facing subcommands of ledgerflow (docs/kafka.md, docs/cli.md):
//
//   produce  --brokers B --topic T [FILE|-]      JSON-lines commands -> Kafka
//   run      --brokers B --topic T --db DIR      the engine daemon (consume, apply, relay)
//   outcomes --brokers B --topic T.outcomes      read back and summarise outcomes
//
// Each takes -X key=value (repeatable) passed through to librdkafka.
#pragma once

#include <CLI/CLI.hpp>
#include <memory>

namespace lf::cli {

// Registers the subcommands; the chosen one stores its exit code in `code`.
// Keep the returned holder (their parsed arguments) alive while parsing and
// running.
std::shared_ptr<void> add_kafka_commands(CLI::App& app, int& code);

}  // namespace lf::cli
