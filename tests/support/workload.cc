#include "tests/support/workload.h"

#include <algorithm>
#include <cstdlib>
#include <iterator>
#include <limits>
#include <random>
#include <string>
#include <tuple>
#include <utility>

#include "ledger/assert.h"
#include "ledger/limits.h"

namespace lf::test {

using ledger::Amount;
using ledger::Command;
using ledger::CommandBody;
using ledger::JournalLeg;
using ledger::Side;
using ledger::StepBody;
using ledger::TimestampMs;

namespace {

struct AssetSpec {
  const char* code;
  std::uint8_t scale;
};
constexpr AssetSpec assets[] = {{"USD", 2}, {"EUR", 2}, {"BTC", 8}, {"JPY", 0}};
constexpr std::size_t asset_count = std::size(assets);
// Per asset, the first accounts opened are the hot ones.
constexpr std::size_t hot_accounts_per_asset = 3;
constexpr TimestampMs start_ms = 1'700'000'000'000;
constexpr Amount huge_amount_min = Amount{1} << 63;

// An account the generator asked to open. Whether it really exists is the
// ledger's business: the generator never learns outcomes.
struct PlannedAccount {
  std::string id;
  std::size_t asset;
  bool retired = false;  // Asked to be closed.
};

// A pending transfer the generator asked for, with its amount, so that posts
// can aim below, at and above it.
struct PlannedHold {
  std::string id;
  Amount amount;
};

enum class Kind {
  open,
  transfer,
  hold,
  post,
  void_pending,
  journal,
  linked,
  close,
  duplicate,
  step_retry,
  conflict,
  invalid,
  huge,
};

// (kind, weight in thousandths).
constexpr std::pair<Kind, int> kind_weights[] = {
    {Kind::open, 40},         {Kind::transfer, 320},  {Kind::hold, 120},    {Kind::post, 85},
    {Kind::void_pending, 40}, {Kind::journal, 85},    {Kind::linked, 65},   {Kind::close, 20},
    {Kind::duplicate, 90},    {Kind::step_retry, 10}, {Kind::conflict, 20}, {Kind::invalid, 100},
    {Kind::huge, 5},
};

class Generator {
 public:
  explicit Generator(std::uint64_t seed) : rng_(seed) {}

  std::vector<Command> run(std::size_t count) {
    std::vector<Command> out;
    out.reserve(count);
    bootstrap(out, count);
    while (out.size() < count) {
      Command c = next();
      history_.push_back(c);
      out.push_back(std::move(c));
    }
    return out;
  }

 private:
  // ---------------------------------------------------------------- randomness

  // Uniform in [lo, hi]; modulo bias is irrelevant here and keeps the output
  // identical across standard libraries.
  std::uint64_t uniform(std::uint64_t lo, std::uint64_t hi) {
    LF_ASSERT(lo <= hi);
    const std::uint64_t span = hi - lo + 1;
    return span == 0 ? rng_() : lo + rng_() % span;
  }
  bool chance(int per_mille) { return uniform(0, 999) < std::uint64_t(per_mille); }
  template <typename T>
  const T& pick(const std::vector<T>& v) {
    LF_ASSERT(!v.empty());
    return v[uniform(0, v.size() - 1)];
  }
  // Mostly one of the last `window` entries: retries and posts follow soon.
  template <typename T>
  const T& pick_recent(const std::vector<T>& v, std::size_t window = 64) {
    if (v.size() > window && chance(700)) return v[uniform(v.size() - window, v.size() - 1)];
    return pick(v);
  }

