#include "common/json.h"

#include <charconv>
#include <cmath>
#include <cstdint>
#include <string>
#include <string_view>
#include <system_error>
#include <utility>

#include "absl/base/internal/raw_logging.h"
#include "absl/container/flat_hash_set.h"
#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/strings/string_view.h"

namespace vigil::json {
namespace {

// Debian builds abseil with its own absl::string_view, which does not accept
// a std::string_view implicitly.
absl::string_view ToAbsl(std::string_view s) {
  return absl::string_view(s.data(), s.size());
}

std::string WithArticle(Value::Type type) {
  return absl::StrCat(
      type == Value::Type::kArray || type == Value::Type::kObject ? "an "
                                                                  : "a ",
      ToAbsl(TypeName(type)));
}

// Aborts with the accessor's name: calling AsString() on a number is a
// programming error, not bad input (input is checked with the Get* functions).
void CheckType(const Value& value, Value::Type want, const char* accessor) {
  if (value.type() != want) {
    ABSL_RAW_LOG(FATAL, "json::Value::%s called on %s", accessor,
                 WithArticle(value.type()).c_str());
  }
}

void AppendUtf8(uint32_t code_point, std::string& out) {
  if (code_point < 0x80) {
    out += static_cast<char>(code_point);
  } else if (code_point < 0x800) {
    out += static_cast<char>(0xC0 | (code_point >> 6));
    out += static_cast<char>(0x80 | (code_point & 0x3F));
  } else if (code_point < 0x10000) {
    out += static_cast<char>(0xE0 | (code_point >> 12));
    out += static_cast<char>(0x80 | ((code_point >> 6) & 0x3F));
    out += static_cast<char>(0x80 | (code_point & 0x3F));
  } else {
    out += static_cast<char>(0xF0 | (code_point >> 18));
    out += static_cast<char>(0x80 | ((code_point >> 12) & 0x3F));
    out += static_cast<char>(0x80 | ((code_point >> 6) & 0x3F));
    out += static_cast<char>(0x80 | (code_point & 0x3F));
  }
}

bool IsDigit(char c) { return c >= '0' && c <= '9'; }

int HexValue(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  return -1;
}

void AppendString(std::string_view s, std::string& out) {
  out += '"';
  for (char c : s) {
    switch (c) {
      case '"':
        out += "\\\"";
        break;
      case '\\':
        out += "\\\\";
        break;
      case '\b':
        out += "\\b";
        break;
      case '\f':
        out += "\\f";
        break;
      case '\n':
        out += "\\n";
        break;
      case '\r':
        out += "\\r";
        break;
      case '\t':
        out += "\\t";
        break;
      default:
        if (static_cast<unsigned char>(c) < 0x20) {
          absl::StrAppendFormat(&out, "\\u%04x", static_cast<int>(c));
        } else {
          out += c;
        }
    }
  }
  out += '"';
}

void AppendNumber(const Value& value, std::string& out) {
  if (value.IsInt()) {
    absl::StrAppend(&out, value.AsInt());
    return;
  }
  // Shortest form that reads back as the same double, independent of locale.
  char buffer[32];
  char* end =
      std::to_chars(buffer, buffer + sizeof(buffer), value.AsDouble()).ptr;
  out.append(buffer, end);
}

void AppendValue(const Value& value, std::string& out) {
  switch (value.type()) {
    case Value::Type::kNull:
      out += "null";
      return;
    case Value::Type::kBool:
      out += value.AsBool() ? "true" : "false";
      return;
    case Value::Type::kNumber:
      AppendNumber(value, out);
      return;
    case Value::Type::kString:
      AppendString(value.AsString(), out);
      return;
    case Value::Type::kArray: {
      out += '[';
      const char* separator = "";
      for (const Value& element : value.AsArray()) {
        out += separator;
        AppendValue(element, out);
        separator = ",";
      }
      out += ']';
      return;
    }
    case Value::Type::kObject: {
      out += '{';
      const char* separator = "";
      for (const auto& [key, member] : value.AsObject()) {
        out += separator;
        AppendString(key, out);
        out += ':';
        AppendValue(member, out);
        separator = ",";
      }
      out += '}';
      return;
    }
  }
}

// The member `key` of `object` if it exists and has type `want`.
absl::StatusOr<const Value*> Field(const Value& object, std::string_view key,
                                   Value::Type want) {
  if (!object.IsObject()) {
    return absl::InvalidArgumentError(absl::StrCat(
        "looking up field \"", ToAbsl(key), "\": expected an object, got ",
        ToAbsl(TypeName(object.type()))));
  }
  const Value* field = object.Find(key);
  if (field == nullptr) {
    return absl::InvalidArgumentError(
        absl::StrCat("field \"", ToAbsl(key), "\" is missing"));
  }
  if (field->type() != want) {
    return absl::InvalidArgumentError(absl::StrCat(
        "field \"", ToAbsl(key), "\": expected ", WithArticle(want), ", got ",
        ToAbsl(TypeName(field->type()))));
  }
  return field;
}

}  // namespace

// Recursive descent over the RFC 8259 grammar. Every error names the byte
// offset where the input stopped making sense. Outside the anonymous
// namespace only because Value befriends it.
class Parser {
 public:
  explicit Parser(std::string_view text) : text_(text) {}

