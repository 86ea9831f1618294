// Process-wide open-file limit for programs that run many engines or large
// stores (the ledgerflow binary; the benchmarks open one store at a time and
// do not need it).
//
// Each open store keeps up to EngineOptions::open_files_max table files open
// (1,000 by default), and `ledgerflow run` opens one store per partition it
// owns, so a process may need a few thousand descriptors. Many systems start
// processes with a soft limit of 1,024 and a much higher hard limit; beyond
// the soft limit RocksDB fails to open files ("Too many open files"), which
// the engine returns as an I/O error. raise_open_files_limit() lifts the soft
// limit to the hard one, as servers commonly do at start.
//
// Call it once at the start of main(). Libraries never call it on their own.
#pragma once

namespace lf::engine {

// Returns false when the limit could not be read or raised (then it is
// unchanged; engines still work until they need more descriptors).
[[nodiscard]] bool raise_open_files_limit();

}  // namespace lf::engine
