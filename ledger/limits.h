// Limits of the domain: every string, list and batch has a named maximum.
//
// These numbers are part of the contract with producers: a command that
// exceeds one is rejected with `invalid_field` naming the field. Raising a
// limit is a compatible change; lowering one is not (old logs may hold
// commands that the new limit would reject, and replay must stay identical).
#pragma once

#include <cstddef>
#include <cstdint>

namespace lf::ledger {

// Identifiers: command ids, account ids, pending ids, step ids.
inline constexpr std::size_t id_bytes_max = 64;
// Asset codes such as "USD", "EUR", "BTC", "POINTS".
inline constexpr std::size_t asset_bytes_max = 12;
// Number of decimal places of an asset's minor unit (USD: 2, BTC: 8).
inline constexpr std::uint8_t asset_scale_max = 18;
// Opaque user metadata attached to an account (for example a JSON object).
inline constexpr std::size_t metadata_bytes_max = 512;
// Free-text reference on transfers and journals.
inline constexpr std::size_t reference_bytes_max = 128;
// Legs of one journal entry.
inline constexpr std::size_t journal_legs_min = 2;
inline constexpr std::size_t journal_legs_max = 64;
// Steps of one linked chain.
inline constexpr std::size_t linked_steps_min = 1;
inline constexpr std::size_t linked_steps_max = 32;
// A pending transfer's timeout; 0 means it never expires. 30 days.
inline constexpr std::uint32_t pending_timeout_s_max = 30u * 24u * 3600u;
// Commands in one batch handed to the state machine.
inline constexpr std::size_t batch_commands_max = 16384;
}  // namespace lf::ledger