  absl::StatusOr<Value> ParseDocument() {
    SkipWhitespace();
    absl::StatusOr<Value> value = ParseValue(0);
    if (!value.ok()) return value;
    SkipWhitespace();
    if (!AtEnd()) return Expected("end of input after value");
    return value;
  }

 private:
  // `depth` counts the arrays/objects enclosing this value.
  absl::StatusOr<Value> ParseValue(int depth) {
    if (AtEnd()) return Expected("a value");
    switch (text_[pos_]) {
      case '{':
      case '[':
        if (depth >= kMaxDepth) {
          return ErrorAt(pos_, absl::StrFormat("arrays and objects nested "
                                               "deeper than %d levels",
                                               kMaxDepth));
        }
        return text_[pos_] == '{' ? ParseObject(depth) : ParseArray(depth);
      case '"': {
        absl::StatusOr<std::string> s = ParseString();
        if (!s.ok()) return s.status();
        return Value(*std::move(s));
      }
      case 't':
        return ParseLiteral("true", Value(true));
      case 'f':
        return ParseLiteral("false", Value(false));
      case 'n':
        return ParseLiteral("null", Value());
      default:
        if (text_[pos_] == '-' || IsDigit(text_[pos_])) return ParseNumber();
        return Expected("a value");
    }
  }

  absl::StatusOr<Value> ParseObject(int depth) {
    // Built directly rather than through Value::Set, whose linear key search
    // would make a large hostile object quadratic.
    Value::Members members;
    absl::flat_hash_set<std::string> keys;
    ++pos_;  // '{'
    SkipWhitespace();
    if (Consume('}')) return Value(std::move(members));
    while (true) {
      if (AtEnd() || text_[pos_] != '"') return Expected("a string key");
      size_t key_pos = pos_;
      absl::StatusOr<std::string> key = ParseString();
      if (!key.ok()) return key.status();
      if (!keys.insert(*key).second) {
        return ErrorAt(key_pos,
                       absl::StrCat("duplicate key ", Serialize(Value(*key)),
                                    " in object"));
      }
      SkipWhitespace();
      if (!Consume(':')) return Expected("':' after object key");
      SkipWhitespace();
      absl::StatusOr<Value> member = ParseValue(depth + 1);
      if (!member.ok()) return member;
      members.emplace_back(*std::move(key), *std::move(member));
      SkipWhitespace();
      if (Consume('}')) return Value(std::move(members));
      if (!Consume(',')) return Expected("',' or '}' in object");
      SkipWhitespace();
    }
  }

  absl::StatusOr<Value> ParseArray(int depth) {
    Value array = Value::Array();
    ++pos_;  // '['
    SkipWhitespace();
    if (Consume(']')) return array;
    while (true) {
      absl::StatusOr<Value> element = ParseValue(depth + 1);
      if (!element.ok()) return element;
      array.Push(*std::move(element));
      SkipWhitespace();
      if (Consume(']')) return array;
      if (!Consume(',')) return Expected("',' or ']' in array");
      SkipWhitespace();
    }
  }

  absl::StatusOr<std::string> ParseString() {
    size_t start = pos_;
    ++pos_;  // '"'
    std::string out;
    while (!AtEnd()) {
      char c = text_[pos_];
      if (c == '"') {
        ++pos_;
        return out;
      }
      if (c == '\\') {
        absl::Status status = ParseEscape(out);
        if (!status.ok()) return status;
        continue;
      }
      if (static_cast<unsigned char>(c) < 0x20) {
        return ErrorAt(pos_, absl::StrFormat("unescaped control character "
                                             "0x%02X in string",
                                             static_cast<int>(c)));
      }
      out += c;
      ++pos_;
    }
    return ErrorAt(start, "unterminated string");
  }

