// --extra-opts=[section][@file] as monitoring-plugins 2.3.3 implements it
// (lib/extra_opts.c, lib/parse_ini.c): ini options are inserted before the
// real command-line arguments.
#ifndef VIGIL_NAGIOS_EXTRA_OPTS_H_
#define VIGIL_NAGIOS_EXTRA_OPTS_H_

#include <string>
#include "absl/strings/string_view.h"
#include <vector>

#include "absl/status/statusor.h"

namespace vigil::nagios {

// `args` includes argv[0]. On failure the status message is the exact text
// the plugin prints before exiting 3.
absl::StatusOr<std::vector<std::string>> ExpandExtraOpts(
    std::vector<std::string> args, absl::string_view plugin_name);

// The options of `section` in ini text, each as "--key=value" ("-k=value" for
// one-letter keys). Error message as above; `file` is only used in it.
absl::StatusOr<std::vector<std::string>> IniSectionOptions(
    absl::string_view ini, absl::string_view section, absl::string_view file);

}  // namespace vigil::nagios

#endif  // VIGIL_NAGIOS_EXTRA_OPTS_H_
