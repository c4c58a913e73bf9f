#include "config/yaml_fields.h"

#include <algorithm>
#include <cmath>
#include <utility>

#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/strings/str_join.h"
#include "config/duration.h"

namespace vigil::config {

void ErrorList::NoteFile(absl::string_view file) { RankOf(file); }

size_t ErrorList::RankOf(absl::string_view file) {
  // By hash: every unit file is noted, and a search along the list made
  // loading 10,000 units quadratic.
  return rank_by_file_.try_emplace(file, rank_by_file_.size()).first->second;
}

void ErrorList::Add(absl::string_view file, const YAML::Mark& mark,
                    absl::string_view path, absl::string_view message) {
  // yaml-cpp marks are 0-based; a node without a position has -1.
  int line = mark.line < 0 ? 1 : mark.line + 1;
  int column = mark.column < 0 ? 1 : mark.column + 1;
  std::string text = absl::StrCat(file, ":", line, ":", column, ": ", path,
                                  path.empty() ? "" : ": ", message);
  errors_.push_back({RankOf(file), line, column, std::move(text)});
}

void ErrorList::AddFileError(absl::string_view file, absl::string_view message) {
  errors_.push_back({RankOf(file), 0, 0, absl::StrCat(file, ": ", message)});
}

std::vector<std::string> ErrorList::Lines() const {
  std::vector<const Error*> sorted;
  for (const Error& error : errors_) sorted.push_back(&error);
  std::stable_sort(sorted.begin(), sorted.end(),
                   [](const Error* a, const Error* b) {
                     return std::tie(a->file_rank, a->line, a->column) <
                            std::tie(b->file_rank, b->line, b->column);
                   });
  std::vector<std::string> lines;
  for (const Error* error : sorted) lines.push_back(error->text);
  return lines;
}

absl::Status ErrorList::ToStatus() const {
  if (errors_.empty()) return absl::OkStatus();
  return absl::InvalidArgumentError(absl::StrJoin(Lines(), "\n"));
}

std::string DescribeNode(const YAML::Node& node) {
  switch (node.Type()) {
    case YAML::NodeType::Scalar:
      return QuoteForMessage(node.Scalar());
    case YAML::NodeType::Sequence:
      return node.size() == 0 ? "an empty list" : "a list";
    case YAML::NodeType::Map:
      return node.size() == 0 ? "an empty map" : "a map";
    case YAML::NodeType::Null:
    case YAML::NodeType::Undefined:
      break;
  }
  return "nothing";
}

Field::Field(YAML::Node node, YAML::Mark blame, std::string path,
             std::shared_ptr<const Source> source)
    : node_(std::move(node)),
      blame_(blame),
      path_(std::move(path)),
      source_(std::move(source)) {}

Field& Field::operator=(const Field& other) {
  node_.reset(other.node_);
  blame_ = other.blame_;
  path_ = other.path_;
  source_ = other.source_;
  return *this;
}

void Field::Expected(absl::string_view expectation) const {
  Fail(absl::StrCat("expected ", expectation, ", got ", DescribeNode(node_)));
}

void Field::Fail(absl::string_view message) const {
  source_->errors->Add(source_->file, blame_, path_, message);
}

Field Field::Child(const YAML::Node& value, const YAML::Mark& key_mark,
                   absl::string_view key) const {
  std::string path = path_.empty() ? std::string(key) : absl::StrCat(path_, ".", key);
  return Field(value, key_mark, std::move(path), source_);
}

Field Field::WithBlame(const YAML::Mark& mark) const {
  return Field(node_, mark, path_, source_);
}

std::optional<std::vector<Field>> Field::Items(
    absl::string_view expectation) const {
  if (!node_.IsSequence()) {
    Expected(expectation);
    return std::nullopt;
  }
  std::vector<Field> items;
  for (size_t i = 0; i < node_.size(); ++i) {
    YAML::Node item = node_[i];
    YAML::Mark mark = item.Mark().is_null() ? blame_ : item.Mark();
    items.emplace_back(item, mark, absl::StrCat(path_, "[", i, "]"), source_);
  }
  return items;
}

std::optional<std::string> Field::Scalar(absl::string_view expectation) const {
  if (!node_.IsScalar()) {
    Expected(expectation);
    return std::nullopt;
  }
  return node_.Scalar();
}

std::optional<std::string> Field::Text() const { return Scalar("a string"); }

std::optional<std::string> Field::String() const {
  std::optional<std::string> text = Scalar("a string");
  if (text && text->empty()) {
    Expected("a non-empty string");
    return std::nullopt;
  }
  return text;
}

std::optional<std::string> Field::AbsolutePath() const {
  std::optional<std::string> text = Scalar("an absolute path");
  if (text && (*text)[0] != '/') {
    Expected("an absolute path");
    return std::nullopt;
  }
  return text;
}

std::optional<bool> Field::Bool() const {
  std::optional<size_t> choice = OneOf({"true", "false"});
  if (!choice) return std::nullopt;
  return *choice == 0;
}

std::optional<int64_t> Field::Integer(int64_t min, int64_t max) const {
  std::string expectation =
      max == INT64_MAX ? absl::StrCat("an integer >= ", min)
                       : absl::StrCat("an integer from ", min, " to ", max);
  std::optional<std::string> text = Scalar(expectation);
  if (!text) return std::nullopt;
  int64_t value = 0;
  if (!absl::SimpleAtoi(*text, &value) || value < min || value > max) {
    Expected(expectation);
    return std::nullopt;
  }
  return value;
}

std::optional<double> Field::Number(double min, double max) const {
  std::string expectation =
      std::isinf(max) ? absl::StrFormat("a number >= %g", min)
                      : absl::StrFormat("a number from %g to %g", min, max);
  std::optional<std::string> text = Scalar(expectation);
  if (!text) return std::nullopt;
  double value = 0;
  if (!absl::SimpleAtod(*text, &value) || !std::isfinite(value) ||
      value < min || value > max) {
    Expected(expectation);
    return std::nullopt;
  }
  return value;
}

std::optional<std::chrono::milliseconds> Field::Duration() const {
  std::optional<std::string> text = Scalar(kDurationExpectation);
  if (!text) return std::nullopt;
  auto duration = ParseDuration(*text);
  if (!duration.ok()) {
    Fail(duration.status().message());
    return std::nullopt;
  }
  return *duration;
}

std::optional<std::chrono::milliseconds> Field::PositiveDuration() const {
  std::optional<std::chrono::milliseconds> duration = Duration();
  if (duration && duration->count() == 0) {
    Expected("a duration above 0");
    return std::nullopt;
  }
  return duration;
}

std::optional<uint64_t> Field::Size() const {
  std::optional<std::string> text = Scalar(kSizeExpectation);
  if (!text) return std::nullopt;
  auto size = ParseSize(*text);
  if (!size.ok()) {
    Fail(size.status().message());
    return std::nullopt;
  }
  return *size;
}

std::optional<int> Field::Signal() const {
  std::optional<std::string> text = Scalar(kSignalExpectation);
  if (!text) return std::nullopt;
  auto signal = ParseSignal(*text);
  if (!signal.ok()) {
    Fail(signal.status().message());
    return std::nullopt;
  }
  return *signal;
}

std::optional<std::vector<std::string>> Field::Argv() const {
  constexpr absl::string_view kExpectation = "a non-empty list of strings";
  std::optional<std::vector<Field>> items = Items(kExpectation);
  if (!items) return std::nullopt;
  if (items->empty()) {
    Expected(kExpectation);
    return std::nullopt;
  }
  std::vector<std::string> argv;
  bool ok = true;
  for (const Field& item : *items) {
    std::optional<std::string> arg = item.String();
    if (arg) argv.push_back(*std::move(arg));
    ok = ok && arg.has_value();
  }
  if (!ok) return std::nullopt;
  return argv;
}

std::optional<size_t> Field::OneOf(
    std::initializer_list<absl::string_view> choices) const {
  std::string expectation =
      choices.size() == 2
          ? absl::StrCat(*choices.begin(), " or ", *(choices.begin() + 1))
          : absl::StrCat("one of ", absl::StrJoin(choices, ", "));
  std::optional<std::string> text = Scalar(expectation);
  if (!text) return std::nullopt;
  auto it = std::find(choices.begin(), choices.end(), *text);
  if (it == choices.end()) {
    Expected(expectation);
    return std::nullopt;
  }
  return it - choices.begin();
}

MapFields::MapFields(const Field& map, absl::string_view expectation,
                     const std::vector<absl::string_view>& allowed)
    : map_(map) {
  const YAML::Node& node = map.node();
  if (!node.IsMap()) {
    map.Expected(expectation);
    return;
  }
  ok_ = true;
  clean_ = true;
  // Entries by value: yaml-cpp's iterators hand out temporaries.
  for (const auto& entry : node) {
    YAML::Node key = entry.first;
    if (!key.IsScalar()) {
      map.WithBlame(key.Mark()).Fail(
          absl::StrCat("expected a key name, got ", DescribeNode(key)));
      clean_ = false;
      continue;
    }
    Field value = map.Child(entry.second, key.Mark(), key.Scalar());
    if (std::find(allowed.begin(), allowed.end(), key.Scalar()) ==
        allowed.end()) {
      value.Fail(absl::StrCat("expected a key among ",
                              absl::StrJoin(allowed, ", "), ", got ",
                              QuoteForMessage(key.Scalar())));
      clean_ = false;
      continue;
    }
    if (std::optional<Field> first = Get(key.Scalar())) {
      value.Fail(absl::StrFormat(
          "expected each key once, got a second %s (first at line %d)",
          QuoteForMessage(key.Scalar()), first->blame().line + 1));
      clean_ = false;
      continue;
    }
    known_.emplace_back(key.Scalar(), std::move(value));
  }
}

std::optional<Field> MapFields::Get(absl::string_view key) const {
  for (const auto& [name, field] : known_) {
    if (name == key) return field;
  }
  return std::nullopt;
}

std::optional<Field> MapFields::Require(absl::string_view key,
                                        absl::string_view expectation) const {
  std::optional<Field> field = Get(key);
  if (!field && ok_) {
    map_.Child(YAML::Node(), map_.blame(), key)
        .Fail(absl::StrCat("expected ", expectation,
                           ", got nothing (the key is missing)"));
  }
  return field;
}

}  // namespace vigil::config
