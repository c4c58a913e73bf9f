// Reads a unit's `watch:` section (resource watches and their actions) into
// WatchSpec, recording every problem in the field's ErrorList.
#ifndef VIGIL_CONFIG_WATCH_READER_H_
#define VIGIL_CONFIG_WATCH_READER_H_

#include "config/config.h"
#include "config/loader.h"
#include "config/yaml_fields.h"

namespace vigil::config {

// Best effort: the result is meaningful only if no error was recorded.
WatchSpec ReadWatch(const Field& watch, const LoadOptions& options);

}  // namespace vigil::config

#endif  // VIGIL_CONFIG_WATCH_READER_H_
