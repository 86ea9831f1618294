// The audit subcommands of ledgerflow: snapshots, replay and log export
// (docs/cli.md, docs/snapshots.md, docs/replay.md). Kept apart from
// tools/ledgerflow.cc so that each family of subcommands lives in its own file.
#pragma once

namespace CLI {
class App;
}

namespace lf::tools {

// Registers `snapshot`, `replay` and `log` on `app`. The subcommand that runs
// stores its exit code in `code` (0 ok, 1 error, 2 usage, 3 undecodable input,
// 4 verification failed). `app` and `code` must outlive parsing.
void add_audit_commands(CLI::App& app, int& code);

}  // namespace lf::tools
