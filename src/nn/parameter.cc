// Parameter::zero_grad; the rest of Parameter is plain data.
#include "recur/parameter.h"

#include "recur/error.h"

namespace recur {

void Parameter::zero_grad() {
  RECUR_CHECK(value != nullptr, "Parameter '" + name + "' has no value");
  if (grad.shape() != value->shape()) {
    grad = Tensor(value->shape());
  } else {
    grad.fill(0.0f);
  }
}

}  // namespace recur
