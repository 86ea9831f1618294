// Kafka message decoding (one command, a batch, every poison reason), dead
// letter records, and outcomes rebuilt from events.
#include "streams/message.h"

#include <catch2/catch.hpp>

#include "schemas/codec.h"
#include "streams/relay.h"
#include "tests/support/commands.h"
#include "tests/support/memory_ledger.h"
#include "tests/support/printing.h"

namespace lf::test {
namespace {

using streams::PoisonReason;

const ledger::SourcePosition source{"commands", 3, 77};

TEST_CASE("message: one command or a batch; source and record time are stamped", "[message]") {
  const ledger::Command timed = cmd("c1", open_account("a:1"), 5000);
  ledger::Command untimed = cmd("c2", open_account("a:2"), 0);
  SECTION("one command keeps its own timestamp") {
    const std::vector<ledger::Command> one{timed};
    const streams::DecodedMessage m =
        streams::decode_message(streams::encode_message(one), source, 9999);
    REQUIRE(m.poison == PoisonReason::none);
    REQUIRE(m.commands.size() == 1);
    CHECK(m.commands[0].timestamp_ms == 5000);
    CHECK(m.commands[0].source == source);
  }
  SECTION("a batch; a zero timestamp takes the Kafka record's") {
    const std::vector<ledger::Command> two{timed, untimed};
    const streams::DecodedMessage m =
        streams::decode_message(streams::encode_message(two), source, 9999);
    REQUIRE(m.poison == PoisonReason::none);
    REQUIRE(m.commands.size() == 2);
    CHECK(m.commands[0].timestamp_ms == 5000);
    CHECK(m.commands[1].timestamp_ms == 9999);
    CHECK(m.commands[1].id == "c2");
    CHECK(m.commands[1].source == source);
  }
}

TEST_CASE("message: poison messages are classified, never thrown", "[message]") {
  auto reason = [](std::string_view bytes) {
    return streams::decode_message(bytes, source, 0).poison;
  };
  CHECK(reason("") == PoisonReason::empty);
  CHECK(reason("{\"id\":\"x\"}") == PoisonReason::unknown_schema);
  CHECK(reason(std::string(12, '\0')) == PoisonReason::unknown_schema);
  std::string broken = codec::encode_command(cmd("c1", open_account("a:1")));
  broken.resize(broken.size() / 2);
  CHECK(reason(broken) == PoisonReason::undecodable);
  std::string garbage = "xxxxLFB1" + std::string(40, '\xff');
  CHECK(reason(garbage) == PoisonReason::undecodable);
  CHECK(reason(codec::encode_command_batch({})) == PoisonReason::empty);
  std::vector<ledger::Command> many(streams::message_commands_max + 1,
                                    cmd("c", open_account("a:1")));
  CHECK(reason(codec::encode_command_batch(many)) == PoisonReason::too_many_commands);
  CHECK(reason(std::string(codec::message_bytes_max + 1, 'x')) == PoisonReason::too_large);
  const streams::DecodedMessage m = streams::decode_message(broken, source, 0);
  CHECK(m.commands.empty());
  CHECK_FALSE(m.detail.empty());
}

TEST_CASE("message: dead letters round-trip and corrupt ones are refused", "[message]") {
  streams::DeadLetter letter;
  letter.source = source;
  letter.timestamp_ms = 1234;
  letter.reason = PoisonReason::undecodable;
  letter.detail = "not a valid ledgerflow command buffer (LFC1)";
  letter.key = std::string("k\0y", 3);
  letter.payload = std::string("\x00\x01garbage", 9);
  const std::string bytes = streams::encode_dead_letter(letter);
  Result<streams::DeadLetter> back = streams::decode_dead_letter(bytes);
  REQUIRE(back.is_ok());
  CHECK(*back == letter);
  CHECK_FALSE(streams::decode_dead_letter(bytes.substr(0, bytes.size() / 2)).is_ok());
  CHECK_FALSE(streams::decode_dead_letter("").is_ok());
  CHECK(std::string(streams::poison_reason_name(PoisonReason::too_large)) == "too_large");
}

TEST_CASE("outcomes rebuilt from the log equal the decided outcomes", "[relay]") {
  // Every kind of outcome: accepted, rejected, a linked chain of three
  // events, a rejected chain, expiries before a command, a duplicate (no
  // event, no outcome message).
  MemoryLedger ledger;
  std::vector<ledger::Command> commands{
      cmd("o1", open_account("x"), 1000),
      cmd("o2", open_account("y"), 1000),
      cmd("h1", hold("x", "y", 5, 1), 1000),
      cmd("t1", transfer("x", "y", 0), 1000),
      cmd("l1",
          linked({step("s1", transfer("x", "y", 1)), step("s2", transfer("y", "x", 1)),
                  step("s3", open_account("z"))}),
          1000),
      cmd("l2", linked({step("s4", transfer("x", "y", 1)), step("s5", transfer("x", "nope", 1))}),
          1000),
      cmd("t2", transfer("x", "y", 3), 5000),  // Expires h1 first.
      cmd("t2", transfer("x", "y", 3), 5000),  // A retry.
  };
  std::vector<ledger::Outcome> decided = ledger.apply(commands);
  streams::OutcomeAssembler assembler;
  for (const ledger::Event& event : ledger.events()) assembler.add(event);
  assembler.finish();
  const auto rebuilt = assembler.take();
  std::vector<ledger::Outcome> expected;
  for (const ledger::Outcome& o : decided) {
    if (!o.duplicate) expected.push_back(o);
  }
  REQUIRE(rebuilt.size() == expected.size());
  for (std::size_t i = 0; i < expected.size(); ++i) {
    INFO("outcome " << i);
    CHECK(rebuilt[i].first == expected[i]);
  }
}

}  // namespace
}  // namespace lf::test
