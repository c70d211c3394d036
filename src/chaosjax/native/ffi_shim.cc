// XLA FFI handlers that call chaosjax's generated C kernels (native/ffi.py).
//
// The kernels are compiled and loaded as before (compile.py); Python registers each
// kernel's entry point here under its cache key (cj_ffi_register), and the handlers
// find it by the `kernel` attribute of the custom call. A custom call whose kernel is
// not registered in this process (an executable from a persistent compilation cache)
// fails with an error instead of calling a stale address.
#include <cmath>
#include <cctype>
#include <cstdint>
#include <cstdlib>
#include <cstring>
#include <mutex>
#include <string>
#include <string_view>
#include <unordered_map>

#if defined(__linux__)
#include <sys/mman.h>
#endif

#include "xla/ffi/api/ffi.h"

namespace ffi = xla::ffi;

typedef void (*SumKernel)(const double *, double *, double *, int64_t, int64_t, int);
typedef void (*StoreKernel)(const double *, double *, double *, double *, int64_t, int64_t,
                            int64_t, int64_t, int64_t, int64_t, int64_t, int);
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

// A large output about to be written for the first time: ask Linux for transparent huge
// pages over the whole 2 MiB pages inside it, as NumPy does for arrays of 4 MiB or more
// (numpy/_core/src/multiarray/alloc.c; "madvise hugepage on Linux" in NumPy's
// documentation). XLA allocates such a buffer fresh from the system; written through 4 KiB
// pages, its page faults cost more than the kernel's arithmetic (an orbit diagram of
// 10,000 x 1,000 points: 20,000 faults). Advice only: the contents are unchanged, and
// nothing happens where transparent huge pages are off or unknown. CHAOSJAX_HUGEPAGES=0
// (read once per process) turns the advice off: in a virtual machine that hands free
// memory back to its host (virtio-balloon free page reporting, which reports free 2 MiB
// blocks), a huge page taken from such a block faults in the host on first touch (on a
// Firecracker VM: now and then an orbit diagram of 70-210 ms instead of 8-25 ms).
static bool huge_pages_wanted() {
  static const bool wanted = [] {
    const char *v = std::getenv("CHAOSJAX_HUGEPAGES");
    std::string s = v ? v : "1";
    for (auto &c : s) c = (char)std::tolower((unsigned char)c);
    return !(s == "0" || s == "false" || s == "no" || s == "off");
  }();
  return wanted;
}

static void advise_huge_pages(void *p, size_t bytes) {
#if defined(__linux__) && defined(MADV_HUGEPAGE)
  const uintptr_t huge = uintptr_t(1) << 21;
  if (bytes < (size_t(1) << 22) || !huge_pages_wanted()) return;
  const uintptr_t lo = (reinterpret_cast<uintptr_t>(p) + huge - 1) & ~(huge - 1);
  const uintptr_t hi = (reinterpret_cast<uintptr_t>(p) + bytes) & ~(huge - 1);
  if (hi > lo) (void)madvise(reinterpret_cast<void *>(lo), hi - lo, MADV_HUGEPAGE);
#else
  (void)p;
  (void)bytes;
#endif
}

static bool all_finite(const double *x, int64_t dim, int64_t npad, int64_t n) {
  for (int64_t i = 0; i < dim; ++i)
    for (int64_t j = 0; j < n; ++j)
      if (!std::isfinite(x[i * npad + j])) return false;
  return true;
}

static ffi::Error not_finite() {
  return ffi::Error(ffi::ErrorCode::kFailedPrecondition,
                    "chaosjax: a checked run met a non-finite state");
}

