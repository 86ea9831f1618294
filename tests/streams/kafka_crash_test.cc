// Crash: `ledgerflow run` is killed with SIGKILL at seeded random moments,
// many times, while commands keep arriving; each time it is restarted. At
// the end every command has exactly one outcome on the outcomes topic,
// balances equal the reference model, every shard's chain verifies, and the
// stored offsets are the partitions' ends (nothing skipped, nothing twice),
// and every shard's log and state digest are identical to a clean run's.
//
// LF_CRASH_KILLS sets the number of kills (default 50, the CI setting; the
// long mode for manual runs is e.g. LF_CRASH_KILLS=2000); LF_SEED the seed.
#include <fcntl.h>
#include <signal.h>
#include <spawn.h>
#include <sys/wait.h>
#include <unistd.h>

#include <catch2/catch.hpp>
#include <cstdlib>
#include <fstream>
#include <iterator>
#include <random>

#include "engine/digest.h"
#include "tests/streams/kafka_world.h"
#include "tests/support/books.h"
#include "tests/support/commands.h"
#include "tests/support/workload.h"

extern char** environ;

namespace lf::test {
namespace {

constexpr std::size_t kills_default = 50;
constexpr std::uint64_t kill_delay_ms_min = 20;
constexpr std::uint64_t kill_delay_ms_span = 700;

std::size_t kills_from_env() {
  const char* text = std::getenv("LF_CRASH_KILLS");
  return text == nullptr ? kills_default : std::strtoull(text, nullptr, 10);
}

// Starts `ledgerflow run` owning every partition; its output goes to `log`.
pid_t start_engine(const KafkaWorld& world, const std::string& log) {
  std::vector<std::string> args{
      LF_LEDGERFLOW_BIN, "run",          "--brokers", world.broker->bootstrap_servers(),
      "--topic",         commands_topic, "--db",      world.dir.path("shards"),
      "--partitions",    "all",          "--batch",   "200",
      "--until-idle",    "--idle-ms",    "300",       "-X",
      "log_level=2"};
  std::vector<char*> argv;
  for (std::string& a : args) argv.push_back(a.data());
  argv.push_back(nullptr);
  posix_spawn_file_actions_t actions;
  posix_spawn_file_actions_init(&actions);
  posix_spawn_file_actions_addopen(&actions, 1, log.c_str(), O_WRONLY | O_CREAT | O_APPEND, 0644);
  posix_spawn_file_actions_adddup2(&actions, 1, 2);
  pid_t pid = -1;
  const int spawned = posix_spawn(&pid, argv[0], &actions, nullptr, argv.data(), environ);
  posix_spawn_file_actions_destroy(&actions);
  REQUIRE(spawned == 0);
  return pid;
}

std::string tail_of(const std::string& path) {
  std::ifstream in(path);
  std::string text((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  return text.size() > 3000 ? text.substr(text.size() - 3000) : text;
}

// Waits for the child; returns its exit code, or -signal when killed.
int wait_engine(pid_t pid) {
  int status = 0;
  REQUIRE(waitpid(pid, &status, 0) == pid);
  if (WIFSIGNALED(status)) return -WTERMSIG(status);
  return WEXITSTATUS(status);
}

TEST_CASE("crash: SIGKILL the engine at random moments; nothing lost, nothing applied twice",
          "[kafka][crash]") {
  const std::uint64_t seed = seed_from_env();
  const std::size_t kills = kills_from_env();
  INFO("seed " << seed << ", kills " << kills << " (LF_SEED, LF_CRASH_KILLS)");
  KafkaWorld world(3);
  const std::string log = world.dir.path("engine.log");
  std::mt19937_64 random(seed);
  constexpr std::size_t books = 6;
  constexpr std::size_t per_book_per_round = 40;
  std::vector<std::vector<ledger::Command>> per_partition(3);
  std::uint64_t poison = 0;
  std::size_t killed = 0;
  for (std::size_t round = 0; round < kills; ++round) {
    // New commands keep arriving between crashes (and some poison).
    const auto chunk = book_workload(seed + round, books, per_book_per_round);
    std::vector<ledger::Command> renamed;
    for (const ledger::Command& c : chunk) {
      // Ids unique per round: a later round must not collide with an earlier one.
      renamed.push_back(c);
      renamed.back().id += "~" + std::to_string(round);
    }
    auto produced = world.produce(renamed, 16);
    for (std::size_t p = 0; p < produced.size(); ++p) {
      per_partition[p].insert(per_partition[p].end(), produced[p].begin(), produced[p].end());
    }
    if (round % 7 == 3) {
      world.produce_raw(static_cast<std::int32_t>(round % 3), {"not a command"});
      ++poison;
    }
    const pid_t pid = start_engine(world, log);
    const std::uint64_t delay_ms = kill_delay_ms_min + random() % kill_delay_ms_span;
    // The delay is the fault's timing, not a synchronisation: any moment is
    // a valid moment to crash.
    usleep(static_cast<useconds_t>(delay_ms * 1000));
    kill(pid, SIGKILL);
    const int code = wait_engine(pid);
    if (code == -SIGKILL) ++killed;
    INFO("engine log: " << log);
    CHECK((code == -SIGKILL || code == 0));
  }
  // Most rounds must really have been cut short, or the test proves little.
  CHECK(killed * 2 >= kills);
  // A last clean run catches up and publishes everything.
  const pid_t pid = start_engine(world, log);
  const int last_exit = wait_engine(pid);
  INFO("engine log tail:\n" << tail_of(log));
  REQUIRE(last_exit == 0);
  check_world(world, per_partition, poison);

  // A clean run over the same topic, never killed, in another directory and
  // publishing nothing, builds byte-identical shards: the same chain heads.
  streams::RunOptions clean = world.run_options();
  clean.db_dir = world.dir.path("clean");
  clean.relay = {};
  REQUIRE(streams::run(clean).is_ok());
  for (int p = 0; p < world.partitions; ++p) {
    INFO("shard " << p);
    auto crashed =
        engine::Engine::open(streams::shard_directory(world.dir.path("shards"), commands_topic, p));
    auto reference =
        engine::Engine::open(streams::shard_directory(clean.db_dir, commands_topic, p));
    REQUIRE(crashed.is_ok());
    REQUIRE(reference.is_ok());
    CHECK((*crashed)->head().ledger == (*reference)->head().ledger);
    CHECK((*crashed)->head().chain_head == (*reference)->head().chain_head);
    CHECK(raw_events(**crashed) == raw_events(**reference));
    auto crashed_digest = engine::store_digest(**crashed);
    auto reference_digest = engine::store_digest(**reference);
    REQUIRE(crashed_digest.is_ok());
    REQUIRE(reference_digest.is_ok());
    CHECK(*crashed_digest == *reference_digest);
  }
}

}  // namespace
}  // namespace lf::test
