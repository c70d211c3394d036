// XLA FFI handlers that call chaosjax's generated C kernels (native/ffi.py).
//
// The kernels are compiled and loaded as before (compile.py); Python registers each
// kernel's entry point here under its cache key (cj_ffi_register), and the handlers
// find it by the `kernel` attribute of the custom call. A custom call whose kernel is
// not registered in this process (an executable from a persistent compilation cache)
// fails with an error instead of calling a stale address.
#include <cmath>
#include <cstdint>
#include <cstring>
#include <mutex>
#include <string>
#include <string_view>
#include <unordered_map>

#include "xla/ffi/api/ffi.h"

namespace ffi = xla::ffi;

typedef void (*SumKernel)(const double *, double *, double *, int64_t, int64_t, int);
typedef void (*SpectrumKernel)(const double *, double *, double *, int64_t, int64_t, int64_t);

static std::mutex registry_lock;
static std::unordered_map<std::string, void *> &registry() {
  static std::unordered_map<std::string, void *> table;
  return table;
}

extern "C" void cj_ffi_register(const char *key, void *fn) {
  std::lock_guard<std::mutex> guard(registry_lock);
  registry()[key] = fn;
}

static void *lookup(std::string_view key) {
  std::lock_guard<std::mutex> guard(registry_lock);
  auto it = registry().find(std::string(key));
  return it == registry().end() ? nullptr : it->second;
}

static ffi::Error missing(std::string_view key) {
  return ffi::Error(ffi::ErrorCode::kNotFound,
                    "chaosjax: the native kernel " + std::string(key) +
                        " is not loaded in this process (trace the function again)");
}

// Time loop with sums: X (dim, npad) and A (k, npad), structure-of-arrays, in place.
static ffi::Error SumImpl(ffi::Buffer<ffi::F64> P, ffi::Buffer<ffi::F64> X,
                          ffi::Buffer<ffi::F64> A, ffi::ResultBuffer<ffi::F64> Xo,
                          ffi::ResultBuffer<ffi::F64> Ao, std::string_view kernel,
                          int64_t steps, int64_t threads) {
  auto fn = reinterpret_cast<SumKernel>(lookup(kernel));
  if (!fn) return missing(kernel);
  auto dims = X.dimensions();
  if (dims.size() != 2) return ffi::Error::InvalidArgument("X must be (dim, npad)");
  const int64_t npad = dims[1];
  if (Xo->typed_data() != X.typed_data())
    std::memcpy(Xo->typed_data(), X.typed_data(), X.size_bytes());
  if (Ao->typed_data() != A.typed_data())
    std::memcpy(Ao->typed_data(), A.typed_data(), A.size_bytes());
  if (steps > 0) fn(P.typed_data(), Xo->typed_data(), Ao->typed_data(), npad, steps, (int)threads);
  return ffi::Error::Success();
}

XLA_FFI_DEFINE_HANDLER_SYMBOL(cj_ffi_sum, SumImpl,
                              ffi::Ffi::Bind()
                                  .Arg<ffi::Buffer<ffi::F64>>()
                                  .Arg<ffi::Buffer<ffi::F64>>()
                                  .Arg<ffi::Buffer<ffi::F64>>()
                                  .Ret<ffi::Buffer<ffi::F64>>()
                                  .Ret<ffi::Buffer<ffi::F64>>()
                                  .Attr<std::string_view>("kernel")
                                  .Attr<int64_t>("steps")
                                  .Attr<int64_t>("threads"));

// Blocks of Benettin's loop of one orbit (spectrum.py): `rows` x `blocks` blocks of
// `length` pushes on Y (state, basis, carry), a history row after each group. The
// run plan is the caller's (lyapunov/spectrum.py), one custom call per part of it.
static ffi::Error SpectrumImpl(ffi::Buffer<ffi::F64> P, ffi::Buffer<ffi::F64> Y,
                               ffi::ResultBuffer<ffi::F64> Yo, ffi::ResultBuffer<ffi::F64> H,
                               std::string_view kernel, int64_t rows, int64_t blocks,
                               int64_t length) {
  auto fn = reinterpret_cast<SpectrumKernel>(lookup(kernel));
  if (!fn) return missing(kernel);
  double *y = Yo->typed_data();
  if (y != Y.typed_data()) std::memcpy(y, Y.typed_data(), Y.size_bytes());
  if (rows > 0 && blocks > 0 && length > 0) fn(P.typed_data(), y, H->typed_data(), rows, blocks, length);
  return ffi::Error::Success();
}

XLA_FFI_DEFINE_HANDLER_SYMBOL(cj_ffi_spectrum, SpectrumImpl,
                              ffi::Ffi::Bind()
                                  .Arg<ffi::Buffer<ffi::F64>>()
                                  .Arg<ffi::Buffer<ffi::F64>>()
                                  .Ret<ffi::Buffer<ffi::F64>>()
                                  .Ret<ffi::Buffer<ffi::F64>>()
                                  .Attr<std::string_view>("kernel")
                                  .Attr<int64_t>("rows")
                                  .Attr<int64_t>("blocks")
                                  .Attr<int64_t>("length"));
