// Bad input never crashes the engine and never changes the store: malformed
// JSON, unknown command types, oversized fields, garbage and truncated
// FlatBuffers each get a clear error (or a precise rejection).
#include <catch2/catch.hpp>

#include "ledger/limits.h"
#include "schemas/codec.h"
#include "schemas/json.h"
#include "tests/engine/fixtures.h"
#include "tests/support/commands.h"

namespace lf::test {
namespace {

TEST_CASE("malformed JSON lines get specific errors") {
  codec::JsonCodec json;
  const std::vector<std::pair<std::string, std::string>> cases{
      {"", "malformed command JSON"},
      {"{", "malformed command JSON"},
      {"not json at all", "malformed command JSON"},
      {R"({"id":"x","body_type":"Teleport","body":{}})", "Teleport"},
      {R"({"id":"x","body_type":"Transfer","body":{"amount":-5}})", "-5"},
      {R"({"id":"x","body_type":"Transfer","body":{"amount":1.5}})", "float"},
      {R"({"id":"x","body_type":"Transfer","body":{"amount":"99999999999999999999"}})", "fit"},
      {R"({"id":"x","bogus":1})", "unknown field: bogus"},
      {R"({"id":"x","timestamp_ms":1})", "no body"},
      {std::string(R"({"id":"x)") + '\0' + R"("})", "NUL"},
  };
  for (const auto& [line, expected] : cases) {
    INFO(line);
    auto parsed = json.parse_command(line);
    REQUIRE_FALSE(parsed.is_ok());
    CHECK(parsed.status().code() == Status::Code::invalid_argument);
    CHECK_THAT(parsed.status().message(), Catch::Contains(expected));
  }
  // The parser still works after errors.
  auto ok = json.parse_command(
      R"({"id":"x","timestamp_ms":5,"body_type":"Transfer","body":{"debit_account":"a",)"
      R"("credit_account":"b","amount":"18446744073709551615","asset":"USD"}})");
  REQUIRE(ok.is_ok());
  CHECK(std::get<ledger::Transfer>(ok->body).amount == 18446744073709551615ull);
  CHECK(ok->timestamp_ms == 5);
}

TEST_CASE("an oversized JSON line is refused before parsing") {
  codec::JsonCodec json;
  const std::string line(codec::json_line_bytes_max + 1, ' ');
  auto parsed = json.parse_command(line);
  REQUIRE_FALSE(parsed.is_ok());
  CHECK_THAT(parsed.status().message(), Catch::Contains("exceeds"));
}

TEST_CASE("JSON round-trips every command type") {
  codec::JsonCodec json;
  const std::vector<ledger::Command> commands{
      cmd("a", open_account("x", "EUR", 3)),
      cmd("b", close_account("x")),
      cmd("c", transfer("x", "y", 5)),
      cmd("d", hold("x", "y", 5, 30)),
      cmd("e", post("d", 2)),
      cmd("f", void_pending("d")),
      cmd("g", journal({debit_leg("x", 3), credit_leg("y", 3)}, "ref")),
      cmd("h", linked({step("h1", transfer("x", "y", 1)), step("h2", post("d"))})),
  };
  for (const auto& c : commands) {
    const std::string text = json.command_to_json(c);
    INFO(text);
    auto back = json.parse_command(text);
    REQUIRE(back.is_ok());
    CHECK(*back == c);
    auto binary = codec::decode_command(codec::encode_command(c));
    REQUIRE(binary.is_ok());
    CHECK(*binary == c);
  }
}

TEST_CASE("garbage and truncated FlatBuffers are refused") {
  const std::string good = codec::encode_command(cmd("t", transfer("a", "b", 5)));
  CHECK(codec::decode_command(good).is_ok());
  const ledger::Command original = *codec::decode_command(good);
  std::size_t refused = 0;
  for (std::size_t n = 0; n < good.size(); ++n) {
    INFO("truncated to " << n);
    auto decoded = codec::decode_command(good.substr(0, n));
    // Only trailing alignment padding may go without loss; anything else
    // must be refused, never half-read.
    if (decoded.is_ok()) {
      CHECK(*decoded == original);
    } else {
      ++refused;
    }
  }
  CHECK(refused >= good.size() - 8);
  CHECK_FALSE(codec::decode_command("garbage bytes, not a flatbuffer").is_ok());
  std::string wrong_identifier = good;
  wrong_identifier[4] = 'X';
  CHECK_FALSE(codec::decode_command(wrong_identifier).is_ok());
  CHECK_FALSE(codec::decode_command_batch(good).is_ok());  // A command is not a batch.
  CHECK_FALSE(codec::open_event(good).is_ok());
}

TEST_CASE("an unknown command type from a newer producer is refused clearly") {
  flatbuffers::FlatBufferBuilder b;
  auto id = b.CreateString("future");
  auto body = codec::fb::CreateCloseAccount(b, b.CreateString("x"));
  b.Finish(
      codec::fb::CreateCommand(b, id, 1, static_cast<codec::fb::CommandBody>(42), body.Union()),
      codec::fb::CommandIdentifier());
  auto decoded = codec::decode_command(
      std::string_view(reinterpret_cast<const char*>(b.GetBufferPointer()), b.GetSize()));
  REQUIRE_FALSE(decoded.is_ok());
  CHECK_THAT(decoded.status().message(), Catch::Contains("unknown command type 42"));
}

TEST_CASE("oversized and malformed fields are rejections, and the store stays verifiable") {
  TempDir dir;
  auto engine = open_engine(dir.path());
  apply_all(*engine, {cmd("o1", open_account("a")), cmd("o2", open_account("b"))});
  const std::string long_id(ledger::id_bytes_max + 1, 'x');
  ledger::OpenAccount fat = open_account("c");
  fat.metadata.assign(ledger::metadata_bytes_max + 1, 'm');
  ledger::Transfer long_ref = transfer("a", "b", 1);
  long_ref.reference.assign(ledger::reference_bytes_max + 1, 'r');
  auto outcomes = apply_all(
      *engine, {cmd(long_id, transfer("a", "b", 1)), cmd("bad id!", transfer("a", "b", 1)),
                cmd("t1", transfer(long_id, "b", 1)), cmd("t2", fat), cmd("t3", long_ref),
                cmd("t4", transfer("a", "b", 1, "usd")), cmd("t5", transfer("a", "b", 2))});
  CHECK(outcomes[0].field == "id");
  CHECK(outcomes[1].field == "id");
  CHECK(outcomes[2].field == "debit_account");
  CHECK(outcomes[3].field == "metadata");
  CHECK(outcomes[4].field == "reference");
  CHECK(outcomes[5].field == "asset");
  for (int i = 0; i < 6; ++i) CHECK(outcomes[i].reason == ledger::RejectReason::invalid_field);
  CHECK(outcomes[6].status == ledger::OutcomeStatus::accepted);  // Valid ones still apply.
  CHECK((*engine->account("b"))->balances.credits_posted == 2);
  CHECK(verify_store(*engine).ok);
}

TEST_CASE("empty and oversized batches are operating errors that change nothing") {
  TempDir dir;
  auto engine = open_engine(dir.path());
  std::vector<ledger::Command> none;
  auto empty = engine->apply(none);
  CHECK_FALSE(empty.is_ok());
  std::vector<ledger::Command> huge(ledger::batch_commands_max + 1, cmd("o", open_account("a")));
  auto too_big = engine->apply(huge);
  REQUIRE_FALSE(too_big.is_ok());
  CHECK(too_big.status().code() == Status::Code::invalid_argument);
  CHECK(engine->head().ledger.next_seq == 1);
  CHECK(verify_store(*engine).ok);
}

}  // namespace
}  // namespace lf::test
