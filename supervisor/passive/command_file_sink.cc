#include "supervisor/passive/command_file_sink.h"

#include <fcntl.h>
#include <unistd.h>

#include <cerrno>

#include "absl/strings/str_cat.h"
#include "common/errno_status.h"
#include "supervisor/unique_fd.h"

namespace vigil::passive {

void CommandFileSink::Deliver(const std::vector<PassiveResult>& batch, Done done) {
  UniqueFd fd(open(path_.c_str(), O_WRONLY | O_NONBLOCK | O_APPEND | O_CLOEXEC));
  if (!fd.valid()) {
    if (errno == ENXIO) {
      done(0, absl::UnavailableError(absl::StrCat(
                  "nothing reads the command file ", path_, " (is Nagios running?)")));
    } else {
      done(0, ErrnoStatus(absl::StrCat("open ", path_), errno));
    }
    return;
  }
  for (size_t i = 0; i < batch.size(); ++i) {
    const std::string line = ExternalCommandLine(batch[i]);
    const ssize_t n = write(fd.get(), line.data(), line.size());
    if (n == static_cast<ssize_t>(line.size())) continue;
    if (n < 0 && errno == EAGAIN) {
      done(i, absl::UnavailableError(absl::StrCat("the command file ", path_,
                                                  " is full (Nagios is not reading it)")));
    } else if (n < 0) {
      done(i, ErrnoStatus(absl::StrCat("write ", path_), errno));
    } else {
      // Only a regular file can take part of a line; the rest is lost.
      done(i + 1, absl::DataLossError(absl::StrCat("short write to ", path_)));
    }
    return;
  }
  done(batch.size(), absl::OkStatus());
}

}  // namespace vigil::passive