  // At a backslash inside a string; appends the decoded character(s).
  absl::Status ParseEscape(std::string& out) {
    size_t escape_start = pos_;
    ++pos_;  // '\'
    char c = AtEnd() ? '\0' : text_[pos_];
    const std::string_view kSimple = "\"\\/bfnrt";
    const std::string_view kDecoded = "\"\\/\b\f\n\r\t";
    if (size_t i = kSimple.find(c); i != std::string_view::npos) {
      out += kDecoded[i];
      ++pos_;
      return absl::OkStatus();
    }
    if (c != 'u') return Expected("one of \"\\/bfnrtu after '\\' in string");
    ++pos_;
    absl::StatusOr<uint32_t> unit = ParseHex4();
    if (!unit.ok()) return unit.status();
    if (*unit >= 0xDC00 && *unit <= 0xDFFF) {
      return ErrorAt(escape_start,
                     absl::StrFormat("unpaired low surrogate \\u%04X", *unit));
    }
    if (*unit < 0xD800 || *unit > 0xDBFF) {
      AppendUtf8(*unit, out);
      return absl::OkStatus();
    }
    // A high surrogate is only meaningful with a low surrogate right after.
    if (text_.substr(pos_, 2) == "\\u") {
      pos_ += 2;
      absl::StatusOr<uint32_t> low = ParseHex4();
      if (!low.ok()) return low.status();
      if (*low >= 0xDC00 && *low <= 0xDFFF) {
        AppendUtf8(0x10000 + ((*unit - 0xD800) << 10) + (*low - 0xDC00), out);
        return absl::OkStatus();
      }
    }
    return ErrorAt(escape_start,
                   absl::StrFormat("high surrogate \\u%04X is not followed by "
                                   "a low surrogate",
                                   *unit));
  }

  absl::StatusOr<uint32_t> ParseHex4() {
    uint32_t unit = 0;
    for (int i = 0; i < 4; ++i) {
      int digit = AtEnd() ? -1 : HexValue(text_[pos_]);
      if (digit < 0) return Expected("a hex digit in \\u escape");
      unit = unit * 16 + digit;
      ++pos_;
    }
    return unit;
  }

  absl::StatusOr<Value> ParseNumber() {
    size_t start = pos_;
    Consume('-');
    if (!AtEnd() && text_[pos_] == '0') {
      ++pos_;
      if (!AtEnd() && IsDigit(text_[pos_])) {
        return ErrorAt(pos_ - 1, "leading zero in number");
      }
    } else if (!ConsumeDigits()) {
      return Expected("a digit");
    }
    bool integral = true;
    if (Consume('.')) {
      integral = false;
      if (!ConsumeDigits()) return Expected("a digit after '.'");
    }
    if (Consume('e') || Consume('E')) {
      integral = false;
      if (!Consume('+')) Consume('-');
      if (!ConsumeDigits()) return Expected("a digit in exponent");
    }
    const char* first = text_.data() + start;
    const char* last = text_.data() + pos_;
    if (integral) {
      int64_t n;
      if (std::from_chars(first, last, n).ec == std::errc()) return Value(n);
      // Beyond int64: fall back to the nearest double.
    }
    double d;
    if (std::from_chars(first, last, d).ec != std::errc()) {
      return ErrorAt(start, "number out of range");
    }
    return Value(d);
  }

  absl::StatusOr<Value> ParseLiteral(absl::string_view word, Value value) {
    for (char expected : word) {
      if (!Consume(expected)) return Expected(absl::StrCat("'", word, "'"));
    }
    return value;
  }

  bool ConsumeDigits() {
    size_t start = pos_;
    while (!AtEnd() && IsDigit(text_[pos_])) ++pos_;
    return pos_ > start;
  }

  bool Consume(char c) {
    if (AtEnd() || text_[pos_] != c) return false;
    ++pos_;
    return true;
  }

  void SkipWhitespace() {
    while (!AtEnd() && (text_[pos_] == ' ' || text_[pos_] == '\t' ||
                        text_[pos_] == '\n' || text_[pos_] == '\r')) {
      ++pos_;
    }
  }

  bool AtEnd() const { return pos_ >= text_.size(); }

  absl::Status ErrorAt(size_t pos, absl::string_view problem) const {
    return absl::InvalidArgumentError(
        absl::StrCat("at byte ", pos, ": ", problem));
  }

  // "expected <what>, got <what is at pos_>".
  absl::Status Expected(absl::string_view what) const {
    std::string got;
    if (AtEnd()) {
      got = "end of input";
    } else if (unsigned char c = text_[pos_]; c > 0x20 && c < 0x7F) {
      got = absl::StrCat("'", absl::string_view(&text_[pos_], 1), "'");
    } else {
      got = absl::StrFormat("byte 0x%02X", c);
    }
    return ErrorAt(pos_, absl::StrCat("expected ", what, ", got ", got));
  }

