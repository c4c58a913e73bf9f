// RETURN_IF_ERROR / ASSIGN_OR_RETURN: Debian's abseil (20220623) ships no
// status_macros.h, so the project keeps these two.
#ifndef VIGIL_COMMON_STATUS_MACROS_H_
#define VIGIL_COMMON_STATUS_MACROS_H_

#include "absl/status/status.h"
#include "absl/status/statusor.h"

#define VIGIL_CONCAT_INNER_(a, b) a##b
#define VIGIL_CONCAT_(a, b) VIGIL_CONCAT_INNER_(a, b)

#define RETURN_IF_ERROR(expr)                    \
  do {                                           \
    ::absl::Status vigil_status_ = (expr);       \
    if (!vigil_status_.ok()) return vigil_status_; \
  } while (0)

#define ASSIGN_OR_RETURN(lhs, expr) \
  ASSIGN_OR_RETURN_IMPL_(VIGIL_CONCAT_(vigil_statusor_, __LINE__), lhs, expr)

#define ASSIGN_OR_RETURN_IMPL_(statusor, lhs, expr) \
  auto statusor = (expr);                           \
  if (!statusor.ok()) return statusor.status();     \
  lhs = std::move(statusor).value()

#endif  // VIGIL_COMMON_STATUS_MACROS_H_
