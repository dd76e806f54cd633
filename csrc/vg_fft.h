/* Fast Fourier transforms of any length (mixed radix 2/3/4/5, generic odd radix, Bluestein for
 * large prime factors), double precision, split real/imaginary arrays.
 *
 * Plans live in memory the caller provides (the Cython layer allocates it with numpy and
 * caches it); a plan stores offsets, not pointers, so its memory may be copied. Plans are
 * read-only once initialised and may be shared between threads. Every function returns a
 * VG_* status code (vg_status.h). No function allocates memory it returns.
 *
 * Conventions: forward X[k] = sum_n x[n] exp(-2 pi i k n / n); inverse uses exp(+...);
 * neither is normalised. */
#ifndef VG_FFT_H
#define VG_FFT_H
#include <stddef.h>

/* Complex FFT of length n. */
int vg_cfft_plan_bytes(size_t n, size_t *nbytes);
int vg_cfft_plan_init(void *mem, size_t nbytes, size_t n);
/* Doubles of scratch one call needs (the caller provides them; per thread). */
int vg_cfft_scratch_len(const void *plan, size_t *n_doubles);
/* In place on re[0..n-1], im[0..n-1]. */
int vg_cfft_forward(const void *plan, double *re, double *im, double *scratch);
int vg_cfft_inverse(const void *plan, double *re, double *im, double *scratch);

/* Real-input FFT of length n (any n >= 1): out_re/out_im receive bins 0 .. n/2 (n/2+1 values).
 * x is not modified. */
int vg_rfft_plan_bytes(size_t n, size_t *nbytes);
int vg_rfft_plan_init(void *mem, size_t nbytes, size_t n);
int vg_rfft_scratch_len(const void *plan, size_t *n_doubles);
int vg_rfft_forward(const void *plan, const double *x, double *out_re, double *out_im,
                    double *scratch);

#endif
