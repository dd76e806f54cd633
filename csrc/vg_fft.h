/* Fast Fourier transforms of any length (mixed radix 2/3/4/5, generic odd radix, Bluestein for
 * large prime factors), double precision, split real/imaginary arrays.
 *
 * Plans live in memory the caller provides (the Cython layer allocates it with numpy and
 * caches it); a plan stores offsets, not pointers, so its memory may be copied. Plans are
 * read-only once initialised and may be shared between threads. Every function returns a
 * VG_* status code (vg_status.h). No function allocates memory it returns.
 *
 * Conventions: forward X[k] = sum_n x[n] exp(-2 pi i k n / n); inverse uses exp(+...);
 * neither is normalised.
 *
 * Buffers and status codes (vg_status.h):
 *  - plan memory must be aligned for double (any malloc / numpy allocation is) and hold at
 *    least *_plan_bytes(n) bytes; a short buffer gives VG_ERR_BUFFER, a misaligned one
 *    VG_ERR_PARAM. n == 0 (or absurdly large) gives VG_ERR_SIZE.
 *  - a plan of the wrong kind or uninitialised memory passed as a plan gives VG_ERR_PARAM
 *    (checked by a magic number; not a guarantee against arbitrary garbage).
 *  - any NULL pointer argument gives VG_ERR_NULL, scratch included: *_scratch_len is always
 *    at least 1. Scratch contents on entry do not matter and are clobbered.
 *  - re, im, scratch (and x, out_re, out_im) must not overlap one another.
 *  - plan_init does not allocate; for lengths that use Bluestein it runs an FFT of the
 *    power-of-two inner length, so it costs about as much as a few transforms.
 * Accuracy: twiddles are evaluated individually (no recurrences); errors are a few 1e-16
 * relative to the largest output magnitude, growing like log n. */
#ifndef VG_FFT_H
#define VG_FFT_H
#include <stddef.h>

/* Complex FFT of length n. */
int vg_cfft_plan_bytes(size_t n, size_t *nbytes);
int vg_cfft_plan_init(void *mem, size_t nbytes, size_t n);
/* Doubles of scratch one call needs (the caller provides them; per thread): 2n (at least
 * 1) when every prime factor of n is <= 61, else 4M, M the power of two >= 2n-1
 * (Bluestein). */
int vg_cfft_scratch_len(const void *plan, size_t *n_doubles);
/* In place on re[0..n-1], im[0..n-1]. inverse(forward(x)) == n * x. */
int vg_cfft_forward(const void *plan, double *re, double *im, double *scratch);
int vg_cfft_inverse(const void *plan, double *re, double *im, double *scratch);

/* Real-input FFT of length n (any n >= 1): out_re/out_im receive bins 0 .. n/2 (n/2+1 values).
 * x is not modified. Even n runs a complex FFT of length n/2 inside out_re/out_im (scratch:
 * that transform's); odd n runs a complex FFT of length n (scratch: 2n more doubles).
 * out_im[0] (and out_im[n/2] for even n) are exactly 0. */
int vg_rfft_plan_bytes(size_t n, size_t *nbytes);
int vg_rfft_plan_init(void *mem, size_t nbytes, size_t n);
int vg_rfft_scratch_len(const void *plan, size_t *n_doubles);
int vg_rfft_forward(const void *plan, const double *x, double *out_re, double *out_im,
                    double *scratch);

#endif
