// ThrowsError: the assertion the tests use to check that a call throws recur::Error whose
// message contains given parts (a byte offset, a file name, a hint). Leaves out: matching by
// regular expression.
#pragma once

#include <gtest/gtest.h>

#include <exception>
#include <initializer_list>
#include <string>

#include "recur/error.h"

namespace recur::testing {

// Succeeds when `f` throws recur::Error whose message contains every one of `parts`.
template <typename F>
::testing::AssertionResult ThrowsError(F&& f, std::initializer_list<std::string> parts) {
  try {
    f();
  } catch (const Error& e) {
    const std::string message = e.what();
    for (const std::string& part : parts) {
      if (message.find(part) == std::string::npos) {
        return ::testing::AssertionFailure()
               << "message \"" << message << "\" does not contain \"" << part << "\"";
      }
    }
    return ::testing::AssertionSuccess() << "message \"" << message << "\"";
  } catch (const std::exception& e) {
    return ::testing::AssertionFailure() << "threw a non-recur exception: " << e.what();
  }
  return ::testing::AssertionFailure() << "did not throw";
}

}  // namespace recur::testing
