// Strict reading of yaml-cpp nodes. Every value is checked against what its
// key expects, and every problem becomes one located error
// "<file>:<line>:<column>: <key.path>: expected <what>, got <what>", collected
// in an ErrorList so that one pass reports everything wrong in a file.
//
// The position blamed for a map value is its key's (the key names what is
// wrong, and the user's eye finds it first); for a list item, the item's.
#ifndef VIGIL_CONFIG_YAML_FIELDS_H_
#define VIGIL_CONFIG_YAML_FIELDS_H_

#include <chrono>
#include <cstdint>
#include <initializer_list>
#include <memory>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "absl/container/flat_hash_map.h"
#include "absl/status/status.h"
#include "absl/strings/string_view.h"
#include "yaml-cpp/yaml.h"

namespace vigil::config {

class ErrorList {
 public:
  // Errors sort by file in the order files are first noted, then by line and
  // column, so a report reads file by file, top to bottom.
  void NoteFile(absl::string_view file);
  void Add(absl::string_view file, const YAML::Mark& mark, absl::string_view path,
           absl::string_view message);
  // An error about a whole file, with no position in it (unreadable file).
  void AddFileError(absl::string_view file, absl::string_view message);

  bool empty() const { return errors_.empty(); }
  size_t size() const { return errors_.size(); }
  // One line per error, sorted as described above.
  std::vector<std::string> Lines() const;
  // OK if empty, else InvalidArgument holding Lines() joined by newlines.
  absl::Status ToStatus() const;

 private:
  struct Error {
    size_t file_rank;
    int line;  // 1-based; 0 for errors about a whole file
    int column;
    std::string text;
  };
  size_t RankOf(absl::string_view file);

  absl::flat_hash_map<std::string, size_t> rank_by_file_;
  std::vector<Error> errors_;
};

// The file being read and where its errors go.
struct Source {
  std::string file;
  ErrorList* errors;
};

// One value in a YAML document, with the key path and position to blame.
class Field {
 public:
  Field(YAML::Node node, YAML::Mark blame, std::string path,
        std::shared_ptr<const Source> source);
  Field(const Field&) = default;
  // YAML::Node's own assignment writes through into the document; a Field
  // rebinds instead, so Fields can be sorted and reassigned safely.
  Field& operator=(const Field& other);

  const YAML::Node& node() const { return node_; }
  const std::string& path() const { return path_; }
  const YAML::Mark& blame() const { return blame_; }

  // Records "<path>: expected <expectation>, got <what the node is>".
  void Expected(absl::string_view expectation) const;
  // Records "<path>: <message>".
  void Fail(absl::string_view message) const;

  Field Child(const YAML::Node& value, const YAML::Mark& key_mark,
              absl::string_view key) const;
  // The same value, blaming another position (a key of this map, say).
  Field WithBlame(const YAML::Mark& mark) const;
  // Every item of a list (an error and no items if it is not one).
  std::optional<std::vector<Field>> Items(absl::string_view expectation) const;

  // Each reader returns nullopt after recording an error.
  std::optional<std::string> Text() const;    // any scalar, even ""
  std::optional<std::string> String() const;  // any non-empty scalar
  std::optional<std::string> AbsolutePath() const;
  std::optional<bool> Bool() const;  // true or false, nothing else
  std::optional<int64_t> Integer(int64_t min, int64_t max) const;
  std::optional<double> Number(double min, double max) const;
  std::optional<std::chrono::milliseconds> Duration() const;
  std::optional<std::chrono::milliseconds> PositiveDuration() const;
  std::optional<uint64_t> Size() const;
  std::optional<int> Signal() const;
  // A non-empty list of non-empty strings: an argv.
  std::optional<std::vector<std::string>> Argv() const;
  // One of `choices`, returned as its index.
  std::optional<size_t> OneOf(std::initializer_list<absl::string_view> choices) const;

 private:
  // The scalar text, or nullopt after recording "expected <expectation>".
  std::optional<std::string> Scalar(absl::string_view expectation) const;

  YAML::Node node_;
  YAML::Mark blame_;
  std::string path_;
  std::shared_ptr<const Source> source_;
};

// The keys of one YAML map. Construction reports, once: a value that is not
// a map, keys that are not plain names, duplicate keys, and keys outside
// `allowed` (naming the allowed ones).
class MapFields {
 public:
  MapFields(const Field& map, absl::string_view expectation,
            const std::vector<absl::string_view>& allowed);

  // False if the value was not a map; Get() then finds nothing.
  bool ok() const { return ok_; }
  // A map whose keys were all allowed, each once. Checks that need the whole
  // map skip unclean ones: a mistyped key was already reported.
  bool clean() const { return clean_; }
  const Field& self() const { return map_; }
  std::optional<Field> Get(absl::string_view key) const;
  bool Has(absl::string_view key) const { return Get(key).has_value(); }
  // Get(key), or records "<path>.<key>: expected <expectation>, got nothing
  // (the key is missing)" at the map's position.
  std::optional<Field> Require(absl::string_view key,
                               absl::string_view expectation) const;

 private:
  Field map_;
  bool ok_ = false;
  bool clean_ = false;
  // The first occurrence of each allowed key present, by key.
  std::vector<std::pair<std::string, Field>> known_;
};

// Stores what a reader returned, if it returned anything: the readers have
// already recorded why when they did not.
template <typename T>
void Assign(std::optional<T> value, T& out) {
  if (value) out = *std::move(value);
}
template <typename T>
void Assign(std::optional<T> value, std::optional<T>& out) {
  if (value) out = std::move(value);
}

// What a node is, for "got ...": a quoted scalar, "a list", "a map" or
// "nothing".
std::string DescribeNode(const YAML::Node& node);

}  // namespace vigil::config

#endif  // VIGIL_CONFIG_YAML_FIELDS_H_
