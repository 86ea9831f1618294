// Event encodings (codec::event_schema_version): the log of a fixed command
// sequence is pinned by its chain head in both encodings, and a store whose
// unflushed tail was written in encoding 1 reopens, re-executes that tail and
// goes on in encoding 2, then re-executes as a whole (replay reexecute).
// Events sealed with their hashes left out and chained afterwards (the
// engine's split between its deciding and writer threads) are the bytes of
// events sealed chained.
#include <catch2/catch.hpp>
#include <memory>
#include <string>
#include <vector>

#include "engine/replay.h"
#include "schemas/codec.h"
#include "schemas/json.h"
#include "tests/engine/fixtures.h"
#include "tests/support/commands.h"

namespace lf::test {
namespace {

// docs/json.md's examples, in order (the two it shows failing to decode are
// left out): every command type, holds posted, voided and expired, a linked
// chain that fails, a rejection, a duplicate.
const char* const golden_commands[] = {
    R"({"id":"open-cash","timestamp_ms":1767225600000,"body_type":"OpenAccount","body":{"account":"assets:cash","asset":"USD","scale":2}})",
    R"({"id":"open-alice","timestamp_ms":1767225600000,"body_type":"OpenAccount","body":{"account":"customer:alice","asset":"USD","scale":2,"debits_must_not_exceed_credits":true,"metadata":"{\"kyc\":\"verified\"}"}})",
    R"({"id":"open-shop","timestamp_ms":1767225600000,"body_type":"OpenAccount","body":{"account":"merchant:shop","asset":"USD","scale":2,"debits_must_not_exceed_credits":true,"overdraft_limit":10000}})",
    R"({"id":"open-fees","timestamp_ms":1767225600000,"body_type":"OpenAccount","body":{"account":"revenue:fees","asset":"USD","scale":2}})",
    R"({"id":"open-escrow","timestamp_ms":1767225600000,"body_type":"OpenAccount","body":{"account":"escrow:tmp","asset":"USD","scale":2}})",
    R"({"id":"deposit-1","timestamp_ms":1767225601000,"body_type":"Transfer","body":{"debit_account":"assets:cash","credit_account":"customer:alice","amount":50000,"asset":"USD","reference":"card top-up"}})",
    R"({"id":"auth-1","timestamp_ms":1767225602000,"body_type":"Transfer","body":{"debit_account":"customer:alice","credit_account":"merchant:shop","amount":12000,"asset":"USD","pending":true,"timeout_s":600,"reference":"order 1001"}})",
    R"({"id":"capture-1","timestamp_ms":1767225603000,"body_type":"PostPending","body":{"pending_id":"auth-1","amount":10000}})",
    R"({"id":"auth-2","timestamp_ms":1767225604000,"body_type":"Transfer","body":{"debit_account":"customer:alice","credit_account":"merchant:shop","amount":3000,"asset":"USD","pending":true,"timeout_s":600}})",
    R"({"id":"capture-2","timestamp_ms":1767225605000,"body_type":"PostPending","body":{"pending_id":"auth-2"}})",
    R"({"id":"auth-3","timestamp_ms":1767225606000,"body_type":"Transfer","body":{"debit_account":"customer:alice","credit_account":"merchant:shop","amount":2000,"asset":"USD","pending":true}})",
    R"({"id":"void-3","timestamp_ms":1767225607000,"body_type":"VoidPending","body":{"pending_id":"auth-3"}})",
    R"({"id":"payout-1","timestamp_ms":1767225608000,"body_type":"Journal","body":{"legs":[{"account":"merchant:shop","asset":"USD","side":"debit","amount":13000},{"account":"revenue:fees","asset":"USD","side":"credit","amount":390},{"account":"assets:cash","asset":"USD","side":"credit","amount":12610}],"reference":"payout, 3% fee"}})",
    R"({"id":"refund-1","timestamp_ms":1767225609000,"body_type":"Linked","body":{"steps":[{"id":"refund-1.hold","body_type":"Transfer","body":{"debit_account":"revenue:fees","credit_account":"customer:alice","amount":390,"asset":"USD","pending":true}},{"id":"refund-1.post","body_type":"PostPending","body":{"pending_id":"refund-1.hold"}}]}})",
    R"({"id":"close-escrow","timestamp_ms":1767225610000,"body_type":"CloseAccount","body":{"account":"escrow:tmp"}})",
    R"({"id":"auth-4","timestamp_ms":1767225611000,"body_type":"Transfer","body":{"debit_account":"customer:alice","credit_account":"merchant:shop","amount":1500,"asset":"USD","pending":true,"timeout_s":60}})",
    R"({"id":"overspend-1","timestamp_ms":1767225671000,"body_type":"Transfer","body":{"debit_account":"customer:alice","credit_account":"merchant:shop","amount":"9007199254740993","asset":"USD"}})",
    R"({"id":"chain-2","timestamp_ms":1767225672000,"body_type":"Linked","body":{"steps":[{"id":"chain-2.a","body_type":"Transfer","body":{"debit_account":"assets:cash","credit_account":"customer:alice","amount":100,"asset":"USD"}},{"id":"chain-2.b","body_type":"Transfer","body":{"debit_account":"customer:alice","credit_account":"nobody","amount":100,"asset":"USD"}}]}})",
    R"({"id":"deposit-1","timestamp_ms":1767225673000,"body_type":"Transfer","body":{"debit_account":"assets:cash","credit_account":"customer:alice","amount":50000,"asset":"USD","reference":"card top-up"}})",
    R"({"id":"ok-1","timestamp_ms":1767225700000,"body_type":"OpenAccount","body":{"account":"x:1","asset":"USD","scale":2}})",
    R"({"id":"ok-2","timestamp_ms":1767225700000,"body_type":"CloseAccount","body":{"account":"x:1"}})",
};

