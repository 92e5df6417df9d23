// uniform_index: rejection sampling on recur::Rng (see shuffle.h).
#include "data/shuffle.h"

namespace recur::data::detail {

uint64_t uniform_index(Rng& rng, uint64_t n) {
  const uint64_t threshold = (0 - n) % n;
  for (;;) {
    const uint64_t r = rng.next_u64();
    if (r >= threshold) return r % n;
  }
}

}  // namespace recur::data::detail