// Stored orbits (stored.py): X (dim, npad) structure-of-arrays in place; Y (n, rows, dim)
// the saved states, C (n,) the finite saved states before the first non-finite one.
// `check` 1: fail (an error, no results) when a starting state is not finite; 2: also
// when an end state or a saved state is not (the eager calls' own check, stored.py).
static ffi::Error StoreImpl(ffi::Buffer<ffi::F64> P, ffi::Buffer<ffi::F64> X,
                            ffi::ResultBuffer<ffi::F64> Xo, ffi::ResultBuffer<ffi::F64> Y,
                            ffi::ResultBuffer<ffi::F64> C, std::string_view kernel, int64_t n,
                            int64_t transient, int64_t nsaves, int64_t save_every,
                            int64_t with_start, int64_t threads, int64_t check) {
  auto fn = reinterpret_cast<StoreKernel>(lookup(kernel));
  if (!fn) return missing(kernel);
  auto dims = X.dimensions();
  if (dims.size() != 2) return ffi::Error::InvalidArgument("X must be (dim, npad)");
  const int64_t dim = dims[0], npad = dims[1];
  if (check && !all_finite(X.typed_data(), dim, npad, n)) return not_finite();
  if (Xo->typed_data() != X.typed_data())
    std::memcpy(Xo->typed_data(), X.typed_data(), X.size_bytes());
  const int64_t ystride = (nsaves + (with_start ? 1 : 0)) * dim;
  advise_huge_pages(Y->typed_data(), Y->size_bytes());
  fn(P.typed_data(), Xo->typed_data(), Y->typed_data(), C->typed_data(), npad, n, transient,
     nsaves, save_every, ystride, with_start, (int)threads);
  if (check > 1) {
    if (!all_finite(Xo->typed_data(), dim, npad, n)) return not_finite();
    for (int64_t j = 0; j < n; ++j)
      if (C->typed_data()[j] != static_cast<double>(nsaves)) return not_finite();
  }
  return ffi::Error::Success();
}

XLA_FFI_DEFINE_HANDLER_SYMBOL(cj_ffi_store, StoreImpl,
                              ffi::Ffi::Bind()
                                  .Arg<ffi::Buffer<ffi::F64>>()
                                  .Arg<ffi::Buffer<ffi::F64>>()
                                  .Ret<ffi::Buffer<ffi::F64>>()
                                  .Ret<ffi::Buffer<ffi::F64>>()
                                  .Ret<ffi::Buffer<ffi::F64>>()
                                  .Attr<std::string_view>("kernel")
                                  .Attr<int64_t>("n")
                                  .Attr<int64_t>("transient")
                                  .Attr<int64_t>("nsaves")
                                  .Attr<int64_t>("save_every")
                                  .Attr<int64_t>("with_start")
                                  .Attr<int64_t>("threads")
                                  .Attr<int64_t>("check"));

// Blocks of Benettin's loop of one orbit (spectrum.py): `rows` x `blocks` blocks of
// `length` pushes on Y (state, basis, carry), a history row after each group. The
// run plan is the caller's (lyapunov/spectrum.py), one custom call per part of it.
// A log-sum a + log(n)/2 + e log 2 that is finite (e is a whole number).
static bool sum_finite(double a, double n) {
  return std::isfinite(a) && n > 0.0 && std::isfinite(n);
}

// `check` 1: fail (an error, no results) where the caller would find the run diverged:
// a history row whose state is not finite or whose log-sums are not, or the state or a
// log-sum of Y at the end (lyapunov/spectrum.py's one-call run reads nothing back).
static ffi::Error SpectrumImpl(ffi::Buffer<ffi::F64> P, ffi::Buffer<ffi::F64> Y,
                               ffi::ResultBuffer<ffi::F64> Yo, ffi::ResultBuffer<ffi::F64> H,
                               std::string_view kernel, int64_t rows, int64_t blocks,
                               int64_t length, int64_t check) {
  auto fn = reinterpret_cast<SpectrumKernel>(lookup(kernel));
  if (!fn) return missing(kernel);
  double *y = Yo->typed_data();
  if (y != Y.typed_data()) std::memcpy(y, Y.typed_data(), Y.size_bytes());
  const bool ran = rows > 0 && blocks > 0 && length > 0;
  if (ran) fn(P.typed_data(), y, H->typed_data(), rows, blocks, length);
  if (check) {
    auto hd = H->dimensions();
    if (hd.size() != 2) return ffi::Error::InvalidArgument("H must be (rows, 3 k + 1)");
    const int64_t w = hd[1], k = (w - 1) / 3;
    const int64_t dim = (static_cast<int64_t>(Y.element_count()) - 3 * k) / (1 + k);
    const double *h = H->typed_data();
    for (int64_t r = 0; ran && r < hd[0]; ++r) {
      if (h[r * w + 3 * k] != 1.0) return not_finite();
      for (int64_t j = 0; j < k; ++j)
        if (!sum_finite(h[r * w + j], h[r * w + 2 * k + j])) return not_finite();
    }
    for (int64_t i = 0; i < dim; ++i)
      if (!std::isfinite(y[i])) return not_finite();
    const int64_t o = dim + dim * k;
    for (int64_t j = 0; j < k; ++j)
      if (!sum_finite(y[o + j], y[o + 2 * k + j])) return not_finite();
  }
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
                                  .Attr<int64_t>("length")
                                  .Attr<int64_t>("check"));