// Chain heads of the log these commands give. Encoding 1's was printed by
// `ledgerflow verify` built at 6075931, before encoding 2 existed: encoding 1
// must stay byte for byte what it was, or logs written before cannot be
// re-executed.
constexpr const char* chain_head_encoding_1 =
    "0fa66c38e069d83364b86c885185fa558099f33800910652adfd4394761494d5";
constexpr const char* chain_head_encoding_2 =
    "44236deff27d50fc1e78c52a19c1654f7aed20e37b660e7c26bc6969f2e7320f";
constexpr std::size_t golden_events = 22;

std::vector<ledger::Command> golden() {
  codec::JsonCodec json;
  std::vector<ledger::Command> commands;
  for (const char* line : golden_commands) {
    auto command = json.parse_command(line);
    INFO(line);
    REQUIRE(command.is_ok());
    commands.push_back(std::move(command).value());
  }
  return commands;
}

// Opens every stored event: its encoding version and sealed size.
std::vector<std::pair<std::uint16_t, std::size_t>> versions_and_sizes(engine::Engine& engine) {
  std::vector<std::pair<std::uint16_t, std::size_t>> out;
  for (const std::string& sealed : raw_events(engine)) {
    auto opened = codec::open_event(sealed);
    REQUIRE(opened.is_ok());
    out.emplace_back(opened->schema_version, sealed.size());
  }
  return out;
}

// A store holding the golden commands' log in encoding `version`.
std::unique_ptr<engine::Engine> golden_store(const TempDir& dir, std::uint16_t version) {
  auto engine = open_engine(dir.path());
  REQUIRE(engine->set_event_schema_version(version).is_ok());
  apply_all(*engine, golden(), 5);
  return engine;
}

TEST_CASE("each event encoding gives its pinned log for the golden commands",
          "[engine][encoding]") {
  for (const std::uint16_t version : {std::uint16_t{1}, std::uint16_t{2}}) {
    TempDir dir;
    auto engine = golden_store(dir, version);
    CHECK(engine->head().ledger.next_seq == golden_events + 1);
    CHECK(to_hex(engine->head().chain_head) ==
          (version == 1 ? chain_head_encoding_1 : chain_head_encoding_2));
    for (const auto& [logged_version, bytes] : versions_and_sizes(*engine)) {
      CHECK(logged_version == version);
    }
    CHECK(verify_store(*engine).ok);
  }
}