  Amount amount() {
    const int r = static_cast<int>(uniform(0, 99));
    if (r < 70) return uniform(1, 1'000);
    if (r < 95) return uniform(1, 100'000);
    return uniform(1, 10'000'000);
  }

  TimestampMs timestamp() {
    const int r = static_cast<int>(uniform(0, 999));
    if (r < 30) return now_ms_ - uniform(1, 5'000);  // A late arrival.
    if (r < 40) {
      now_ms_ += uniform(60'000, 2 * 3'600'000);  // A quiet spell: holds expire.
    } else {
      now_ms_ += uniform(0, 40);
    }
    return now_ms_;
  }

  std::string new_id() {
    const std::uint64_t n = next_id_++;
    // Exercise the whole id alphabet now and then.
    switch (n % 16) {
      case 3:
        return "cmd:" + std::to_string(n);
      case 7:
        return "cmd@shard-" + std::to_string(n % 5) + "." + std::to_string(n);
      case 11:
        return "CMD_" + std::to_string(n);
      default:
        return "c-" + std::to_string(n);
    }
  }

  Command make(std::string id, CommandBody body) {
    Command c;
    c.id = std::move(id);
    c.timestamp_ms = timestamp();
    c.body = std::move(body);
    if (chance(300)) {
      c.source = {"commands", static_cast<std::int32_t>(uniform(0, 7)),
                  static_cast<std::int64_t>(history_.size())};
    }
    return c;
  }

  // ---------------------------------------------------------------- accounts

  std::size_t any_asset() { return uniform(0, asset_count - 1); }

  // Hot accounts take most of the traffic. Accounts the generator asked to
  // close are mostly left alone afterwards, as a real client would.
  const std::string& account_of(std::size_t asset) {
    const std::vector<std::size_t>& ids = by_asset_[asset];
    if (chance(700)) {
      return accounts_[ids[uniform(0, std::min(ids.size(), hot_accounts_per_asset) - 1)]].id;
    }
    std::size_t index = pick(ids);
    for (int tries = 0; accounts_[index].retired && tries < 3; ++tries) index = pick(ids);
    return accounts_[index].id;
  }

  // Two accounts of one asset, rarely the same one.
  std::pair<std::string, std::string> pair_of(std::size_t asset) {
    std::string debit = account_of(asset);
    std::string credit = account_of(asset);
    for (int tries = 0; credit == debit && tries < 4 && !chance(50); ++tries) {
      credit = account_of(asset);
    }
    return {debit, credit};
  }

  // `remember`: false for opens meant to be rejected, so that later traffic
  // does not aim at accounts that were never even asked for.
  ledger::OpenAccount plan_open(std::size_t asset, bool remember = true) {
    ledger::OpenAccount open;
    open.account = "acct-" + std::to_string(accounts_.size());
    open.asset = assets[asset].code;
    open.scale = assets[asset].scale;
    if (chance(20)) open.scale = static_cast<std::uint8_t>(open.scale + 1);  // Scale mismatches.
    const int r = static_cast<int>(uniform(0, 99));
    if (r < 50) {
      open.debits_must_not_exceed_credits = true;
    } else if (r < 65) {
      open.credits_must_not_exceed_debits = true;
    }
    if (r < 65 && chance(300)) open.overdraft_limit = uniform(1, 5'000);
    if (chance(200)) open.metadata = std::string(uniform(0, ledger::metadata_bytes_max), 'm');
    if (remember) remember_account(open.account, asset);
    return open;
  }

  void remember_account(const std::string& id, std::size_t asset) {
    by_asset_[asset].push_back(accounts_.size());
    accounts_.push_back({id, asset, false});
  }

  // Hot accounts: two unlimited (a bank and an operating account) and one
  // customer with an overdraft, per asset; then two whales for huge amounts.
  void bootstrap(std::vector<Command>& out, std::size_t count) {
    std::vector<CommandBody> opens;
    for (std::size_t a = 0; a < asset_count; ++a) {
      const std::string code = assets[a].code;
      for (const char* name : {"bank.", "ops.", "hot."}) {
        ledger::OpenAccount open;
        open.account = name + code;
        open.asset = code;
        open.scale = assets[a].scale;
        if (name[0] == 'h') {
          open.debits_must_not_exceed_credits = true;
          open.overdraft_limit = 10'000;
        }
        remember_account(open.account, a);
        opens.push_back(open);
      }
    }
    first_cold_ = accounts_.size();
    for (const char* whale : {"whale.a", "whale.b"}) {
      ledger::OpenAccount open;
      open.account = whale;
      open.asset = "USD";
      open.scale = 2;
      opens.push_back(open);
    }
    for (CommandBody& body : opens) {
      if (out.size() == count) return;
      out.push_back(make(new_id(), std::move(body)));
      history_.push_back(out.back());
    }
  }

  // ---------------------------------------------------------------- commands

  Command next() {
    int r = static_cast<int>(uniform(0, 999));
    Kind kind = Kind::transfer;
    for (const auto& [k, weight] : kind_weights) {
      if (r < weight) {
        kind = k;
        break;
      }
      r -= weight;
    }
    const std::string id = new_id();
    switch (kind) {
      case Kind::open:
        return make(id, plan_open(any_asset()));
      case Kind::transfer:
        return make(id, plan_transfer(any_asset()));
      case Kind::hold:
        return make(id, plan_hold(id, any_asset()));
      case Kind::post:
        return make(id, plan_post());
      case Kind::void_pending:
        return make(id, plan_void());
      case Kind::journal:
        return make(id, plan_journal());
      case Kind::linked:
        return make(id, plan_linked(id));
      case Kind::close:
        return make(id, plan_close());
      case Kind::duplicate:
        return retry();
      case Kind::step_retry:
        return step_retry(id);
      case Kind::conflict:
        return conflict(id);
      case Kind::invalid:
        return invalid(id);
      case Kind::huge:
        return huge(id);
    }
    return make(id, plan_transfer(0));
  }

  ledger::Transfer plan_transfer(std::size_t asset) {
    ledger::Transfer t;
    std::tie(t.debit_account, t.credit_account) = pair_of(asset);
    t.amount = amount();
    t.asset = assets[asset].code;
    if (chance(20)) t.asset = assets[(asset + 1) % asset_count].code;  // Wrong asset.
    if (chance(100)) t.reference = "invoice-" + std::to_string(uniform(1, 99'999));
    return t;
  }

  ledger::Transfer plan_hold(const std::string& id, std::size_t asset) {
    static constexpr std::uint32_t timeouts_s[] = {1, 2, 5, 30, 60, 300, 3'600};
    ledger::Transfer t = plan_transfer(asset);
    t.pending = true;
    if (chance(500)) t.timeout_s = timeouts_s[uniform(0, std::size(timeouts_s) - 1)];
    if (chance(10)) t.timeout_s = ledger::pending_timeout_s_max + (chance(500) ? 0 : 1);
    holds_.push_back({id, t.amount});
    return t;
  }

  ledger::PostPending plan_post() {
    ledger::PostPending p;
    if (holds_.empty() || chance(30)) {
      p.pending_id = "no-such-hold-" + std::to_string(uniform(0, 99));
      return p;
    }
    const PlannedHold& hold = pick_recent(holds_);
    p.pending_id = hold.id;
    const int r = static_cast<int>(uniform(0, 99));
    if (r < 45) {
      p.amount = 0;  // The full amount.
    } else if (r < 80) {
      p.amount = uniform(1, hold.amount);
    } else if (r < 90) {
      p.amount = hold.amount;
    } else {
      p.amount = hold.amount + uniform(1, 100);  // More than held.
    }
    return p;
  }

  ledger::VoidPending plan_void() {
    if (holds_.empty() || chance(30)) return {"no-such-hold-" + std::to_string(uniform(0, 99))};
    return {pick_recent(holds_).id};
  }

  // Legs moving `total` of one asset, split over `count` legs with at least
  // one debit and one credit.
  void balanced_legs(std::size_t asset, std::size_t count, Amount total,
                     std::vector<JournalLeg>& legs) {
    const std::size_t debits = uniform(1, count - 1);
    for (int side = 0; side < 2; ++side) {
      const std::size_t n = side == 0 ? debits : count - debits;
      Amount left = total;
      for (std::size_t i = 0; i < n; ++i) {
        const Amount part = i + 1 == n ? left : uniform(1, left - (n - 1 - i));
        left -= part;
        legs.push_back(JournalLeg{account_of(asset), assets[asset].code,
                                  side == 0 ? Side::debit : Side::credit, part});
      }
    }
  }

  void shuffle(std::vector<JournalLeg>& legs) {
    for (std::size_t i = legs.size(); i > 1; --i) std::swap(legs[i - 1], legs[uniform(0, i - 1)]);
  }

  ledger::Journal plan_journal() {
    ledger::Journal j;
    const std::size_t asset = any_asset();
    const std::size_t count = uniform(2, 6);
    balanced_legs(asset, count, amount() + count, j.legs);
    if (chance(200)) {
      const std::size_t other = (asset + uniform(1, asset_count - 1)) % asset_count;
      const std::size_t more = uniform(2, 4);
      balanced_legs(other, more, amount() + more, j.legs);
    }
    shuffle(j.legs);
    if (chance(120)) j.legs[uniform(0, j.legs.size() - 1)].amount += uniform(1, 10);
    if (chance(20)) j.legs[0].asset = assets[(asset + 1) % asset_count].code;
    if (chance(100)) j.reference = "batch-" + std::to_string(uniform(1, 999));
    return j;
  }

  // Mostly cold accounts, recently opened ones (the likely empty ones) first;
  // a hot account only rarely, or most traffic would soon hit closed accounts.
  ledger::CloseAccount plan_close() {
    std::size_t index = uniform(0, accounts_.size() - 1);
    if (accounts_.size() > first_cold_ && !chance(20)) {
      constexpr std::size_t recent_window = 16;
      const std::size_t recent = accounts_.size() > first_cold_ + recent_window
                                     ? accounts_.size() - recent_window
                                     : first_cold_;
      index = uniform(chance(600) ? recent : first_cold_, accounts_.size() - 1);
    }
    if (chance(800)) accounts_[index].retired = true;
    return {accounts_[index].id};
  }

  // A chain of 1..5 steps; some are built to fail part-way.
  ledger::Linked plan_linked(const std::string& id) {
    ledger::Linked chain;
    const std::size_t count = uniform(1, 5);
    const std::size_t asset = any_asset();
    std::string last_hold;
    for (std::size_t i = 0; i < count; ++i) {
      const std::string step_id = id + "." + std::to_string(i);
      StepBody body;
      const int r = static_cast<int>(uniform(0, 99));
      if (r < 15) {
        // Chains often fail; later traffic should mostly aim at real accounts.
        body = plan_open(asset, chance(300));
      } else if (r < 45) {
        body = plan_transfer(asset);
      } else if (r < 60) {
        body = plan_hold(step_id, asset);
        last_hold = step_id;
      } else if (r < 72) {
        ledger::PostPending p = plan_post();
        if (!last_hold.empty() && chance(700)) p.pending_id = last_hold;
        body = p;
      } else if (r < 80) {
        ledger::VoidPending v = plan_void();
        if (!last_hold.empty() && chance(700)) v.pending_id = last_hold;
        body = v;
      } else if (r < 95) {
        body = plan_journal();
      } else {
        body = plan_close();
      }
      chain.steps.push_back({step_id, std::move(body)});
    }
    if (chance(100)) {
      // Step ids that break the chain's own rules.
      ledger::LinkedStep& s = chain.steps[uniform(0, chain.steps.size() - 1)];
      switch (uniform(0, 3)) {
        case 0:
          s.id = id;
          break;
        case 1:
          s.id = chain.steps[0].id;
          break;
        case 2:
          s.id = "bad step";
          break;
        default:
          s.id = history_.empty() ? "x" : pick_recent(history_).id;
          break;
      }
    }
    if (chance(10)) chain.steps.clear();
    for (const ledger::LinkedStep& s : chain.steps) steps_.push_back(s);
    return chain;
  }

  // An earlier command again, same id and body; time and source may differ.
  Command retry() {
    if (history_.empty()) return make(new_id(), plan_transfer(0));
    Command c = pick_recent(history_, 128);
    c.timestamp_ms = timestamp();
    if (chance(300)) c.source = {"commands", 9, static_cast<std::int64_t>(history_.size())};
    return c;
  }

  // A step of an earlier chain submitted alone: a duplicate if the chain was
  // accepted, a new command if it was not.
  Command step_retry(const std::string& id) {
    if (steps_.empty()) return make(id, plan_transfer(0));
    const ledger::LinkedStep& s = pick_recent(steps_);
    Command c = make(s.id, std::visit([](const auto& b) { return CommandBody(b); }, s.body));
    if (chance(200)) c.body = plan_transfer(any_asset());  // Conflicting reuse of a step id.
    return c;
  }

  // An earlier id with a different body (a transfer: it differs from every
  // earlier body except, by a tiny chance, an identical transfer).
  Command conflict(const std::string& id) {
    if (history_.empty()) return make(id, plan_transfer(0));
    // Named steps: the order of evaluating function arguments is unspecified.
    std::string reused = pick_recent(history_).id;
    ledger::Transfer t = plan_transfer(any_asset());
    return make(std::move(reused), std::move(t));
  }

  Command invalid(const std::string& id) {
    const std::size_t asset = any_asset();
    ledger::Transfer t = plan_transfer(asset);
    switch (uniform(0, 27)) {
      case 0:
        return make("", t);
      case 1:
        return make(std::string(ledger::id_bytes_max + 1, 'x'), t);
      case 2:
        return make("has space", t);
      case 3:
        return make("semi;colon", t);
      case 4:
        t.amount = 0;
        return make(id, t);
      case 5:
        t.debit_account = "ghost-" + std::to_string(uniform(0, 9));
        return make(id, t);
      case 6:
        t.credit_account = "ghost-" + std::to_string(uniform(0, 9));
        return make(id, t);
      case 7:
        t.asset = chance(500) ? "usd" : "TOOLONGASSET1";
        return make(id, t);
      case 8:
        t.reference = std::string(ledger::reference_bytes_max + 1, 'r');
        return make(id, t);
      case 9:
        t.credit_account = t.debit_account;
        return make(id, t);
      case 10:
        t.timeout_s = 5;
        return make(id, t);
      case 11:
        t.debit_account = "bad/account";
        return make(id, t);
      case 12:
        t.reference = std::string(ledger::reference_bytes_max, 'r');
        return make(id, t);
      case 13: {
        ledger::OpenAccount o = plan_open(asset, false);
        o.asset = "Us";
        return make(id, o);
      }
      case 14: {
        ledger::OpenAccount o = plan_open(asset, false);
        o.scale = static_cast<std::uint8_t>(ledger::asset_scale_max + uniform(0, 1));
        return make(id, o);
      }
      case 15: {
        ledger::OpenAccount o = plan_open(asset, false);
        o.debits_must_not_exceed_credits = o.credits_must_not_exceed_debits = true;
        return make(id, o);
      }
      case 16: {
        ledger::OpenAccount o = plan_open(asset, false);
        o.debits_must_not_exceed_credits = o.credits_must_not_exceed_debits = false;
        o.overdraft_limit = 1;
        return make(id, o);
      }
      case 17: {
        ledger::OpenAccount o = plan_open(asset, false);
        o.metadata = std::string(ledger::metadata_bytes_max + uniform(0, 1), 'm');
        return make(id, o);
      }
      case 18: {
        ledger::OpenAccount o = plan_open(asset, false);
        o.account = pick(accounts_).id;  // Already exists (or was at least asked for).
        return make(id, o);
      }
      case 19: {
        ledger::Journal j = plan_journal();
        j.legs.resize(1);
        return make(id, j);
      }
      case 20: {
        ledger::Journal j = plan_journal();
        while (j.legs.size() <= ledger::journal_legs_max) j.legs.push_back(j.legs[0]);
        return make(id, j);
      }
      case 21: {
        ledger::Journal j = plan_journal();
        j.legs[uniform(0, j.legs.size() - 1)].amount = 0;
        return make(id, j);
      }
      case 22: {
        ledger::Journal j = plan_journal();
        j.legs.back().account = "ghost-" + std::to_string(uniform(0, 9));
        return make(id, j);
      }
      case 23: {
        ledger::Journal j = plan_journal();
        j.reference = std::string(ledger::reference_bytes_max + uniform(0, 1), 'r');
        return make(id, j);
      }
      case 24: {
        ledger::Journal j = plan_journal();
        j.legs[0].side = static_cast<Side>(2);  // Not a side at all.
        return make(id, j);
      }
      case 25:
        return make(id, ledger::PostPending{"bad pending id", 0});
      case 26:
        return make(id, ledger::CloseAccount{chance(500) ? "" : "ghost-1"});
      default: {
        ledger::Linked chain = plan_linked(id);
        if (chance(500)) {
          chain.steps.clear();
        } else {
          while (chain.steps.size() <= ledger::linked_steps_max) {
            chain.steps.push_back({id + ".extra" + std::to_string(chain.steps.size()),
                                   ledger::VoidPending{"no-such-hold"}});
          }
        }
        return make(id, chain);
      }
    }
  }

  // Amounts near the top of u64 between the two whales: overflow territory.
  Command huge(const std::string& id) {
    const bool forward = chance(500);
    const std::string debit = forward ? "whale.a" : "whale.b";
    const std::string credit = forward ? "whale.b" : "whale.a";
    const Amount big = uniform(huge_amount_min, std::numeric_limits<Amount>::max());
    switch (uniform(0, 3)) {
      case 0: {
        ledger::Transfer t{debit, credit, big, "USD", false, 0, {}};
        return make(id, t);
      }
      case 1: {
        ledger::Transfer t{debit, credit, big, "USD", true, 0, {}};
        holds_.push_back({id, big});
        return make(id, t);
      }
      case 2: {
        ledger::Journal j;
        j.legs = {{debit, "USD", Side::debit, big}, {credit, "USD", Side::credit, big}};
        return make(id, j);
      }
      default: {
        ledger::Journal j;  // Balanced only in 128 bits.
        j.legs = {{debit, "USD", Side::debit, big},
                  {debit, "USD", Side::debit, big},
                  {credit, "USD", Side::credit, big},
                  {credit, "USD", Side::credit, big}};
        return make(id, j);
      }
    }
  }

  std::mt19937_64 rng_;
  TimestampMs now_ms_ = start_ms;
  std::uint64_t next_id_ = 0;
  std::vector<PlannedAccount> accounts_;
  std::size_t first_cold_ = 0;  // accounts_[0, first_cold_) are the hot ones.
  std::vector<std::size_t> by_asset_[asset_count];
  std::vector<PlannedHold> holds_;
  std::vector<ledger::LinkedStep> steps_;
  std::vector<Command> history_;
};

}  // namespace

std::vector<Command> generate_workload(std::uint64_t seed, std::size_t count) {
  return Generator(seed).run(count);
}

std::uint64_t seed_from_env(std::uint64_t fallback) {
  const char* text = std::getenv("LF_SEED");
  if (text == nullptr || *text == '\0') return fallback;
  return std::strtoull(text, nullptr, 10);
}

}  // namespace lf::test