  std::string_view text_;
  size_t pos_ = 0;
};

Value::Value(double d) {
  if (!std::isfinite(d)) return;  // null
  // 2^63 is exact as a double; every double below it that is integral fits.
  if (d == std::trunc(d) && d >= -0x1p63 && d < 0x1p63) {
    data_ = Number(static_cast<int64_t>(d));
  } else {
    data_ = Number(d);
  }
}

bool Value::IsInt() const {
  const Number* number = std::get_if<Number>(&data_);
  return number != nullptr && std::holds_alternative<int64_t>(*number);
}

bool Value::AsBool() const {
  CheckType(*this, Type::kBool, "AsBool");
  return std::get<bool>(data_);
}

int64_t Value::AsInt() const {
  if (!IsInt()) {
    ABSL_RAW_LOG(FATAL, "json::Value::AsInt called on a non-integer");
  }
  return std::get<int64_t>(std::get<Number>(data_));
}

double Value::AsDouble() const {
  CheckType(*this, Type::kNumber, "AsDouble");
  const Number& number = std::get<Number>(data_);
  if (const int64_t* n = std::get_if<int64_t>(&number)) {
    return static_cast<double>(*n);
  }
  return std::get<double>(number);
}

const std::string& Value::AsString() const {
  CheckType(*this, Type::kString, "AsString");
  return std::get<std::string>(data_);
}

const Value::Elements& Value::AsArray() const {
  CheckType(*this, Type::kArray, "AsArray");
  return std::get<Elements>(data_);
}

const Value::Members& Value::AsObject() const {
  CheckType(*this, Type::kObject, "AsObject");
  return std::get<Members>(data_);
}

const Value* Value::Find(std::string_view key) const {
  const Members* members = std::get_if<Members>(&data_);
  if (members == nullptr) return nullptr;
  for (const auto& [name, value] : *members) {
    if (name == key) return &value;
  }
  return nullptr;
}

Value& Value::Set(std::string key, Value value) & {
  CheckType(*this, Type::kObject, "Set");
  Members& members = std::get<Members>(data_);
  for (auto& [name, existing] : members) {
    if (name == key) {
      existing = std::move(value);
      return *this;
    }
  }
  members.emplace_back(std::move(key), std::move(value));
  return *this;
}

Value& Value::Push(Value value) & {
  CheckType(*this, Type::kArray, "Push");
  std::get<Elements>(data_).push_back(std::move(value));
  return *this;
}

std::string_view TypeName(Value::Type type) {
  switch (type) {
    case Value::Type::kNull:
      return "null";
    case Value::Type::kBool:
      return "boolean";
    case Value::Type::kNumber:
      return "number";
    case Value::Type::kString:
      return "string";
    case Value::Type::kArray:
      return "array";
    case Value::Type::kObject:
      return "object";
  }
  return "unknown";
}

absl::StatusOr<Value> Parse(std::string_view text) {
  return Parser(text).ParseDocument();
}

std::string Serialize(const Value& value) {
  std::string out;
  AppendValue(value, out);
  return out;
}

absl::StatusOr<std::string> GetString(const Value& object,
                                      std::string_view key) {
  absl::StatusOr<const Value*> field = Field(object, key, Value::Type::kString);
  if (!field.ok()) return field.status();
  return (*field)->AsString();
}

absl::StatusOr<bool> GetBool(const Value& object, std::string_view key) {
  absl::StatusOr<const Value*> field = Field(object, key, Value::Type::kBool);
  if (!field.ok()) return field.status();
  return (*field)->AsBool();
}

absl::StatusOr<int64_t> GetInt(const Value& object, std::string_view key) {
  absl::StatusOr<const Value*> field = Field(object, key, Value::Type::kNumber);
  if (!field.ok()) return field.status();
  if (!(*field)->IsInt()) {
    return absl::InvalidArgumentError(absl::StrCat(
        "field \"", ToAbsl(key), "\": expected an integer, got number ",
        Serialize(**field)));
  }
  return (*field)->AsInt();
}

absl::StatusOr<double> GetDouble(const Value& object, std::string_view key) {
  absl::StatusOr<const Value*> field = Field(object, key, Value::Type::kNumber);
  if (!field.ok()) return field.status();
  return (*field)->AsDouble();
}

absl::StatusOr<const Value*> GetArray(const Value& object,
                                      std::string_view key) {
  return Field(object, key, Value::Type::kArray);
}

absl::StatusOr<const Value*> GetObject(const Value& object,
                                       std::string_view key) {
  return Field(object, key, Value::Type::kObject);
}

}  // namespace vigil::json