TEST_CASE("events sealed with their hashes left out and chained later are the chained bytes",
          "[engine][encoding]") {
  for (const std::uint16_t version : {std::uint16_t{1}, std::uint16_t{2}}) {
    TempDir dir;
    auto engine = golden_store(dir, version);
    codec::EventEncoder encoder;
    Sha256 prev{};
    for (const std::string& logged : raw_events(*engine)) {
      auto opened = codec::open_event(logged);
      REQUIRE(opened.is_ok());
      // Chained in one go, as seal_view(encode()) does.
      const std::string event_bytes(encoder.encode(opened->event, prev, version));
      const Sha256 hash = sha256(event_bytes);
      const std::string chained(encoder.seal_view(event_bytes, hash));
      // Sealed first with zero hashes, then chained in place.
      codec::SealedLayout layout;
      std::string unchained(encoder.seal_unchained(opened->event, version, layout));
      CHECK(unchained.size() == chained.size());
      CHECK(unchained != chained);  // The hashes are not there yet.
      CHECK(codec::chain_sealed(unchained, layout, prev) == hash);
      CHECK(unchained == chained);
      // The engine seals and chains this way too: what it logged is the same
      // bytes (and the pinned chain heads above tie them to the old path).
      CHECK(unchained == logged);
      CHECK(opened->prev_hash == prev);
      CHECK(opened->hash == hash);
      prev = hash;
    }
    CHECK(prev == engine->head().chain_head);
  }
}

TEST_CASE("encoding 2 shares strings: same events, fewer bytes", "[engine][encoding]") {
  ledger::Event event;
  event.seq = 7;
  event.command_id = "t-42";
  event.timestamp_ms = 1000;
  ledger::Command command;
  command.id = "t-42";
  command.timestamp_ms = 1000;
  command.body = ledger::Transfer{"customer:alice", "merchant:shop", 500, "USD", false, 0, {}};
  event.command = command;
  event.body = ledger::TransferPosted{"t-42", "customer:alice", "merchant:shop", "USD", 500, {}};
  event.postings = {
      {"customer:alice", "USD", ledger::Side::debit, ledger::Bucket::posted, true, 500},
      {"merchant:shop", "USD", ledger::Side::credit, ledger::Bucket::posted, true, 500}};
  codec::EventEncoder encoder;
  const Sha256 prev{};
  const std::string one(encoder.encode(event, prev, 1));
  const std::string two(encoder.encode(event, prev, 2));
  CHECK(two.size() + 100 < one.size());  // Ids three times, the asset four: one copy each.
  for (const std::string* bytes : {&one, &two}) {
    const Sha256 hash = sha256(*bytes);
    auto opened = codec::open_event(encoder.seal(*bytes, hash));
    REQUIRE(opened.is_ok());
    CHECK(opened->schema_version == (bytes == &one ? 1 : 2));
    CHECK(opened->event == event);
  }
  // Deterministic: the same event, the same bytes, after other events.
  event.command_id = "other";
  (void)encoder.encode(event, prev, 2);
  event.command_id = "t-42";
  CHECK(std::string(encoder.encode(event, prev, 2)) == two);
}

