#include "nagios/extra_opts.h"

#include <unistd.h>

#include <cctype>
#include <cerrno>
#include <cstdlib>
#include <cstring>
#include <fstream>
#include <iostream>
#include <iterator>
#include <optional>
#include <sstream>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"

namespace vigil::nagios {
namespace {

constexpr const char* kDefaultIniNames[] = {
    "monitoring-plugins.ini", "plugins.ini", "nagios-plugins.ini"};
constexpr const char* kDefaultIniPaths[] = {
    "/usr/local/etc/monitoring-plugins/monitoring-plugins.ini",
    "/usr/local/etc/monitoring-plugins.ini",
    "/etc/monitoring-plugins/monitoring-plugins.ini",
    "/etc/monitoring-plugins.ini",
    "/etc/nagios/plugins.ini",
    "/usr/local/nagios/etc/plugins.ini",
    "/usr/local/etc/nagios/plugins.ini",
    "/etc/opt/nagios/plugins.ini",
    "/etc/nagios-plugins.ini",
    "/usr/local/etc/nagios-plugins.ini",
    "/etc/opt/nagios-plugins.ini",
};

absl::Status Die(std::string text) {
  return absl::InvalidArgumentError(std::move(text));
}

// fgetc/ungetc over a string, so the parser below can mirror parse_ini.c.
class CharStream {
 public:
  explicit CharStream(absl::string_view text) : text_(text) {}
  int Get() {
    return pos_ < text_.size() ? static_cast<unsigned char>(text_[pos_++])
                               : EOF;
  }
  void Unget() { --pos_; }
  // fgets-like: the rest of the line without its '\n'.
  std::string Line() {
    std::string line;
    int c;
    while ((c = Get()) != EOF && c != '\n') line.push_back(static_cast<char>(c));
    return line;
  }
  void GobbleTo(int& c, int stop) {
    do {
      c = Get();
    } while (c != EOF && c != stop);
  }

