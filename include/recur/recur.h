// recur: everything public in one include.
#pragma once

#include "recur/error.h"
#include "recur/io.h"
#include "recur/rng.h"
#include "recur/rnn.h"
#include "recur/tensor.h"
