/* Power spectra of many short real frames at once, for the framed (LFCC) pipeline.
 *
 * Frames come in groups of 2 * VG_BATCH_LANES. Two real frames share one complex transform
 * (one as the real part, one as the imaginary part) and VG_BATCH_LANES such transforms run
 * side by side, interleaved so that every butterfly works on VG_BATCH_LANES contiguous
 * doubles: the inner loops vectorise without shuffles at any stage of the FFT. This is the
 * throughput path for power-of-two n_fft; other sizes use vg_rfft_forward one frame at a
 * time. */
#include <math.h>
#include <stddef.h>

#include "vg_fft_batch.h"
#include "vg_status.h"

#ifndef M_PI
#define M_PI 3.14159265358979323846
#endif

#define LANES VG_BATCH_LANES

int vg_batch_twiddles(size_t n, double *tw_re, double *tw_im)
{
    size_t t;
    if (tw_re == NULL || tw_im == NULL) return VG_ERR_NULL;
    if (n < 2 || (n & (n - 1)) != 0) return VG_ERR_SIZE;
    for (t = 0; t < n; t++) {
        double a = -2.0 * M_PI * (double)t / (double)n;
        tw_re[t] = cos(a);
        tw_im[t] = sin(a);
    }
    return VG_OK;
}

/* Stockham autosort FFT, decimation in frequency, on LANES interleaved transforms: element j
 * of lane b is at [j * LANES + b]. A stage of span `len` and stride `s` reads
 * x[q + s (p + r len/R)] and writes y[q + s (R p + j)], so no bit reversal is needed.
 * Radix 4 halves the passes over memory compared with radix 2; one radix-2 stage finishes
 * odd powers of two. Each "element" below is the LANES-wide vector of one position across
 * the lanes (GCC/Clang vector extension; gcc would not vectorise the plain loops because it
 * cannot prove the ping-pong buffers distinct). Returns the buffer with the result. */
#if defined(__GNUC__)
typedef double lanes_t __attribute__((vector_size(LANES * sizeof(double)), aligned(sizeof(double)),
                                      may_alias));
#define LOAD(ptr, idx) (((const lanes_t *)(ptr))[idx])
#define STORE(ptr, idx, v) (((lanes_t *)(ptr))[idx] = (v))
#define SPLAT(x) ((lanes_t){0} + (x))
#else
#error "vg_fft_batch.c needs GCC or Clang vector extensions"
#endif

VG_HOT_CLONES
static double *stockham_lanes(size_t n, const double *tw_re, const double *tw_im,
                              double *xr, double *xi, double *yr, double *yi, double **res_im)
{
    size_t len = n, s = 1, p, q;
    double *t;
    while (len >= 4) {
        const size_t m = len / 4;
        for (p = 0; p < m; p++) {
            /* W_len^(j p) = W_n^(j p s) */
            const lanes_t w1r = SPLAT(tw_re[p * s]), w1i = SPLAT(tw_im[p * s]);
            const lanes_t w2r = SPLAT(tw_re[2 * p * s]), w2i = SPLAT(tw_im[2 * p * s]);
            const lanes_t w3r = SPLAT(tw_re[3 * p * s]), w3i = SPLAT(tw_im[3 * p * s]);
            for (q = 0; q < s; q++) {
                const size_t i0 = q + s * p, step = s * m;
                const size_t o0 = q + s * 4 * p;
                const lanes_t ar = LOAD(xr, i0), ai = LOAD(xi, i0);
                const lanes_t br = LOAD(xr, i0 + step), bi = LOAD(xi, i0 + step);
                const lanes_t cr = LOAD(xr, i0 + 2 * step), ci = LOAD(xi, i0 + 2 * step);
                const lanes_t dr = LOAD(xr, i0 + 3 * step), di = LOAD(xi, i0 + 3 * step);
                const lanes_t t0r = ar + cr, t0i = ai + ci;
                const lanes_t t1r = ar - cr, t1i = ai - ci;
                const lanes_t t2r = br + dr, t2i = bi + di;
                /* t3 = -i (b - d) */
                const lanes_t t3r = bi - di, t3i = dr - br;
                const lanes_t u1r = t1r + t3r, u1i = t1i + t3i;
                const lanes_t u2r = t0r - t2r, u2i = t0i - t2i;
                const lanes_t u3r = t1r - t3r, u3i = t1i - t3i;
                STORE(yr, o0, t0r + t2r);
                STORE(yi, o0, t0i + t2i);
                STORE(yr, o0 + s, u1r * w1r - u1i * w1i);
                STORE(yi, o0 + s, u1r * w1i + u1i * w1r);
                STORE(yr, o0 + 2 * s, u2r * w2r - u2i * w2i);
                STORE(yi, o0 + 2 * s, u2r * w2i + u2i * w2r);
                STORE(yr, o0 + 3 * s, u3r * w3r - u3i * w3i);
                STORE(yi, o0 + 3 * s, u3r * w3i + u3i * w3r);
            }
        }
        t = xr; xr = yr; yr = t;
        t = xi; xi = yi; yi = t;
        len = m;
        s *= 4;
    }
    if (len == 2) {
        /* last radix-2 stage: p = 0 only, twiddle 1 */
        for (q = 0; q < s; q++) {
            const lanes_t ar = LOAD(xr, q), ai = LOAD(xi, q);
            const lanes_t br = LOAD(xr, q + s), bi = LOAD(xi, q + s);
            STORE(yr, q, ar + br);
            STORE(yi, q, ai + bi);
            STORE(yr, q + s, ar - br);
            STORE(yi, q + s, ai - bi);
        }
        t = xr; xr = yr; yr = t;
        t = xi; xi = yi; yi = t;
    }
    *res_im = xi;
    return xr;
}

VG_HOT_CLONES
int vg_batch_power(size_t n, const double *tw_re, const double *tw_im, double *re, double *im,
                   double *scratch_re, double *scratch_im, double *power)
{
    size_t k, b, half;
    double *zr, *zi;
    if (tw_re == NULL || tw_im == NULL || re == NULL || im == NULL || scratch_re == NULL ||
        scratch_im == NULL || power == NULL)
        return VG_ERR_NULL;
    if (n < 2 || (n & (n - 1)) != 0) return VG_ERR_SIZE;
    half = n / 2;
    zr = stockham_lanes(n, tw_re, tw_im, re, im, scratch_re, scratch_im, &zi);
    /* Untangle the two real frames of each lane: with Z = FFT(a + i b),
     * A[k] = (Z[k] + conj Z[n-k]) / 2 and B[k] = (Z[k] - conj Z[n-k]) / (2i). */
    for (k = 0; k <= half; k++) {
        const size_t nk = (n - k) & (n - 1);
        const double *pr = zr + k * LANES, *pi = zi + k * LANES;
        const double *qr = zr + nk * LANES, *qi = zi + nk * LANES;
        double *pa = power + k * 2 * LANES, *pb = pa + LANES;
        for (b = 0; b < LANES; b++) {
            const double ar = pr[b] + qr[b], ai = pi[b] - qi[b];
            const double br = pr[b] - qr[b], bi = pi[b] + qi[b];
            pa[b] = 0.25 * (ar * ar + ai * ai);
            pb[b] = 0.25 * (br * br + bi * bi);
        }
    }
    return VG_OK;
}
