// Status and Result<T>: how operating errors (storage, Kafka, I/O, malformed
// input) travel. Never exceptions; never ignored ([[nodiscard]]).
//
// Business rejections are not errors: they are ledger::Outcome values.
#pragma once

#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <variant>

#include "ledger/assert.h"

namespace lf {

class [[nodiscard]] Status {
 public:
  enum class Code : unsigned char {
    ok = 0,
    invalid_argument,  // Bad input from outside: a malformed command, a bad flag.
    not_found,
    corruption,  // Stored or shipped bytes fail verification.
    io_error,    // Storage or network failure.
    failed,      // The component stopped after an earlier error; reopen it.
  };

  Status() = default;
  static Status ok() { return Status(); }
  static Status invalid_argument(std::string m) { return {Code::invalid_argument, std::move(m)}; }
  static Status not_found(std::string m) { return {Code::not_found, std::move(m)}; }
  static Status corruption(std::string m) { return {Code::corruption, std::move(m)}; }
  static Status io_error(std::string m) { return {Code::io_error, std::move(m)}; }
  static Status failed(std::string m) { return {Code::failed, std::move(m)}; }

  bool is_ok() const { return code_ == Code::ok; }
  Code code() const { return code_; }
  const std::string& message() const { return message_; }
  std::string to_string() const;
  // The same error with "<context>: " before its message.
  Status with_context(std::string_view context) const {
    return is_ok() ? *this : Status(code_, std::string(context) + ": " + message_);
  }

 private:
  Status(Code code, std::string message) : code_(code), message_(std::move(message)) {}
  Code code_ = Code::ok;
  std::string message_;
};

inline std::string Status::to_string() const {
  static constexpr const char* names[] = {"ok",         "invalid argument", "not found",
                                          "corruption", "I/O error",        "failed"};
  if (is_ok()) return "ok";
  return std::string(names[static_cast<int>(code_)]) + ": " + message_;
}

// A value or the Status that explains its absence.
template <typename T>
class [[nodiscard]] Result {
 public:
  Result(T value) : value_(std::move(value)) {}         // NOLINT: implicit by design.
  Result(Status status) : status_(std::move(status)) {  // NOLINT
    LF_ASSERT(!status_.is_ok());
  }

  bool is_ok() const { return value_.has_value(); }
  const Status& status() const { return status_; }
  T& value() & {
    LF_ASSERT(value_.has_value());
    return *value_;
  }
  const T& value() const& {
    LF_ASSERT(value_.has_value());
    return *value_;
  }
  T&& value() && {
    LF_ASSERT(value_.has_value());
    return std::move(*value_);
  }
  T* operator->() { return &value(); }
  const T* operator->() const { return &value(); }
  T& operator*() & { return value(); }
  const T& operator*() const& { return value(); }

 private:
  std::optional<T> value_;
  Status status_;
};

}  // namespace lf

// Returns the Status from the enclosing function when it is not ok.
#define LF_RETURN_IF_ERROR(expr)                \
  do {                                          \
    ::lf::Status lf_status_ = (expr);           \
    if (!lf_status_.is_ok()) return lf_status_; \
  } while (false)
