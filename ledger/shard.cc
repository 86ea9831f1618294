#include "ledger/shard.h"

#include <variant>

#include "ledger/assert.h"

namespace lf::ledger {

std::string_view book_of(std::string_view id) {
  const std::size_t colon = id.find(':');
  return colon == std::string_view::npos ? id : id.substr(0, colon);
}

std::uint32_t shard_of_book(std::string_view book, std::uint32_t count) {
  LF_ASSERT(count >= 1 && count <= shard_count_max);
  std::uint64_t hash = 0xcbf29ce484222325ull;
  for (const char c : book) {
    hash ^= static_cast<std::uint8_t>(c);
    hash *= 0x100000001b3ull;
  }
  return static_cast<std::uint32_t>(hash % count);
}

namespace {

// The route of one body (any command type but Linked). A reference into the
// body: no temporaries.
struct RouteOf {
  std::string_view operator()(const OpenAccount& c) const { return c.account; }
  std::string_view operator()(const CloseAccount& c) const { return c.account; }
  std::string_view operator()(const Transfer& c) const { return c.debit_account; }
  std::string_view operator()(const PostPending& c) const { return c.pending_id; }
  std::string_view operator()(const VoidPending& c) const { return c.pending_id; }
  std::string_view operator()(const Journal& c) const {
    return c.legs.empty() ? std::string_view{} : std::string_view{c.legs.front().account};
  }
  std::string_view operator()(const Linked& c) const {
    return c.steps.empty() ? std::string_view{} : std::visit(*this, c.steps.front().body);
  }
};

}  // namespace

std::string_view route_id(const Command& command) { return std::visit(RouteOf{}, command.body); }

}  // namespace lf::ledger
