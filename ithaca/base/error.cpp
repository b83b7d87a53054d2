#include "ithaca/base/error.hpp"

#include <array>

namespace ithaca {
namespace {

constexpr std::array kCatalog = {
#define ITHACA_ERROR(code, http, ws, retryable, message, action) \
  ErrorInfo{#code, http, ws, retryable, message, action},
#include "ithaca/base/error_catalog.inc"
#undef ITHACA_ERROR
};

}  // namespace

const ErrorInfo& info(ErrorCode code) {
  return kCatalog[static_cast<size_t>(code)];
}

bool parse_error_code(std::string_view name, ErrorCode& out) {
  for (size_t i = 0; i < kCatalog.size(); ++i) {
    if (kCatalog[i].code == name) {
      out = static_cast<ErrorCode>(i);
      return true;
    }
  }
  return false;
}

std::string Error::to_string() const {
  std::string s(name());
  s += ": ";
  s += detail.empty() ? std::string(info(code).message) : detail;
  return s;
}

}  // namespace ithaca
