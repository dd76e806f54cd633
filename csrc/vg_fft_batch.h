/* Batched power spectra of real frames (see vg_fft_batch.c). */
#ifndef VG_FFT_BATCH_H
#define VG_FFT_BATCH_H
#include <stddef.h>

#include "vg_simd.h"

/* Transforms side by side; each carries two real frames, so a batch is 2 * LANES frames. */
#define VG_BATCH_LANES 4

/* exp(-2 pi i t / n) for t < n (arrays of n values); n a power of two >= 2. */
int vg_batch_twiddles(size_t n, double *tw_re, double *tw_im);

/* Power spectra of 2 * VG_BATCH_LANES real frames of length n (a power of two).
 * On entry re[j * LANES + b] holds sample j of frame b and im[j * LANES + b] sample j of
 * frame LANES + b; both are overwritten, as are the scratch arrays (n * LANES each).
 * On return power[(k * 2 + h) * LANES + b] is |FFT|^2 at bin k (0 .. n/2) of frame
 * h * LANES + b. */
int vg_batch_power(size_t n, const double *tw_re, const double *tw_im, double *re, double *im,
                   double *scratch_re, double *scratch_im, double *power);

#endif
