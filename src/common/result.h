#pragma once
// Result<T>: a value or a non-OK Status.

#include <type_traits>
#include <utility>
#include <variant>

#include "common/check.h"
#include "common/status.h"

namespace hangar {

template <typename T>
class [[nodiscard]] Result {
 public:
  Result(T value) : state_(std::in_place_index<0>, std::move(value)) {}  // NOLINT: implicit by design
  Result(Status status) : state_(std::in_place_index<1>, std::move(status)) {  // NOLINT
    HANGAR_CHECK(!std::get<1>(state_).ok());
  }
  template <typename U, typename = std::enable_if_t<std::is_convertible_v<U&&, T> &&
                                                    !std::is_same_v<std::decay_t<U>, T> &&
                                                    !std::is_same_v<std::decay_t<U>, Status>>>
  Result(U&& value) : state_(std::in_place_index<0>, T(std::forward<U>(value))) {}  // NOLINT

  bool ok() const { return state_.index() == 0; }
  const Status& status() const {
    static const Status kOkStatus;
    return ok() ? kOkStatus : std::get<1>(state_);
  }
  Status TakeStatus() && { return ok() ? Status() : std::move(std::get<1>(state_)); }

  T& value() & {
    HANGAR_CHECK(ok());
    return std::get<0>(state_);
  }
  const T& value() const& {
    HANGAR_CHECK(ok());
    return std::get<0>(state_);
  }
  T&& value() && {
    HANGAR_CHECK(ok());
    return std::get<0>(std::move(state_));
  }
  T& operator*() & { return value(); }
  const T& operator*() const& { return value(); }
  T&& operator*() && { return std::move(*this).value(); }
  T* operator->() { return &value(); }
  const T* operator->() const { return &value(); }

 private:
  std::variant<T, Status> state_;
};

}  // namespace hangar

#define HANGAR_CONCAT_INNER_(a, b) a##b
#define HANGAR_CONCAT_(a, b) HANGAR_CONCAT_INNER_(a, b)

// Returns the status from the enclosing function if `expr` (a Status) is not OK.
#define HANGAR_RETURN_IF_ERROR(expr)                     \
  do {                                                   \
    ::hangar::Status hangar_status_ = (expr);            \
    if (!hangar_status_.ok()) return hangar_status_;     \
  } while (0)

// `lhs = value of expr` (a Result<T>), or returns its status from the enclosing function.
#define HANGAR_ASSIGN_OR_RETURN(lhs, expr) \
  HANGAR_ASSIGN_OR_RETURN_IMPL_(HANGAR_CONCAT_(hangar_result_, __LINE__), lhs, expr)
#define HANGAR_ASSIGN_OR_RETURN_IMPL_(tmp, lhs, expr) \
  auto tmp = (expr);                                  \
  if (!tmp.ok()) return std::move(tmp).TakeStatus();  \
  lhs = std::move(tmp).value()
