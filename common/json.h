// A small JSON value, parser and serializer for vigil's control protocol
// (one JSON document per line over a unix socket).
//
// Parsing is strict RFC 8259: no comments, no trailing commas, no NaN or
// Infinity, no leading zeros, only space/tab/CR/LF as whitespace. Choices the
// RFC leaves open:
//   - Duplicate object keys are an error: a request saying {"pid":1,"pid":2}
//     is ambiguous, and "last wins" would let a peer smuggle a second value
//     past anything that inspected the first.
//   - Bytes >= 0x80 inside strings are accepted as-is (not validated as
//     UTF-8); unescaped control characters (< 0x20) are rejected. \uXXXX
//     escapes, including surrogate pairs, are decoded to UTF-8; an unpaired
//     surrogate is an error because it has no UTF-8 encoding.
//   - Nesting deeper than kMaxDepth arrays/objects is an error, so a hostile
//     peer cannot exhaust the stack. Limiting input size is the caller's job.
//   - A number is stored as int64 when it is integral and fits, otherwise as
//     a double; magnitudes a double cannot hold (1e400, 1e-400) are errors.
//
// Error messages name the 0-based byte offset of the problem, e.g.
//   at byte 17: expected ',' or '}' in object, got '"'
#ifndef VIGIL_COMMON_JSON_H_
#define VIGIL_COMMON_JSON_H_

#include <concepts>
#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>
#include <type_traits>
#include <utility>
#include <variant>
#include <vector>

#include "absl/status/statusor.h"

namespace vigil::json {

inline constexpr int kMaxDepth = 64;

class Value {
 public:
  enum class Type { kNull, kBool, kNumber, kString, kArray, kObject };
  using Elements = std::vector<Value>;
  // Insertion-ordered, so serialized output keeps the order it was built in.
  using Members = std::vector<std::pair<std::string, Value>>;

  Value() = default;  // null
  Value(std::nullptr_t) {}
  Value(bool b) : data_(b) {}
  template <std::integral T>
    requires(!std::same_as<T, bool>)
  Value(T n) : Value(FromIntegral(n)) {}
  // A char is far more likely a mistaken string than a number.
  Value(char) = delete;
  // Integral values that fit int64 are stored as integers; NaN and
  // infinities, which JSON cannot represent, become null.
  Value(double d);
  Value(const char* s) : data_(std::string(s)) {}
  Value(std::string s) : data_(std::move(s)) {}
  Value(std::string_view s) : data_(std::string(s)) {}
  // Without this, any other pointer would silently convert to bool.
  template <typename T>
    requires(!std::same_as<std::remove_cv_t<T>, char>)
  Value(T*) = delete;

  static Value Object() { return Value(Members{}); }
  static Value Array() { return Value(Elements{}); }

  Type type() const { return static_cast<Type>(data_.index()); }
  bool IsNull() const { return type() == Type::kNull; }
  bool IsBool() const { return type() == Type::kBool; }
  bool IsNumber() const { return type() == Type::kNumber; }
  // A number stored as int64 (see the file comment).
  bool IsInt() const;
  bool IsString() const { return type() == Type::kString; }
  bool IsArray() const { return type() == Type::kArray; }
  bool IsObject() const { return type() == Type::kObject; }

  // Accessors: calling one on the wrong type aborts. Check with IsX() first,
  // or use the Get* functions below, which return errors instead.
  bool AsBool() const;
  int64_t AsInt() const;    // requires IsInt()
  double AsDouble() const;  // any number
  const std::string& AsString() const;
  const Elements& AsArray() const;
  const Members& AsObject() const;

  // nullptr if this is not an object or has no such key.
  const Value* Find(std::string_view key) const;

  // Object only: replaces the value of an existing key, else appends.
  Value& Set(std::string key, Value value) &;
  Value&& Set(std::string key, Value value) && {
    return std::move(Set(std::move(key), std::move(value)));
  }
  // Array only.
  Value& Push(Value value) &;
  Value&& Push(Value value) && { return std::move(Push(std::move(value))); }

  // Objects compare member by member, in order. Numbers compare by value
  // because integral doubles are always stored as int64.
  bool operator==(const Value& other) const = default;

 private:
  friend class Parser;  // builds objects without Set's per-key search

  // A number is either exact (int64) or not (double); one variant slot so
  // that type() stays a plain index.
  using Number = std::variant<int64_t, double>;

  explicit Value(Elements a) : data_(std::move(a)) {}
  explicit Value(Members m) : data_(std::move(m)) {}
  template <std::integral T>
  static Value FromIntegral(T n) {
    if constexpr (std::is_unsigned_v<T> && sizeof(T) >= sizeof(int64_t)) {
      if (n > static_cast<T>(INT64_MAX)) return Value(static_cast<double>(n));
    }
    Value v;
    v.data_ = Number(static_cast<int64_t>(n));
    return v;
  }

  // Alternative order must match Type.
  std::variant<std::monostate, bool, Number, std::string, Elements, Members>
      data_;
};

// Lowercase name of a type as used in error messages ("number", "object").
std::string_view TypeName(Value::Type type);

// Parses exactly one JSON document; surrounding whitespace is allowed,
// anything else after the value is an error. Errors are InvalidArgument.
absl::StatusOr<Value> Parse(std::string_view text);

// Compact single-line form (no newline can appear in the output), suitable
// as one line of the protocol. Doubles are written in the shortest form that
// parses back to the same double.
std::string Serialize(const Value& value);

// Typed field access for request handling. Errors are InvalidArgument and
// name the field, e.g. `field "cmd" is missing` or
// `field "cmd": expected a string, got number`.
absl::StatusOr<std::string> GetString(const Value& object,
                                      std::string_view key);
absl::StatusOr<bool> GetBool(const Value& object, std::string_view key);
// Rejects non-integral numbers and integers beyond int64.
absl::StatusOr<int64_t> GetInt(const Value& object, std::string_view key);
absl::StatusOr<double> GetDouble(const Value& object, std::string_view key);
// Pointers into `object`, valid while it is alive and unmodified.
absl::StatusOr<const Value*> GetArray(const Value& object,
                                      std::string_view key);
absl::StatusOr<const Value*> GetObject(const Value& object,
                                       std::string_view key);

}  // namespace vigil::json

#endif  // VIGIL_COMMON_JSON_H_
