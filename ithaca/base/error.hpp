// Errors as values. Every expected failure (bad token, no slot, store down, malformed input)
// travels as an Error with a stable code from spec/errors.json; exceptions from third-party
// libraries are caught where that library is wrapped and turned into one of these.
#pragma once

#include <nlohmann/json.hpp>
#include <string>
#include <string_view>
#include <utility>
#include <variant>

namespace ithaca {

enum class ErrorCode {
#define ITHACA_ERROR(code, http, ws, retryable, message, action) code,
#include "ithaca/base/error_catalog.inc"
#undef ITHACA_ERROR
};

// The catalog row of a code: what an HTTP or WebSocket peer is told.
struct ErrorInfo {
  std::string_view code;
  int http_status;
  int ws_close_code;
  bool retryable;
  std::string_view message;
  std::string_view action;  // what the caller should do; may be empty
};

const ErrorInfo& info(ErrorCode code);
// Looks a code up by its catalog name; false when there is none.
bool parse_error_code(std::string_view name, ErrorCode& out);

struct Error {
  ErrorCode code = ErrorCode::internal;
  std::string detail;  // human text for this occurrence; never a secret
  nlohmann::json details = nlohmann::json::object();  // machine-readable extras (limit, ...)

  std::string_view name() const { return info(code).code; }
  // "code: detail" (or the catalog message when detail is empty).
  std::string to_string() const;
};

inline Error make_error(ErrorCode code, std::string detail = {},
                        nlohmann::json details = nlohmann::json::object()) {
  return Error{code, std::move(detail), std::move(details)};
}

// Result<T>: a T or an Error. Small on purpose: the project targets C++20 (no std::expected).
template <class T>
class [[nodiscard]] Result {
 public:
  Result(T value) : v_(std::move(value)) {}      // NOLINT: implicit on purpose
  Result(Error error) : v_(std::move(error)) {}  // NOLINT

  bool ok() const { return v_.index() == 0; }
  explicit operator bool() const { return ok(); }
  T& value() & { return std::get<0>(v_); }
  const T& value() const& { return std::get<0>(v_); }
  T&& value() && { return std::get<0>(std::move(v_)); }
  T* operator->() { return &value(); }
  const T* operator->() const { return &value(); }
  T& operator*() & { return value(); }
  const T& operator*() const& { return value(); }
  const Error& error() const& { return std::get<1>(v_); }
  Error&& error() && { return std::get<1>(std::move(v_)); }

 private:
  std::variant<T, Error> v_;
};

struct Ok {};
using Status = Result<Ok>;
inline Status ok_status() {
  return Ok{};
}

}  // namespace ithaca
