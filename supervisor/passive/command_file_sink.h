// CommandFileSink: writes PROCESS_SERVICE_CHECK_RESULT lines to the Nagios
// (or Naemon, or Icinga 2 compat) external command file, normally a FIFO
// that Nagios reads. Opened O_WRONLY|O_NONBLOCK for each delivery and closed
// after it: no reader (Nagios down or restarting) is ENXIO at open, a full
// pipe is EAGAIN at write; both are failures the DeliveryQueue retries, never
// a blocked loop. Each line is at most PIPE_BUF bytes, so every write is
// atomic and lines of concurrent writers never interleave. A regular file is
// appended to (useful for debugging).
#ifndef VIGIL_SUPERVISOR_PASSIVE_COMMAND_FILE_SINK_H_
#define VIGIL_SUPERVISOR_PASSIVE_COMMAND_FILE_SINK_H_

#include <string>
#include <vector>

#include "supervisor/passive/delivery_queue.h"

namespace vigil::passive {

class CommandFileSink : public Sink {
 public:
  explicit CommandFileSink(std::string path) : path_(std::move(path)) {}
  std::string name() const override { return "command file " + path_; }
  void Deliver(const std::vector<PassiveResult>& batch, Done done) override;

 private:
  std::string path_;
};

}  // namespace vigil::passive

#endif  // VIGIL_SUPERVISOR_PASSIVE_COMMAND_FILE_SINK_H_
