// Reads vigil's YAML configuration into the plain structs of config.h,
// validating strictly: an unknown key, a wrong type, a bad duration, size or
// signal, a missing or duplicate key is an error naming file, line, column and
// key path:
//   units/web.yaml:7:5: watch.memory.high: expected a size like 200M, got "lots"
// Every error in every file is reported, one per line, in one
// InvalidArgument status, so a reload can show the user all of them at once.
#ifndef VIGIL_CONFIG_LOADER_H_
#define VIGIL_CONFIG_LOADER_H_

#include <string>

#include "absl/status/statusor.h"
#include "config/config.h"

namespace vigil::config {

struct LoadOptions {
  // Without CAP_SYS_RESOURCE the kernel accepts only PSI trigger windows that
  // are multiples of 2 s. vigild sets this from its capability check so that
  // such a window is a config error rather than a failure at runtime.
  bool psi_window_needs_2s_multiple = true;
};

// Reads the main file and every *.yaml / *.yml in its units_dir (a relative
// units_dir is resolved against the main file's directory). Unit names are
// file stems; `after:` must name loaded units and contain no cycle. Paths in
// errors and in source_path are as given, joined with units_dir.
absl::StatusOr<Config> LoadConfig(const std::string& main_path,
                                  const LoadOptions& options = {});

// Reads one unit file on its own. `after:` names are not checked against
// other units.
absl::StatusOr<UnitConfig> LoadUnitFile(const std::string& path,
                                        const LoadOptions& options = {});

}  // namespace vigil::config

#endif  // VIGIL_CONFIG_LOADER_H_
