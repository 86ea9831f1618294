// ledgerflow: the command-line front end of the ledger engine.
//
//   ledgerflow apply    --db DIR [FILE|-]    apply JSON-lines commands
//   ledgerflow balance  --db DIR ACCOUNT     one account's balances
//   ledgerflow balances --db DIR             trial balance
//   ledgerflow history  --db DIR ACCOUNT     events that moved an account
//   ledgerflow events   --db DIR [--from N]  the log as JSON lines
//   ledgerflow verify   --db DIR             audit the store
//   ledgerflow broker | produce | run | outcomes     Kafka (tools/kafka_commands.h)
//   ledgerflow verify   --db DIR             audit the store, print its state digest
//   ledgerflow snapshot|replay|log ...       snapshots, replay, export (audit_commands.h)
//
// Exit codes: tools/cli_common.h.
#include <fmt/format.h>

#include <CLI/CLI.hpp>
#include <csignal>
#include <cstdio>
#include <fstream>
#include <iostream>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "engine/engine.h"
#include "engine/process_files.h"
#include "engine/process_memory.h"
#include "engine/verify.h"
#include "ledger/limits.h"
#include "schemas/json.h"
#include "streams/broker.h"
#include "tools/audit_commands.h"
#include "tools/cli_common.h"
#include "tools/kafka_commands.h"

