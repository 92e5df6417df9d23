// recur::throw_error: one out-of-line place that raises recur::Error.
#include "recur/error.h"

namespace recur {

void throw_error(const std::string& message) { throw Error(message); }

}  // namespace recur
