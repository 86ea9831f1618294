// Shards: which shard owns an account, and which shard a command goes to.
//
// A deployment splits the ledger into `count` shards (one per partition of
// the commands topic). Accounts are grouped into *books*: the book of an id is
// the text before its first ':' ("acme:cash" is in book "acme"), or the whole
// id when it has no ':'. A book lives in exactly one shard:
//
//   shard_of_book(book, count) = fnv1a_64(book bytes) mod count
//
// (FNV-1a, 64-bit: offset basis 0xcbf29ce484222325, prime 0x100000001b3.)
// Producers in any language compute the same function to pick the partition
// (docs/kafka.md gives test vectors). A command is routed by the book of its
// routing id (route_id); the state machine rejects, with `wrong_shard`, a
// command naming an account (or a hold) whose book is another shard's.
//
// Pure: no I/O. The rule of a shard is fixed when its store is created.
#pragma once

#include <cstdint>
#include <string_view>

#include "ledger/types.h"

namespace lf::ledger {

inline constexpr std::uint32_t shard_count_max = 1024;

// The book of an account or hold id.
std::string_view book_of(std::string_view id);

// REQUIRES: 1 <= count <= shard_count_max.
std::uint32_t shard_of_book(std::string_view book, std::uint32_t count);

// The id whose book routes a command: the account it opens or closes, the
// debit account of a transfer, the first leg's account of a journal, the hold
// a post or void resolves (give holds ids in their accounts' book, e.g.
// "acme:hold-7"), the first step's for a linked chain. Empty when the command
// names none (it is rejected wherever it goes).
std::string_view route_id(const Command& command);

// Which shard of how many this is. The default owns everything.
struct ShardRule {
  std::uint32_t index = 0;
  std::uint32_t count = 1;
  bool owns(std::string_view id) const {
    return count <= 1 || shard_of_book(book_of(id), count) == index;
  }
  bool valid() const { return count >= 1 && count <= shard_count_max && index < count; }
  bool operator==(const ShardRule&) const = default;
};

}  // namespace lf::ledger