 private:
  absl::string_view text_;
  size_t pos_ = 0;
};

bool IsSpace(int c) { return c != EOF && std::isspace(c); }

absl::StatusOr<std::string> OptionFromLine(const std::string& line) {
  const char* begin = line.c_str();
  const char* end = begin + line.size();
  const char* opt = begin;
  while (opt < end && std::isspace(static_cast<unsigned char>(*opt))) ++opt;
  const char* eq = opt;
  const char* opt_end = nullptr;
  for (; eq < end && *eq != '='; ++eq) {
    if (std::isspace(static_cast<unsigned char>(*eq)) && opt_end == nullptr) {
      opt_end = eq;
    } else {
      opt_end = nullptr;
    }
  }
  if (opt_end == nullptr) opt_end = eq;
  if (opt == eq) return Die("Config file error\n");
  const char* value = eq + 1;
  while (value < end && std::isspace(static_cast<unsigned char>(*value))) ++value;
  const char* value_end = end;
  while (value_end > value &&
         std::isspace(static_cast<unsigned char>(value_end[-1]))) {
    --value_end;
  }
  if (eq >= end) return Die("Config file error\n");  // no '=' at all
  const std::string key(opt, opt_end);
  std::string arg = key.size() == 1 ? "-" : "--";
  arg += key;
  if (value < end) absl::StrAppend(&arg, "=", std::string(value, value_end));
  return arg;
}

std::string DefaultIniFile() {
  if (const char* env = std::getenv("MP_CONFIG_FILE")) return env;
  if (const char* path = std::getenv("NAGIOS_CONFIG_PATH")) {
    for (absl::string_view dir : absl::StrSplit(path, ':', absl::SkipEmpty())) {
      for (const char* name : kDefaultIniNames) {
        std::string candidate = absl::StrCat(dir, "/", name);
        if (access(candidate.c_str(), F_OK) == 0) return candidate;
      }
    }
  }
  for (const char* candidate : kDefaultIniPaths) {
    if (access(candidate, F_OK) == 0) return candidate;
  }
  return "";
}

absl::StatusOr<std::vector<std::string>> DefaultsFor(const char* locator,
                                                     absl::string_view plugin) {
  absl::string_view loc = locator ? locator : "";
  const size_t stanza_len = loc.find('@') == absl::string_view::npos
                                ? loc.size()
                                : loc.find('@');
  const std::string stanza =
      stanza_len > 0 ? std::string(loc.substr(0, stanza_len))
                     : std::string(plugin);
  const std::string file = stanza_len == loc.size()
                               ? DefaultIniFile()
                               : std::string(loc.substr(stanza_len + 1));
  if (file.empty()) {
    return Die("Cannot find config file in any standard location.\n");
  }
  std::string ini;
  if (file == "-") {
    ini.assign(std::istreambuf_iterator<char>(std::cin), {});
  } else {
    std::ifstream in(file, std::ios::binary);
    if (!in) {
      return Die(absl::StrCat("Can't read config file: ", std::strerror(errno),
                              "\n"));
    }
    ini.assign(std::istreambuf_iterator<char>(in), {});
  }
  return IniSectionOptions(ini, stanza, file);
}

bool IsOption(const std::string& s) {
  const size_t dashes = std::strspn(s.c_str(), "-");
  return dashes == 1 || dashes == 2;
}

}  // namespace

absl::StatusOr<std::vector<std::string>> IniSectionOptions(
    absl::string_view ini, absl::string_view section, absl::string_view file) {
  enum { kNoStanza, kWrongStanza, kRightStanza } state = kNoStanza;
  std::vector<std::string> options;
  CharStream in(ini);
  int c;
  while ((c = in.Get()) != EOF) {
    if (IsSpace(c)) continue;
    switch (c) {
      case ';':
      case '#':
        in.GobbleTo(c, '\n');
        break;
      case '[': {
        state = kWrongStanza;
        size_t i = 0;
        for (; i < section.size(); ++i) {
          c = in.Get();
          if (i == 0) {
            while (IsSpace(c)) c = in.Get();
          }
          if (c != static_cast<unsigned char>(section[i])) {
            in.GobbleTo(c, '\n');
            break;
          }
        }
        if (i == section.size()) {
          c = in.Get();
          while (IsSpace(c)) c = in.Get();
          if (c == ']') state = kRightStanza;
        }
        break;
      }
      default:
        switch (state) {
          case kNoStanza:
            return Die("Config file error\n");
          case kWrongStanza:
            in.GobbleTo(c, '\n');
            break;
          case kRightStanza: {
            in.Unget();
            auto option = OptionFromLine(in.Line());
            if (!option.ok()) return option.status();
            options.push_back(*std::move(option));
            break;
          }
        }
        break;
    }
  }
  if (options.empty()) {
    return Die(absl::StrCat("Invalid section '", section,
                            "' in config file '", file, "'\n"));
  }
  return options;
}

absl::StatusOr<std::vector<std::string>> ExpandExtraOpts(
    std::vector<std::string> args, absl::string_view plugin_name) {
  if (args.size() < 2) return args;
  std::vector<std::string> extra;
  std::vector<std::string> rest = {args[0]};
  bool found = false;
  for (size_t i = 1; i < args.size(); ++i) {
    std::optional<std::string> locator;
    bool bare = false;
    if (args[i].rfind("--extra-opts=", 0) == 0) {
      locator = args[i].substr(13);
    } else if (args[i] == "--extra-opts") {
      if (i + 1 < args.size() && !IsOption(args[i + 1])) {
        locator = args[++i];
      } else {
        bare = true;
      }
    } else {
      rest.push_back(args[i]);
      continue;
    }
    found = true;
    auto defaults = DefaultsFor(bare ? nullptr : locator->c_str(), plugin_name);
    if (!defaults.ok()) return defaults.status();
    extra.insert(extra.end(), defaults->begin(), defaults->end());
  }
  if (!found) return args;
  std::vector<std::string> out = {rest[0]};
  out.insert(out.end(), extra.begin(), extra.end());
  out.insert(out.end(), rest.begin() + 1, rest.end());
  return out;
}

}  // namespace vigil::nagios
