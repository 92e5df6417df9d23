// JsonlLog: one compact JSON object per line, flushed each line.
// Leaves out: buffering across lines (a training step is far slower than a flush).
#include "cli/jsonl_log.h"

#include <cerrno>
#include <cstring>

#include "recur/error.h"

namespace recur::cli {

JsonlLog::JsonlLog(const std::string& path, bool append) : path_(path) {
  out_.open(path, std::ios::out | (append ? std::ios::app : std::ios::trunc));
  RECUR_CHECK(out_.is_open(), "cannot open log file '" + path + "': " + std::strerror(errno));
}

void JsonlLog::write(const nlohmann::json& object) {
  RECUR_CHECK(object.is_object(),
              "log " + path_ + ": expected a JSON object per line, found " + object.type_name());
  // nlohmann writes NaN and infinities as null, which keeps every line valid JSON.
  out_ << object.dump() << '\n';
  out_.flush();
  RECUR_CHECK(out_.good(), "cannot write log file '" + path_ + "': " + std::strerror(errno));
}

}  // namespace recur::cli
