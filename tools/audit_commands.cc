#include "tools/audit_commands.h"

#include <fmt/format.h>
#include <unistd.h>

#include <CLI/CLI.hpp>
#include <chrono>
#include <filesystem>
#include <memory>
#include <string>

#include "engine/digest.h"
#include "engine/engine.h"
#include "engine/replay.h"
#include "engine/snapshot.h"
#include "ledger/limits.h"
#include "tools/cli_common.h"

namespace lf::tools {

namespace {

using engine::Engine;

using cli::exit_bad_input;
using cli::exit_error;
using cli::exit_ok;
using cli::exit_verify_failed;
using cli::fail;

Result<std::unique_ptr<Engine>> open_store(const std::string& db, bool read_only) {
  engine::EngineOptions options;
  options.create_if_missing = false;
  options.read_only = read_only;
  return Engine::open(db, options);
}

double seconds_since(std::chrono::steady_clock::time_point start) {
  return std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
}

std::string seq_text(std::optional<ledger::Sequence> seq) {
  return seq ? std::to_string(*seq) : "(none)";
}

struct SnapshotArgs {
  std::string db;
  std::string dir;  // Empty: the default beside the store.
  std::string name;
  bool latest_good = false;
  bool force = false;
  bool json = false;
  std::size_t keep = engine::snapshot_keep_default;
  std::string snapshot_dir() const { return dir.empty() ? engine::default_snapshot_dir(db) : dir; }
};

void print_snapshot(const engine::SnapshotInfo& s, bool json) {
  const engine::SnapshotManifest& m = s.manifest;
  if (json) {
    fmt::print(R"({{"name":"{}","seq":{},"chain_head":"{}","state_digest":"{}",)"
               R"("logical_time_ms":{},"offsets":{},"files":{}}})"
               "\n",
               s.name, m.seq, to_hex(m.chain_head), to_hex(m.state_digest), m.logical_time_ms,
               m.offsets.size(), m.files.size());
    return;
  }
  fmt::print("{}  seq {}  logical time {}  state digest {}  chain head {}  {} files\n", s.name,
             m.seq, m.logical_time_ms, to_hex(m.state_digest), to_hex(m.chain_head),
             m.files.size());
}

int run_snapshot_create(const SnapshotArgs& args) {
  Result<std::unique_ptr<Engine>> store = open_store(args.db, false);
  if (!store.is_ok()) return fail(store.status());
  const auto start = std::chrono::steady_clock::now();
  Result<engine::SnapshotInfo> info = engine::create_snapshot(**store, args.snapshot_dir());
  if (!info.is_ok()) return fail(info.status());
  if (!args.json) fmt::print("created in {:.3f} s: ", seconds_since(start));
  print_snapshot(*info, args.json);
  return exit_ok;
}

int run_snapshot_list(const SnapshotArgs& args) {
  Result<engine::SnapshotListing> listing = engine::list_snapshots(args.snapshot_dir());
  if (!listing.is_ok()) return fail(listing.status());
  for (const engine::SnapshotInfo& s : listing->snapshots) print_snapshot(s, args.json);
  for (const std::string& name : listing->partial) {
    fmt::print(stderr, "ledgerflow: {}: interrupted snapshot, ignored (prune removes it)\n", name);
  }
  for (const auto& [name, why] : listing->unreadable) {
    fmt::print(stderr, "ledgerflow: {}: unreadable manifest, ignored: {}\n", name, why);
  }
  if (!args.json) {
    fmt::print("{} snapshots in {}\n", listing->snapshots.size(), args.snapshot_dir());
  }
  return exit_ok;
}

Result<engine::SnapshotInfo> find_snapshot(const std::string& dir, const std::string& name) {
  Result<engine::SnapshotListing> listing = engine::list_snapshots(dir);
  if (!listing.is_ok()) return listing.status();
  for (const engine::SnapshotInfo& s : listing->snapshots) {
    if (s.name == name) return s;
  }
  for (const auto& [unreadable, why] : listing->unreadable) {
    if (unreadable == name) return Status::corruption(why);
  }
  return Status::not_found("no snapshot " + name + " in " + dir);
}

int run_snapshot_verify(const SnapshotArgs& args) {
  Result<engine::SnapshotInfo> snapshot = find_snapshot(args.snapshot_dir(), args.name);
  if (!snapshot.is_ok()) {
    if (snapshot.status().code() != Status::Code::corruption) return fail(snapshot.status());
    fmt::print("snapshot {}: FAILED: {}\n", args.name, snapshot.status().message());
    return exit_verify_failed;
  }
  Result<engine::SnapshotCheck> check = engine::verify_snapshot(*snapshot);
  if (!check.is_ok()) return fail(check.status());
  if (!check->ok) {
    fmt::print("snapshot {}: FAILED: {}\n", args.name, check->problem);
    return exit_verify_failed;
  }
  fmt::print("snapshot {}: OK: files match the manifest, store verifies, seq {}, state digest {}\n",
             args.name, snapshot->manifest.seq, to_hex(snapshot->manifest.state_digest));
  return exit_ok;
}

int run_snapshot_restore(const SnapshotArgs& args) {
  if (args.latest_good == !args.name.empty()) {
    fmt::print(stderr, "ledgerflow: snapshot restore: give a snapshot NAME or --latest-good\n");
    return 2;
  }
  std::vector<engine::SnapshotInfo> candidates;
  if (args.latest_good) {
    Result<engine::SnapshotListing> listing = engine::list_snapshots(args.snapshot_dir());
    if (!listing.is_ok()) return fail(listing.status());
    for (const auto& [name, why] : listing->unreadable) {
      fmt::print(stderr, "ledgerflow: snapshot {} rejected: {}\n", name, why);
    }
    candidates.assign(listing->snapshots.rbegin(), listing->snapshots.rend());
    if (candidates.empty() && listing->unreadable.empty()) {
      fmt::print(stderr, "ledgerflow: no snapshots in {}\n", args.snapshot_dir());
      return exit_error;
    }
  } else {
    Result<engine::SnapshotInfo> snapshot = find_snapshot(args.snapshot_dir(), args.name);
    if (!snapshot.is_ok()) {
      if (snapshot.status().code() != Status::Code::corruption) return fail(snapshot.status());
      fmt::print(stderr, "ledgerflow: snapshot {} rejected: {}\n", args.name,
                 snapshot.status().message());
      return exit_verify_failed;
    }
    candidates.push_back(*snapshot);
  }
  for (const engine::SnapshotInfo& s : candidates) {
    Result<engine::SnapshotCheck> check = engine::verify_snapshot(s);
    if (!check.is_ok()) return fail(check.status());
    if (!check->ok) {
      fmt::print(stderr, "ledgerflow: snapshot {} rejected: {}\n", s.name, check->problem);
      continue;
    }
    Status restored = engine::restore_snapshot(s, args.db, args.force);
    if (!restored.is_ok()) return fail(restored);
    fmt::print("restored {} into {}: seq {}, state digest {}\n", s.name, args.db, s.manifest.seq,
               to_hex(s.manifest.state_digest));
    return exit_ok;
  }
  fmt::print(stderr, "ledgerflow: no snapshot passed verification; nothing restored\n");
  return exit_verify_failed;
}

int run_snapshot_prune(const SnapshotArgs& args) {
  if (args.keep < 1) {
    fmt::print(stderr, "ledgerflow: --keep must be at least 1\n");
    return 2;
  }
  Result<engine::PruneReport> report = engine::prune_snapshots(args.snapshot_dir(), args.keep);
  if (!report.is_ok()) return fail(report.status());
  for (const std::string& name : report->removed) fmt::print("removed {}\n", name);
  fmt::print("kept {} snapshots, removed {}\n", report->kept, report->removed.size());
  return exit_ok;
}

void add_snapshot_commands(CLI::App& app, int& code) {
  auto args = std::make_shared<SnapshotArgs>();
  auto* snapshot =
      app.add_subcommand("snapshot", "Create, list, verify, restore and prune snapshots");
  snapshot->require_subcommand(1);
  auto common = [&](CLI::App* sub) {
    sub->add_option("--db", args->db, "Store directory")->required();
    sub->add_option("--snapshots", args->dir, "Snapshot directory (default: DB.snapshots)");
  };
  auto* create = snapshot->add_subcommand("create", "Snapshot the store now");
  common(create);
  create->add_flag("--json", args->json, "Print as JSON");
  create->callback([&code, args] { code = run_snapshot_create(*args); });
  auto* list = snapshot->add_subcommand("list", "List complete snapshots, oldest first");
  common(list);
  list->add_flag("--json", args->json, "Print as JSON lines");
  list->callback([&code, args] { code = run_snapshot_list(*args); });
  auto* verify = snapshot->add_subcommand("verify", "Check a snapshot's files and store");
  common(verify);
  verify->add_option("name", args->name, "Snapshot name (snap-...)")->required();
  verify->callback([&code, args] { code = run_snapshot_verify(*args); });
  auto* restore =
      snapshot->add_subcommand("restore", "Verify a snapshot and restore it as the store");
  common(restore);
  restore->add_option("name", args->name, "Snapshot name (snap-...)");
  restore->add_flag("--latest-good", args->latest_good,
                    "Restore the newest snapshot that passes verification");
  restore->add_flag("--force", args->force, "Replace an existing store (moved to DB.replaced)");
  restore->callback([&code, args] { code = run_snapshot_restore(*args); });
  auto* prune = snapshot->add_subcommand("prune", "Keep the newest K snapshots, remove the rest");
  common(prune);
  prune->add_option("--keep", args->keep, "Snapshots to keep (default 3)");
  prune->callback([&code, args] { code = run_snapshot_prune(*args); });
}

// ---------------------------------------------------------------- replay

struct ReplayArgs {
  std::string db;
  std::string into;
  std::string log;
  std::string snapshots;
  std::string from_snapshot;
  std::size_t batch = 4096;
  bool no_history = false;
  bool json = false;
};

int run_rebuild(const ReplayArgs& args) {
  Result<std::unique_ptr<Engine>> source = open_store(args.db, true);
  if (!source.is_ok()) return fail(source.status());
  engine::RebuildOptions options;
  options.index_history = !args.no_history;
  const auto start = std::chrono::steady_clock::now();
  Result<engine::RebuildReport> report = engine::rebuild_projections(**source, args.into, options);
  if (!report.is_ok()) return fail(report.status());
  const double seconds = seconds_since(start);
  const engine::RebuildReport& r = *report;
  if (args.json) {
    fmt::print(R"({{"ok":{},"bad_seq":{},"problem":"{}","events":{},"rebuilt_digest":"{}",)"
               R"("live_digest":"{}","seconds":{:.3f}}})"
               "\n",
               r.ok, r.bad_seq ? std::to_string(*r.bad_seq) : "null", r.problem, r.events,
               to_hex(r.rebuilt_digest), to_hex(r.source_digest), seconds);
  } else if (r.ok) {
    fmt::print(
        "rebuild: OK: {} events replayed into {} in {:.3f} s; state digest {} equals the live "
        "store's\n",
        r.events, args.into, seconds, to_hex(r.rebuilt_digest));
  } else {
    fmt::print("rebuild: FAILED at seq {}: {}\n", seq_text(r.bad_seq), r.problem);
    if (r.source_digest != Sha256{}) {
      fmt::print("  rebuilt digest {}\n  live digest    {}\n", to_hex(r.rebuilt_digest),
                 to_hex(r.source_digest));
    }
  }
  return r.ok ? exit_ok : exit_verify_failed;
}

int run_reexecute(const ReplayArgs& args) {
  Result<std::unique_ptr<Engine>> source = open_store(args.db, true);
  if (!source.is_ok()) return fail(source.status());
  if (args.batch < 1 || args.batch > ledger::batch_commands_max) {
    fmt::print(stderr, "ledgerflow: --batch must be 1..{}\n", ledger::batch_commands_max);
    return 2;
  }
  std::optional<engine::SnapshotInfo> snapshot;
  if (!args.from_snapshot.empty()) {
    const std::string dir =
        args.snapshots.empty() ? engine::default_snapshot_dir(args.db) : args.snapshots;
    Result<engine::SnapshotInfo> found = find_snapshot(dir, args.from_snapshot);
    if (!found.is_ok()) return fail(found.status());
    Result<engine::SnapshotCheck> check = engine::verify_snapshot(*found);
    if (!check.is_ok()) return fail(check.status());
    if (!check->ok) {
      fmt::print("reexecute: snapshot {} rejected: {}\n", found->name, check->problem);
      return exit_verify_failed;
    }
    snapshot = *found;
  }
  const std::string scratch = fmt::format("{}.reexecute-{}", args.db, ::getpid());
  const auto start = std::chrono::steady_clock::now();
  Result<engine::ReexecuteReport> report =
      engine::reexecute(**source, scratch, snapshot ? &*snapshot : nullptr, args.batch);
  if (!report.is_ok()) return fail(report.status());
  const double seconds = seconds_since(start);
  const engine::ReexecuteReport& r = *report;
  if (r.ok) {
    fmt::print(
        "reexecute: OK: {} commands from seq {} re-executed in {:.3f} s; {} events "
        "byte-identical to the log, chain head {}\n",
        r.commands, r.from_seq, seconds, r.events, to_hex(r.chain_head));
  } else {
    fmt::print("reexecute: FAILED at seq {}: {}\n", seq_text(r.bad_seq), r.problem);
  }
  return r.ok ? exit_ok : exit_verify_failed;
}

int run_replay_log(const ReplayArgs& args) {
  Result<engine::LogReplayReport> report = engine::replay_log_file(args.log, args.into);
  if (!report.is_ok()) return fail(report.status());
  const engine::LogFileReport& file = report->file;
  if (!file.ok) {
    fmt::print("replay log: FAILED: {}\n", file.problem);
    return file.not_a_log_file ? exit_bad_input : exit_verify_failed;
  }
  fmt::print("replay log: OK: events {}..{} of shard '{}' verified ({} records), chain head {}\n",
             file.header.first_seq, file.header.last_seq, file.header.shard, file.count,
             to_hex(file.chain_head));
  if (report->rebuilt) {
    fmt::print("state digest {}{}\n", to_hex(report->state_digest),
               args.into.empty() ? "" : " (store rebuilt in " + args.into + ")");
  } else {
    fmt::print("{}\n", report->problem);
  }
  return exit_ok;
}

void add_replay_commands(CLI::App& app, int& code) {
  auto args = std::make_shared<ReplayArgs>();
  auto* replay = app.add_subcommand("replay", "Rebuild or re-execute from the event log");
  replay->require_subcommand(1);
  auto* rebuild = replay->add_subcommand(
      "rebuild", "Build every projection from the event log into a fresh store; compare digests");
  rebuild->add_option("--db", args->db, "Source store directory")->required();
  rebuild->add_option("--into", args->into, "New store directory (must not exist)")->required();
  rebuild->add_flag("--no-history", args->no_history, "Leave the history index to catch up later");
  rebuild->add_flag("--json", args->json, "Print as JSON");
  rebuild->callback([&code, args] { code = run_rebuild(*args); });
  auto* reexecute = replay->add_subcommand(
      "reexecute", "Re-run the logged commands and compare the events byte for byte");
  reexecute->add_option("--db", args->db, "Store directory")->required();
  reexecute->add_option("--from-snapshot", args->from_snapshot, "Start from this snapshot");
  reexecute->add_option("--snapshots", args->snapshots,
                        "Snapshot directory (default DB.snapshots)");
  reexecute->add_option("--batch", args->batch, "Commands per batch (default 4096)");
  reexecute->callback([&code, args] { code = run_reexecute(*args); });
  auto* log = replay->add_subcommand(
      "log", "Verify an exported log file and rebuild the state from it alone");
  log->add_option("--log", args->log, "Exported log file")->required();
  log->add_option("--into", args->into, "Also build a store here (must not exist)");
  log->callback([&code, args] { code = run_replay_log(*args); });
}

// ---------------------------------------------------------------- log export

struct ExportArgs {
  std::string db;
  std::string out;
  std::string shard;
  ledger::Sequence from = 1;
  ledger::Sequence to = 0;
};

int run_export(const ExportArgs& args) {
  Result<std::unique_ptr<Engine>> source = open_store(args.db, true);
  if (!source.is_ok()) return fail(source.status());
  const std::string shard =
      args.shard.empty() ? std::filesystem::path(args.db).filename().string() : args.shard;
  Result<engine::ExportReport> report =
      engine::export_log(**source, args.out, args.from, args.to, shard);
  if (!report.is_ok()) {
    if (report.status().code() == Status::Code::invalid_argument) {
      fmt::print(stderr, "ledgerflow: {}\n", report.status().message());
      return 2;
    }
    if (report.status().code() == Status::Code::corruption) {
      fmt::print(stderr, "ledgerflow: {}\n", report.status().to_string());
      return exit_verify_failed;
    }
    return fail(report.status());
  }
  fmt::print("exported events {}..{} to {}; chain head {}\n", report->first_seq, report->last_seq,
             args.out, to_hex(report->chain_head));
  return exit_ok;
}

void add_log_commands(CLI::App& app, int& code) {
  auto args = std::make_shared<ExportArgs>();
  auto* log = app.add_subcommand("log", "Export the event log to a portable file");
  log->require_subcommand(1);
  auto* exp = log->add_subcommand("export", "Write events to a self-describing, chained file");
  exp->add_option("--db", args->db, "Store directory")->required();
  exp->add_option("--out", args->out, "Output file")->required();
  exp->add_option("--from", args->from, "First seq (default 1)");
  exp->add_option("--to", args->to, "Last seq (default: the last event)");
  exp->add_option("--shard", args->shard, "Shard label (default: the store's directory name)");
  exp->callback([&code, args] { code = run_export(*args); });
}

}  // namespace

void add_audit_commands(CLI::App& app, int& code) {
  add_snapshot_commands(app, code);
  add_replay_commands(app, code);
  add_log_commands(app, code);
}

}  // namespace lf::tools
