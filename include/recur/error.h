// recur::Error, the single error mechanism of the library, and the checks that raise it.
// Leaves out: logging and error codes; the CLI turns an Error into a message and exit status.
#pragma once

#include <stdexcept>
#include <string>

namespace recur {

// Thrown for every user-visible failure: bad shapes, bad files, bad options. The message says
// what was expected and what was found.
class Error : public std::runtime_error {
 public:
  explicit Error(const std::string& message) : std::runtime_error(message) {}
};

[[noreturn]] void throw_error(const std::string& message);

}  // namespace recur

// Validates user input at an API boundary. `message` is only built when the check fails.
#define RECUR_CHECK(condition, message)                \
  do {                                                 \
    if (!(condition)) ::recur::throw_error((message)); \
  } while (false)

// Internal invariant; a failure is a bug in recur, not in the caller's input.
#define RECUR_ASSERT(condition)                                                               \
  do {                                                                                        \
    if (!(condition))                                                                         \
      ::recur::throw_error(std::string("internal error: ") + #condition + " at " + __FILE__ + \
                           ":" + std::to_string(__LINE__));                                   \
  } while (false)