namespace {

using lf::Result;
using lf::Status;
using lf::engine::Engine;

using lf::cli::exit_bad_input;
using lf::cli::exit_error;
using lf::cli::exit_ok;
using lf::cli::exit_usage;
using lf::cli::exit_verify_failed;
using lf::cli::fail;

Result<std::unique_ptr<Engine>> open_engine(const std::string& db, bool create) {
  lf::engine::EngineOptions options;
  options.create_if_missing = create;
  return Engine::open(db, options);
}

// Formats minor units with the asset's scale: 12345 at scale 2 -> "123.45".
std::string format_amount(unsigned __int128 units, std::uint8_t scale) {
  std::string digits;
  do {
    digits.insert(digits.begin(), static_cast<char>('0' + static_cast<int>(units % 10)));
    units /= 10;
  } while (units != 0);
  if (scale == 0) return digits;
  if (digits.size() <= scale) digits.insert(0, scale + 1 - digits.size(), '0');
  digits.insert(digits.size() - scale, ".");
  return digits;
}

// A JSON string literal, quotes included.
std::string json_escape(std::string_view s) {
  std::string out = "\"";
  for (char c : s) {
    if (c == '"' || c == '\\') {
      out += '\\';
      out += c;
    } else if (static_cast<unsigned char>(c) < 0x20) {
      out += fmt::format("\\u{:04x}", static_cast<int>(c));
    } else {
      out += c;
    }
  }
  return out + "\"";
}

std::string u128_string(unsigned __int128 v) { return format_amount(v, 0); }

// ---------------------------------------------------------------- apply

struct ApplyArgs {
  std::string db;
  std::string input = "-";
  bool json = false;
  bool quiet = false;
  std::size_t batch = 4096;
};

struct ApplySummary {
  std::uint64_t lines = 0;
  std::uint64_t accepted = 0;
  std::uint64_t rejected = 0;
  std::uint64_t duplicates = 0;
  std::uint64_t undecodable = 0;
};

void print_outcome(lf::codec::JsonCodec& codec, const lf::ledger::Outcome& o, bool json) {
  if (json) {
    fmt::print("{}\n", codec.outcome_to_json(o));
    return;
  }
  if (o.status == lf::ledger::OutcomeStatus::accepted) {
    fmt::print("{:<24} accepted{} seq {}\n", o.command_id, o.duplicate ? " (duplicate)" : "",
               o.first_seq);
    return;
  }
  std::string detail = o.field.empty() ? "" : " (" + o.field + ")";
  fmt::print("{:<24} rejected{} {}{} seq {}\n", o.command_id, o.duplicate ? " (duplicate)" : "",
             lf::ledger::reject_reason_name(o.reason), detail, o.first_seq);
}

Status flush_batch(Engine& engine, lf::codec::JsonCodec& codec,
                   std::vector<lf::ledger::Command>& batch, const ApplyArgs& args,
                   ApplySummary& summary) {
  if (batch.empty()) return Status::ok();
  Result<lf::engine::BatchResult> result = engine.apply(batch);
  if (!result.is_ok()) return result.status();
  for (const lf::ledger::Outcome& o : result->outcomes) {
    if (o.duplicate) ++summary.duplicates;
    (o.status == lf::ledger::OutcomeStatus::accepted ? summary.accepted : summary.rejected)++;
    if (!args.quiet) print_outcome(codec, o, args.json);
  }
  batch.clear();
  return Status::ok();
}

int run_apply(const ApplyArgs& args) {
  std::ifstream file;
  std::istream* in = &std::cin;
  if (args.input != "-") {
    file.open(args.input);
    if (!file) {
      fmt::print(stderr, "ledgerflow: cannot open {}\n", args.input);
      return exit_error;
    }
    in = &file;
  }
  Result<std::unique_ptr<Engine>> engine = open_engine(args.db, true);
  if (!engine.is_ok()) return fail(engine.status());
  lf::codec::JsonCodec codec;
  std::vector<lf::ledger::Command> batch;
  ApplySummary summary;
  std::string line;
  const std::size_t batch_max =
      std::clamp<std::size_t>(args.batch, 1, lf::ledger::batch_commands_max);
  while (std::getline(*in, line)) {
    ++summary.lines;
    if (line.find_first_not_of(" \t\r") == std::string::npos) continue;
    if (line[0] == '#') continue;  // Comments in sample files.
    Result<lf::ledger::Command> command = codec.parse_command(line);
    if (!command.is_ok()) {
      ++summary.undecodable;
      fmt::print(stderr, "ledgerflow: line {}: {}\n", summary.lines, command.status().message());
      continue;
    }
    batch.push_back(std::move(command).value());
    if (batch.size() >= batch_max) {
      Status s = flush_batch(**engine, codec, batch, args, summary);
      if (!s.is_ok()) return fail(s);
    }
  }
  Status s = flush_batch(**engine, codec, batch, args, summary);
  if (!s.is_ok()) return fail(s);
  s = (*engine)->catch_up_history();
  if (!s.is_ok()) return fail(s);
  const std::string text = fmt::format(
      "applied {} commands: {} accepted, {} rejected, {} duplicates; {} undecodable lines; "
      "log head {}",
      summary.accepted + summary.rejected, summary.accepted, summary.rejected, summary.duplicates,
      summary.undecodable, (*engine)->head().ledger.next_seq - 1);
  if (args.json) {
    fmt::print(stderr, "{}\n", text);
  } else {
    fmt::print("{}\n", text);
  }
  return summary.undecodable == 0 ? exit_ok : exit_bad_input;
}

// ---------------------------------------------------------------- queries

std::string account_json(const lf::ledger::Account& a) {
  const auto& b = a.balances;
  return fmt::format(R"({{"account":"{}","asset":"{}","scale":{},"closed":{},"debits_pending":{},)"
                     R"("debits_posted":{},"credits_pending":{},"credits_posted":{}}})",
                     a.id, a.asset, a.scale, a.closed, b.debits_pending, b.debits_posted,
                     b.credits_pending, b.credits_posted);
}

int run_balance(const std::string& db, const std::string& id, bool json) {
  Result<std::unique_ptr<Engine>> engine = open_engine(db, false);
  if (!engine.is_ok()) return fail(engine.status());
  Result<std::optional<lf::ledger::Account>> account = (*engine)->account(id);
  if (!account.is_ok()) return fail(account.status());
  if (!account->has_value()) {
    fmt::print(stderr, "ledgerflow: account {} not found\n", id);
    return exit_error;
  }
  const lf::ledger::Account& a = **account;
  if (json) {
    fmt::print("{}\n", account_json(a));
    return exit_ok;
  }
  const auto& b = a.balances;
  const auto net = static_cast<__int128>(b.credits_posted) - static_cast<__int128>(b.debits_posted);
  fmt::print("account          {}{}\n", a.id, a.closed ? " (closed)" : "");
  fmt::print("asset            {} (scale {})\n", a.asset, a.scale);
  fmt::print("debits posted    {}\n", format_amount(b.debits_posted, a.scale));
  fmt::print("credits posted   {}\n", format_amount(b.credits_posted, a.scale));
  fmt::print("debits pending   {}\n", format_amount(b.debits_pending, a.scale));
  fmt::print("credits pending  {}\n", format_amount(b.credits_pending, a.scale));
  fmt::print("net (cr - dr)    {}{}\n", net < 0 ? "-" : "",
             format_amount(static_cast<unsigned __int128>(net < 0 ? -net : net), a.scale));
  return exit_ok;
}

int run_balances(const std::string& db, bool json) {
  Result<std::unique_ptr<Engine>> engine = open_engine(db, false);
  if (!engine.is_ok()) return fail(engine.status());
  std::map<std::string, lf::engine::AssetTotals> totals;
  std::map<std::string, std::uint8_t> scales;
  if (!json) {
    fmt::print("{:<36} {:<6} {:>18} {:>18} {:>14} {:>14}\n", "account", "asset", "debits posted",
               "credits posted", "dr pending", "cr pending");
  }
  Status s = (*engine)->for_each_account([&](const lf::ledger::Account& a) {
    lf::engine::AssetTotals& t = totals[a.asset];
    const auto& b = a.balances;
    t.debits_posted += b.debits_posted;
    t.credits_posted += b.credits_posted;
    t.debits_pending += b.debits_pending;
    t.credits_pending += b.credits_pending;
    scales[a.asset] = a.scale;
    if (json) {
      fmt::print("{}\n", account_json(a));
    } else {
      fmt::print("{:<36} {:<6} {:>18} {:>18} {:>14} {:>14}{}\n", a.id, a.asset,
                 format_amount(b.debits_posted, a.scale), format_amount(b.credits_posted, a.scale),
                 format_amount(b.debits_pending, a.scale),
                 format_amount(b.credits_pending, a.scale), a.closed ? " closed" : "");
    }
    return true;
  });
  if (!s.is_ok()) return fail(s);
  bool nets_to_zero = true;
  for (const auto& [asset, t] : totals) {
    const bool zero = t.debits_posted == t.credits_posted && t.debits_pending == t.credits_pending;
    nets_to_zero = nets_to_zero && zero;
    if (json) {
      fmt::print(R"({{"asset":"{}","debits_posted":{},"credits_posted":{},"debits_pending":{},)"
                 R"("credits_pending":{},"nets_to_zero":{}}})"
                 "\n",
                 asset, u128_string(t.debits_posted), u128_string(t.credits_posted),
                 u128_string(t.debits_pending), u128_string(t.credits_pending), zero);
    } else {
      fmt::print("{:<36} {:<6} {:>18} {:>18} {:>14} {:>14} {}\n", "TOTAL", asset,
                 format_amount(t.debits_posted, scales[asset]),
                 format_amount(t.credits_posted, scales[asset]),
                 format_amount(t.debits_pending, scales[asset]),
                 format_amount(t.credits_pending, scales[asset]),
                 zero ? "nets to zero" : "DOES NOT NET TO ZERO");
    }
  }
  return nets_to_zero ? exit_ok : exit_verify_failed;
}

int run_history(const std::string& db, const std::string& id, std::size_t limit, bool json) {
  Result<std::unique_ptr<Engine>> engine = open_engine(db, false);
  if (!engine.is_ok()) return fail(engine.status());
  Result<std::optional<lf::ledger::Account>> account = (*engine)->account(id);
  if (!account.is_ok()) return fail(account.status());
  if (!account->has_value()) {
    fmt::print(stderr, "ledgerflow: account {} not found\n", id);
    return exit_error;
  }
  Result<lf::engine::HistoryPage> page = (*engine)->history(id, limit);
  if (!page.is_ok()) return fail(page.status());
  lf::codec::JsonCodec codec;
  if (!json) {
    fmt::print("history of {} (index covers events 1..{} of {})\n", id, page->indexed_through,
               page->log_head);
  }
  for (const lf::engine::HistoryEntry& entry : page->entries) {
    const lf::ledger::Event& e = entry.event;
    if (json) {
      std::string postings;
      for (const auto& p : e.postings) {
        if (p.account != id) continue;
        postings += fmt::format(
            R"({}{{"side":"{}","bucket":"{}","increase":{},"amount":{}}})",
            postings.empty() ? "" : ",", p.side == lf::ledger::Side::debit ? "debit" : "credit",
            p.bucket == lf::ledger::Bucket::posted ? "posted" : "pending", p.increase, p.amount);
      }
      fmt::print(R"({{"seq":{},"command_id":"{}","type":"{}","timestamp_ms":{},"postings":[{}]}})"
                 "\n",
                 e.seq, e.command_id, lf::ledger::event_type_name(e.body), e.timestamp_ms,
                 postings);
      continue;
    }
    std::string moves;
    for (const auto& p : e.postings) {
      if (p.account != id) continue;
      moves += fmt::format(" {} {} {}{}", p.side == lf::ledger::Side::debit ? "dr" : "cr",
                           p.bucket == lf::ledger::Bucket::posted ? "posted" : "pending",
                           p.increase ? "+" : "-", format_amount(p.amount, (*account)->scale));
    }
    fmt::print("{:>10}  t={:<14} {:<16} {:<24}{}\n", entry.seq, e.timestamp_ms,
               lf::ledger::event_type_name(e.body), e.command_id, moves);
  }
  return exit_ok;
}

int run_events(const std::string& db, std::uint64_t from, std::uint64_t limit) {
  Result<std::unique_ptr<Engine>> engine = open_engine(db, false);
  if (!engine.is_ok()) return fail(engine.status());
  lf::codec::JsonCodec codec;
  std::uint64_t printed = 0;
  if (limit == 0) return exit_ok;
  Status s = (*engine)->for_each_event(from, [&](const lf::codec::OpenedEvent& e) {
    fmt::print("{}\n", codec.event_to_json(e));
    return ++printed < limit;
  });
  if (!s.is_ok()) return fail(s);
  return exit_ok;
}

int run_verify(const std::string& db, bool json) {
  Result<std::unique_ptr<Engine>> engine = open_engine(db, false);
  if (!engine.is_ok()) return fail(engine.status());
  Result<lf::engine::VerifyReport> report = lf::engine::verify(**engine);
  if (!report.is_ok()) return fail(report.status());
  const lf::engine::VerifyReport& r = *report;
  if (json) {
    fmt::print(R"({{"ok":{},"bad_seq":{},"problem":{},"events":{},"accounts":{},"pendings":{},)"
               R"("chain_head":"{}","state_digest":{}}})"
               "\n",
               r.ok, r.bad_seq ? std::to_string(*r.bad_seq) : "null", json_escape(r.problem),
               r.events_checked, r.accounts_checked, r.pendings_checked, lf::to_hex(r.chain_head),
               r.ok ? "\"" + lf::to_hex(r.state_digest) + "\"" : "null");
  } else if (r.ok) {
    fmt::print(
        "verify: OK: {} events chained and balanced, {} accounts and {} pending transfers match "
        "the log, trial balance nets to zero for {} assets; chain head {}; state digest {}\n",
        r.events_checked, r.accounts_checked, r.pendings_checked, r.totals.size(),
        lf::to_hex(r.chain_head), lf::to_hex(r.state_digest));
  } else {
    fmt::print("verify: FAILED at seq {}: {}\n", r.bad_seq ? std::to_string(*r.bad_seq) : "(none)",
               r.problem);
  }
  return r.ok ? exit_ok : exit_verify_failed;
}

// ---------------------------------------------------------------- broker

int run_broker(int broker_count, const std::vector<std::string>& topic_texts,
               const std::string& bootstrap_file) {
  std::vector<lf::streams::TopicSpec> topics;
  for (const std::string& text : topic_texts) {
    Result<lf::streams::TopicSpec> spec = lf::streams::parse_topic_spec(text);
    if (!spec.is_ok()) return fail(spec.status());
    topics.push_back(*spec);
  }
  // Block the stop signals before the cluster starts its threads, so that
  // only sigwait() below sees them.
  sigset_t stop_signals;
  sigemptyset(&stop_signals);
  sigaddset(&stop_signals, SIGINT);
  sigaddset(&stop_signals, SIGTERM);
  pthread_sigmask(SIG_BLOCK, &stop_signals, nullptr);
  Result<std::unique_ptr<lf::streams::EmbeddedBroker>> broker =
      lf::streams::EmbeddedBroker::start(broker_count, topics);
  if (!broker.is_ok()) return fail(broker.status());
  const std::string& bootstrap = (*broker)->bootstrap_servers();
  if (!bootstrap_file.empty()) {
    std::ofstream out(bootstrap_file);
    out << bootstrap << "\n";
    if (!out) {
      fmt::print(stderr, "ledgerflow: cannot write {}\n", bootstrap_file);
      return exit_error;
    }
  }
  fmt::print("bootstrap.servers={}\n", bootstrap);
  std::fflush(stdout);
  int signal_number = 0;
  sigwait(&stop_signals, &signal_number);
  fmt::print("broker: stopping on signal {}\n", signal_number);
  return exit_ok;
}

}  // namespace