// Benettin's loop for a batch of orbits (batched_spectrum.py), in the same plan as
// cj_ffi_spectrum: P (n_params, npad) and Y (rows of Y, npad) structure-of-arrays;
// H (rows, k + 1, npad) history rows, or empty (0, k + 1, npad): no rows kept; Xr (dim + 1, npad) the states after the
// transient and their finiteness flags.
typedef void (*BatchKernel)(const double *, double *, double *, int64_t, int64_t, int64_t,
                            int64_t, int);

static ffi::Error SpectrumBatchImpl(ffi::Buffer<ffi::F64> P, ffi::Buffer<ffi::F64> Y,
                                    ffi::ResultBuffer<ffi::F64> Yo,
                                    ffi::ResultBuffer<ffi::F64> H,
                                    ffi::ResultBuffer<ffi::F64> Xr, std::string_view kernel,
                                    int64_t dim, int64_t k, int64_t transient,
                                    int64_t qr_every, int64_t rows, int64_t per_row,
                                    int64_t tail_blocks, int64_t tail_steps, int64_t threads) {
  auto fn = reinterpret_cast<BatchKernel>(lookup(kernel));
  if (!fn) return missing(kernel);
  auto dims = Y.dimensions();
  if (dims.size() != 2) return ffi::Error::InvalidArgument("Y must be (rows, npad)");
  const int64_t npad = dims[1];
  double *y = Yo->typed_data();
  if (y != Y.typed_data()) std::memcpy(y, Y.typed_data(), Y.size_bytes());
  const double *p = P.typed_data();
  // `nrows` rows of `n` blocks of `length` pushes in one call, a history row after each.
  auto blocks = [&](int64_t nrows, int64_t n, int64_t length, double *h) {
    if (nrows > 0 && n > 0 && length > 0) fn(p, y, h, npad, nrows, n, length, (int)threads);
  };
  const int64_t o = dim + dim * k;
  blocks(1, transient / qr_every, qr_every, nullptr);
  blocks(1, transient % qr_every ? 1 : 0, transient % qr_every, nullptr);
  double *xr = Xr->typed_data();
  for (int64_t l = 0; l < npad; ++l) {
    bool finite = true;
    for (int64_t i = 0; i < dim; ++i) {
      xr[i * npad + l] = y[i * npad + l];
      finite = finite && std::isfinite(y[i * npad + l]);
    }
    for (int64_t i = 0; i < k; ++i) finite = finite && std::isfinite(y[(o + 3 * k + i) * npad + l]);
    xr[dim * npad + l] = finite ? 1.0 : 0.0;
  }
  for (int64_t i = 0; i < k; ++i) {
    for (int64_t l = 0; l < npad; ++l) {
      y[(o + i) * npad + l] = 0.0;
      y[(o + k + i) * npad + l] = 1.0;
      y[(o + 2 * k + i) * npad + l] = 0.0;
    }
  }
  if (H->element_count()) {
    blocks(rows, per_row, qr_every, H->typed_data());
    blocks(1, tail_blocks, qr_every, nullptr);
  } else {
    // No history wanted (an empty H): the rows' blocks and the tail's whole blocks as
    // one row, so that a vector's groups of pushes run on across the rows' ends (the
    // same orbit; the log-sums differ from the rows' run by rounding only).
    blocks(1, rows * per_row + tail_blocks, qr_every, nullptr);
  }
  blocks(1, tail_steps ? 1 : 0, tail_steps, nullptr);
  for (int64_t i = 0; i < k; ++i)
    std::memcpy(y + (o + i) * npad, y + (o + 3 * k + i) * npad, npad * sizeof(double));
  return ffi::Error::Success();
}

XLA_FFI_DEFINE_HANDLER_SYMBOL(cj_ffi_spectrum_batch, SpectrumBatchImpl,
                              ffi::Ffi::Bind()
                                  .Arg<ffi::Buffer<ffi::F64>>()
                                  .Arg<ffi::Buffer<ffi::F64>>()
                                  .Ret<ffi::Buffer<ffi::F64>>()
                                  .Ret<ffi::Buffer<ffi::F64>>()
                                  .Ret<ffi::Buffer<ffi::F64>>()
                                  .Attr<std::string_view>("kernel")
                                  .Attr<int64_t>("dim")
                                  .Attr<int64_t>("k")
                                  .Attr<int64_t>("transient")
                                  .Attr<int64_t>("qr_every")
                                  .Attr<int64_t>("rows")
                                  .Attr<int64_t>("per_row")
                                  .Attr<int64_t>("tail_blocks")
                                  .Attr<int64_t>("tail_steps")
                                  .Attr<int64_t>("threads"));