TEST_CASE("every event the engine logs decodes, however much its strings are shared",
          "[engine][encoding]") {
  // Decoding copies a shared string at every use and charges each copy, so
  // these events decode to far more than 4x their bytes: the floor
  // codec::event_decode_bytes_min admits them. All are rejected (no such
  // accounts, too many legs, invalid ids) and logged whole.
  const std::string account(64, 'a');
  auto journal_of = [&](std::size_t legs, const std::string& name) {
    ledger::Journal journal;
    for (std::size_t i = 0; i < legs; ++i) {
      journal.legs.push_back({name, name.empty() ? "" : "USD",
                              i % 2 == 0 ? ledger::Side::debit : ledger::Side::credit,
                              name.empty() ? ledger::Amount{0} : ledger::Amount{1}});
    }
    return journal;
  };
  ledger::Linked chain;
  for (int i = 0; i < 5; ++i)
    chain.steps.push_back({"step-" + std::to_string(i), journal_of(60, account)});
  const std::string huge(200'000, 'x');  // One string, six uses.
  ledger::Command shared_transfer =
      cmd("unused", ledger::Transfer{huge, huge, 1, huge, false, 0, huge});
  shared_transfer.id = huge;
  const std::vector<ledger::Command> commands = {
      cmd("journal-200", journal_of(200, account)),  // 200 legs naming one account.
      cmd("journal-5000", journal_of(5000, account)),
      cmd("linked-300", chain),
      cmd("journal-40000", journal_of(40'000, "")),  // Default legs: 8 bytes each.
      shared_transfer,
  };
  for (const ledger::Command& command : commands) {
    REQUIRE(codec::command_decode_bytes(command) <= codec::command_decode_bytes_max);
  }
  TempDir dir;
  engine::EngineOptions keep_tail;
  keep_tail.flush_projections_on_close = false;
  {
    auto engine = open_engine(dir.path(), keep_tail);
    for (const ledger::Outcome& outcome : apply_all(*engine, commands, 2)) {
      CHECK(outcome.status == ledger::OutcomeStatus::rejected);
    }
    const auto logged = versions_and_sizes(*engine);  // Each event opens.
    REQUIRE(logged.size() == commands.size());
    for (const auto& [version, bytes] : logged) CHECK(version == 2);
    CHECK(logged.back().second < 210'000);  // The 200 kB string once, not six times.
  }
  auto engine = open_engine(dir.path());  // Re-executes them all.
  CHECK(engine->head().ledger.next_seq == commands.size() + 1);
  CHECK(verify_store(*engine).ok);
  auto report = engine::reexecute(*engine, dir.path("scratch"));
  REQUIRE(report.is_ok());
  INFO(report->problem);
  CHECK(report->ok);
}

TEST_CASE("a command larger than any decoder accepts is refused before anything is applied",
          "[engine][encoding]") {
  ledger::Journal journal;
  journal.legs.resize(codec::command_decode_bytes_max / 64 + 1);  // Default legs, 64 bytes each.
  const std::vector<ledger::Command> batch = {cmd("ok", open_account("a")), cmd("big", journal)};
  REQUIRE(codec::command_decode_bytes(batch[1]) > codec::command_decode_bytes_max);
  TempDir dir;
  auto engine = open_engine(dir.path());
  auto applied = engine->apply(batch);
  REQUIRE_FALSE(applied.is_ok());
  CHECK(applied.status().code() == Status::Code::invalid_argument);
  CHECK_THAT(applied.status().message(), Catch::Contains("command 1"));
  CHECK(engine->submit(batch).code() == Status::Code::invalid_argument);
  CHECK(engine->head().ledger.next_seq == 1);  // Nothing of the batch.
  CHECK(engine->in_flight() == 0);
  std::vector<ledger::Command> long_topic = {cmd("t", open_account("b"))};
  long_topic[0].source.topic = std::string(codec::source_topic_bytes_max + 1, 't');
  CHECK(engine->apply(long_topic).status().code() == Status::Code::invalid_argument);
  long_topic[0].source.topic.pop_back();  // At the limit: applied.
  CHECK(engine->apply(long_topic).is_ok());
  CHECK(engine->head().ledger.next_seq == 2);  // Only that opening.
}

TEST_CASE("a log tail in encoding 1 reopens, goes on in encoding 2 and re-executes",
          "[engine][encoding]") {
  const std::vector<ledger::Command> commands = golden();
  TempDir dir;
  engine::EngineOptions keep_tail;
  keep_tail.flush_projections_on_close = false;  // Open must re-execute the tail.
  {
    auto engine = open_engine(dir.path(), keep_tail);
    REQUIRE(engine->set_event_schema_version(1).is_ok());
    apply_all(*engine, std::vector(commands.begin(), commands.begin() + 12), 4);
  }
  {
    auto engine = open_engine(dir.path(), keep_tail);  // Re-executes events 1.. in encoding 1.
    CHECK(engine->event_schema_version() == codec::event_schema_version);
    apply_all(*engine, std::vector(commands.begin() + 12, commands.end()), 4);
  }
  auto engine = open_engine(dir.path());  // Re-executes a tail of both encodings.
  CHECK(engine->head().ledger.next_seq == golden_events + 1);
  const auto logged = versions_and_sizes(*engine);
  REQUIRE(logged.size() == golden_events);
  CHECK(logged.front().first == 1);
  CHECK(logged.back().first == 2);
  CHECK(verify_store(*engine).ok);
  auto report = engine::reexecute(*engine, dir.path("scratch"), nullptr, 3);
  REQUIRE(report.is_ok());
  INFO(report->problem);
  CHECK(report->ok);
  CHECK(report->chain_head == engine->head().chain_head);
  CHECK(engine->set_event_schema_version(3).code() == Status::Code::invalid_argument);
  CHECK(engine->set_event_schema_version(0).code() == Status::Code::invalid_argument);
}

}  // namespace
}  // namespace lf::test