int main(int argc, char** argv) {
  // Batch commands (rebuilds, verify, replays) keep freed memory for reuse
  // (engine/process_memory.h); the long-running service and the broker keep
  // malloc's defaults, whose per-arena trimming bounds their resident memory.
  // Only speed depends on it, so a refusal is ignored.
  const std::string_view subcommand = argc > 1 ? argv[1] : "";
  if (subcommand != "run" && subcommand != "broker") {
    static_cast<void>(lf::engine::keep_freed_memory());
  }
  // Every store keeps up to EngineOptions::open_files_max files open, and
  // `run` opens one per partition (engine/process_files.h). If the limit
  // stays low, opening files fails with an I/O error, which is reported.
  static_cast<void>(lf::engine::raise_open_files_limit());
  CLI::App app{"ledgerflow: an event-sourced double-entry ledger engine"};
  app.require_subcommand(1);
  int code = exit_ok;

  ApplyArgs apply_args;
  auto* apply = app.add_subcommand("apply", "Apply JSON-lines commands and print every outcome");
  apply->add_option("--db", apply_args.db, "Store directory (created if missing)")->required();
  apply->add_option("input", apply_args.input, "JSON-lines file, or - for standard input");
  apply->add_flag("--json", apply_args.json, "Print outcomes as JSON lines");
  apply->add_flag("--quiet", apply_args.quiet, "Print only the summary");
  apply->add_option("--batch", apply_args.batch, "Commands per atomic batch (default 4096)");
  apply->callback([&] { code = run_apply(apply_args); });

  std::string db;
  std::string account;
  bool json = false;
  auto* balance = app.add_subcommand("balance", "Print one account's balances");
  balance->add_option("--db", db, "Store directory")->required();
  balance->add_option("account", account, "Account id")->required();
  balance->add_flag("--json", json, "Print as JSON");
  balance->callback([&] { code = run_balance(db, account, json); });

  auto* balances = app.add_subcommand("balances", "Trial balance: every account, totals per asset");
  balances->add_option("--db", db, "Store directory")->required();
  balances->add_flag("--json", json, "Print as JSON lines");
  balances->callback([&] { code = run_balances(db, json); });

  std::size_t limit = 100;
  auto* history = app.add_subcommand("history", "Events that moved an account, newest first");
  history->add_option("--db", db, "Store directory")->required();
  history->add_option("account", account, "Account id")->required();
  history->add_option("--limit", limit, "Most entries to print (default 100)");
  history->add_flag("--json", json, "Print as JSON lines");
  history->callback([&] { code = run_history(db, account, limit, json); });

  std::uint64_t from = 1;
  std::uint64_t events_limit = UINT64_MAX;
  auto* events = app.add_subcommand("events", "Print the event log as JSON lines");
  events->add_option("--db", db, "Store directory")->required();
  events->add_option("--from", from, "First sequence number (default 1)");
  events->add_option("--limit", events_limit, "Most events to print");
  events->callback([&] { code = run_events(db, from, events_limit); });

  auto* verify = app.add_subcommand(
      "verify", "Check the hash chain, double entry and every projection against the log");
  verify->add_option("--db", db, "Store directory")->required();
  verify->add_flag("--json", json, "Print the report as JSON");
  verify->callback([&] { code = run_verify(db, json); });

  int broker_count = 1;
  std::vector<std::string> topics;
  std::string bootstrap_file;
  auto* broker = app.add_subcommand(
      "broker", "Run an embedded Kafka cluster (librdkafka's mock) until SIGINT or SIGTERM");
  broker->add_option("--count", broker_count, "Number of brokers (default 1)");
  broker->add_option("--topic", topics, "Topic to create, NAME or NAME:PARTITIONS (repeatable)");
  broker->add_option("--bootstrap-file", bootstrap_file, "Write the bootstrap address here");
  broker->callback([&] { code = run_broker(broker_count, topics, bootstrap_file); });

  const std::shared_ptr<void> kafka_args = lf::cli::add_kafka_commands(app, code);
  lf::tools::add_audit_commands(app, code);

  try {
    app.parse(argc, argv);
  } catch (const CLI::ParseError& e) {
    const int parse_code = app.exit(e);
    return parse_code == 0 ? exit_ok : exit_usage;
  }
  return code;
}
