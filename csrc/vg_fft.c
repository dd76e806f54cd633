/* Mixed-radix Stockham FFT with Bluestein fallback; see vg_fft.h for the contract.
 *
 * Design notes (the "why"):
 *  - Stockham autosort: every pass reads one buffer and writes the other, so the output lands
 *    in natural order without a bit-reversal pass, and every inner loop walks unit-stride
 *    split arrays the compiler can vectorise.
 *  - The last pass (m == 1) has no twiddles and reads and writes the same indices, so it can
 *    run in place; that lets any number of passes finish in the caller's arrays without a
 *    copy (ping-pong the first K-1 passes, then do the last one in place or from scratch).
 *  - Plans hold byte offsets from their own start, never pointers, so the Cython layer may
 *    copy or cache them freely; they are const after init and so shareable by threads.
 *  - Twiddles are computed one by one from integer angle numerators with octant symmetry:
 *    no recurrences, exact values at multiples of pi/4, ~1 ulp everywhere else.
 *  - The inverse transform is the forward one with re and im exchanged
 *    (conj(F(conj x)) == swap(F(swap x))), so only forward kernels exist.
 *  - Lengths with a prime factor above VG_FFT_MAXGEN use Bluestein's chirp-z identity over a
 *    power-of-two length M >= 2n-1, whose plan is nested inside the outer plan's memory. */
#include "vg_fft.h"
#include "vg_simd.h"
#include "vg_status.h"

#include <math.h>
#include <stdint.h>
#include <string.h>

/* MSVC's C mode (before /std:c11) knows only the __restrict spelling. */
#if defined(_MSC_VER) && !defined(__clang__) && !defined(restrict)
#define restrict __restrict
#endif

#define VG_FFT_MAXST 64     /* passes: radices >= 2, so 64 covers any size_t length */
#define VG_FFT_MAXGEN 61    /* largest prime done by the O(p^2) generic pass */
#define VG_FFT_ALIGN 64     /* sub-blocks of a plan start on cache lines (relative to base) */

#define CFFT_MAGIC ((size_t)0x56474346u) /* "VGCF" */
#define RFFT_MAGIC ((size_t)0x56475246u) /* "VGRF" */

typedef struct {
    size_t magic;
    size_t n;
    size_t nbytes;    /* bytes the plan occupies, nested plans included */
    size_t scratch;   /* doubles of scratch a transform needs */
    size_t nstages;
    size_t blu;       /* nonzero: Bluestein over blu_m points */
    size_t blu_m;
    size_t chirp_off; /* n re, then n im: exp(-i pi k^2 / n) */
    size_t filt_off;  /* M re, then M im: DFT of the conjugate chirp, divided by M */
    size_t inner_off; /* power-of-two plan of length M */
    size_t radix[VG_FFT_MAXST];
    size_t tw_off[VG_FFT_MAXST];  /* (p-1)*m re, then (p-1)*m im; 0 when m == 1 */
    size_t gen_off[VG_FFT_MAXST]; /* p cos, then p sin of 2 pi k / p; 0 unless generic */
} cfft_hdr;

typedef struct {
    size_t magic;
    size_t n;
    size_t nbytes;
    size_t scratch;
    size_t half;      /* n/2 for even n (half-length path), 0 for odd n */
    size_t tw_off;    /* half/2+1 re, then half/2+1 im: exp(-2 pi i k / n) */
    size_t inner_off; /* complex plan of length half (even n) or n (odd n) */
} rfft_hdr;

/* Keeps every size computation far from overflow: Bluestein plans need ~ 150 n bytes. */
#define VG_FFT_MAXN (SIZE_MAX / 512)

static size_t align_up(size_t x) { return (x + (VG_FFT_ALIGN - 1)) & ~(size_t)(VG_FFT_ALIGN - 1); }

static int misaligned(const void *p) { return ((uintptr_t)p % sizeof(double)) != 0; }

/* cos and sin of 2 pi k / N. Reducing to the first octant with integer arithmetic keeps the
 * argument small (so its rounding error is small) and makes the symmetries exact. */
static void unit_root(size_t k, size_t N, double *c, double *s)
{
    const double quarter_pi = 0.785398163397448309615660845819875721;
    int neg = 0;
    double a, cc, ss;
    size_t u;
    k %= N;
    if (k > N - k) { /* angle in (pi, 2 pi): mirror, sin changes sign */
        k = N - k;
        neg = 1;
    }
    u = 8 * k; /* angle = (pi/4) * u / N with u in [0, 4N] */
    if (u <= N) {
        a = quarter_pi * ((double)u / (double)N);
        cc = cos(a);
        ss = sin(a);
    } else if (u <= 2 * N) {
        a = quarter_pi * ((double)(2 * N - u) / (double)N);
        cc = sin(a);
        ss = cos(a);
    } else if (u <= 3 * N) {
        a = quarter_pi * ((double)(u - 2 * N) / (double)N);
        cc = -sin(a);
        ss = cos(a);
    } else {
        a = quarter_pi * ((double)(4 * N - u) / (double)N);
        cc = -cos(a);
        ss = sin(a);
    }
    *c = cc;
    *s = neg ? -ss : ss;
}

/* ------------------------------------------------------------------------------------------ */
/* Butterflies. Each declares b0..b{p-1} (re, im) from the p inputs; forward sign. */

#define BF2(x0r, x0i, x1r, x1i)                                                               \
    const double a0r_ = (x0r), a0i_ = (x0i), a1r_ = (x1r), a1i_ = (x1i);                      \
    const double b0r = a0r_ + a1r_, b0i = a0i_ + a1i_;                                        \
    const double b1r = a0r_ - a1r_, b1i = a0i_ - a1i_;

#define K3S 0.866025403784438646763723170752936183 /* sin(2 pi / 3) */
#define BF3(x0r, x0i, x1r, x1i, x2r, x2i)                                                     \
    const double a0r_ = (x0r), a0i_ = (x0i), a1r_ = (x1r), a1i_ = (x1i);                      \
    const double a2r_ = (x2r), a2i_ = (x2i);                                                  \
    const double tr_ = a1r_ + a2r_, ti_ = a1i_ + a2i_;                                        \
    const double dr_ = K3S * (a1r_ - a2r_), di_ = K3S * (a1i_ - a2i_);                        \
    const double mr_ = a0r_ - 0.5 * tr_, mi_ = a0i_ - 0.5 * ti_;                              \
    const double b0r = a0r_ + tr_, b0i = a0i_ + ti_;                                          \
    const double b1r = mr_ + di_, b1i = mi_ - dr_;                                            \
    const double b2r = mr_ - di_, b2i = mi_ + dr_;

#define BF4(x0r, x0i, x1r, x1i, x2r, x2i, x3r, x3i)                                           \
    const double a0r_ = (x0r), a0i_ = (x0i), a1r_ = (x1r), a1i_ = (x1i);                      \
    const double a2r_ = (x2r), a2i_ = (x2i), a3r_ = (x3r), a3i_ = (x3i);                      \
    const double t0r_ = a0r_ + a2r_, t0i_ = a0i_ + a2i_, t1r_ = a0r_ - a2r_, t1i_ = a0i_ - a2i_; \
    const double t2r_ = a1r_ + a3r_, t2i_ = a1i_ + a3i_, t3r_ = a1r_ - a3r_, t3i_ = a1i_ - a3i_; \
    const double b0r = t0r_ + t2r_, b0i = t0i_ + t2i_;                                        \
    const double b2r = t0r_ - t2r_, b2i = t0i_ - t2i_;                                        \
    const double b1r = t1r_ + t3i_, b1i = t1i_ - t3r_;                                        \
    const double b3r = t1r_ - t3i_, b3i = t1i_ + t3r_;

#define K5C1 0.309016994374947424102293417182819059  /* cos(2 pi / 5) */
#define K5C2 -0.809016994374947424102293417182819059 /* cos(4 pi / 5) */
#define K5S1 0.951056516295153572116439333379382143  /* sin(2 pi / 5) */
#define K5S2 0.587785252292473129168705954639072769  /* sin(4 pi / 5) */
#define BF5(x0r, x0i, x1r, x1i, x2r, x2i, x3r, x3i, x4r, x4i)                                 \
    const double a0r_ = (x0r), a0i_ = (x0i), a1r_ = (x1r), a1i_ = (x1i);                      \
    const double a2r_ = (x2r), a2i_ = (x2i), a3r_ = (x3r), a3i_ = (x3i);                      \
    const double a4r_ = (x4r), a4i_ = (x4i);                                                  \
    const double t1r_ = a1r_ + a4r_, t1i_ = a1i_ + a4i_, d1r_ = a1r_ - a4r_, d1i_ = a1i_ - a4i_; \
    const double t2r_ = a2r_ + a3r_, t2i_ = a2i_ + a3i_, d2r_ = a2r_ - a3r_, d2i_ = a2i_ - a3i_; \
    const double m1r_ = a0r_ + K5C1 * t1r_ + K5C2 * t2r_, m1i_ = a0i_ + K5C1 * t1i_ + K5C2 * t2i_; \
    const double m2r_ = a0r_ + K5C2 * t1r_ + K5C1 * t2r_, m2i_ = a0i_ + K5C2 * t1i_ + K5C1 * t2i_; \
    const double u1r_ = K5S1 * d1r_ + K5S2 * d2r_, u1i_ = K5S1 * d1i_ + K5S2 * d2i_;          \
    const double u2r_ = K5S2 * d1r_ - K5S1 * d2r_, u2i_ = K5S2 * d1i_ - K5S1 * d2i_;          \
    const double b0r = a0r_ + t1r_ + t2r_, b0i = a0i_ + t1i_ + t2i_;                          \
    const double b1r = m1r_ + u1i_, b1i = m1i_ - u1r_;                                        \
    const double b4r = m1r_ - u1i_, b4i = m1i_ + u1r_;                                        \
    const double b2r = m2r_ + u2i_, b2i = m2i_ - u2r_;                                        \
    const double b3r = m2r_ - u2i_, b3i = m2i_ + u2r_;

/* y = b * w */
#define TWST(YR, YI, br, bi, wr_, wi_)                                                        \
    do {                                                                                      \
        const double c_ = (wr_), d_ = (wi_);                                                  \
        (YR) = (br) * c_ - (bi) * d_;                                                         \
        (YI) = (br) * d_ + (bi) * c_;                                                         \
    } while (0)

/* ------------------------------------------------------------------------------------------ */
/* Passes. A pass over length L = p*m with stride s (s*L == n) computes
 *   y[q + s*(p*j + t)] = w_L^(t*j) * sum_k x[q + s*(j + k*m)] w_p^(t*k),
 * with twiddles stored as w[(t-1)*m + j]. For s > 1 the q loop is innermost and every stream
 * is unit-stride; it lives in a kernel whose rows are separate restrict parameters, because
 * with one base pointer and a symbolic stride s the compiler cannot prove that rows do not
 * overlap and gives up vectorising. For s == 1 the j loop is the long one: unit-stride loads,
 * interleaved stores. The last pass (m == 1) has no twiddles and reads and writes the same
 * indices, so it also comes in an in-place flavour (rows then are read-write). */

#define RP const double *restrict /* read-only row */
#define WP double *restrict       /* written row */

VG_INLINE static void k2_tw(size_t s, RP x0r, RP x0i, RP x1r, RP x1i, WP y0r, WP y0i, WP y1r, WP y1i,
                  double w1r, double w1i)
{
    size_t q;
    for (q = 0; q < s; q++) {
        BF2(x0r[q], x0i[q], x1r[q], x1i[q]);
        y0r[q] = b0r;
        y0i[q] = b0i;
        TWST(y1r[q], y1i[q], b1r, b1i, w1r, w1i);
    }
}

VG_INLINE static void k2_nt(size_t s, RP x0r, RP x0i, RP x1r, RP x1i, WP y0r, WP y0i, WP y1r, WP y1i)
{
    size_t q;
    for (q = 0; q < s; q++) {
        BF2(x0r[q], x0i[q], x1r[q], x1i[q]);
        y0r[q] = b0r;
        y0i[q] = b0i;
        y1r[q] = b1r;
        y1i[q] = b1i;
    }
}

VG_INLINE static void k2_ip(size_t s, WP r0r, WP r0i, WP r1r, WP r1i)
{
    size_t q;
    for (q = 0; q < s; q++) {
        BF2(r0r[q], r0i[q], r1r[q], r1i[q]);
        r0r[q] = b0r;
        r0i[q] = b0i;
        r1r[q] = b1r;
        r1i[q] = b1i;
    }
}

VG_INLINE static void k3_tw(size_t s, RP x0r, RP x0i, RP x1r, RP x1i, RP x2r, RP x2i, WP y0r, WP y0i,
                  WP y1r, WP y1i, WP y2r, WP y2i, double w1r, double w1i, double w2r, double w2i)
{
    size_t q;
    for (q = 0; q < s; q++) {
        BF3(x0r[q], x0i[q], x1r[q], x1i[q], x2r[q], x2i[q]);
        y0r[q] = b0r;
        y0i[q] = b0i;
        TWST(y1r[q], y1i[q], b1r, b1i, w1r, w1i);
        TWST(y2r[q], y2i[q], b2r, b2i, w2r, w2i);
    }
}

VG_INLINE static void k3_nt(size_t s, RP x0r, RP x0i, RP x1r, RP x1i, RP x2r, RP x2i, WP y0r, WP y0i,
                  WP y1r, WP y1i, WP y2r, WP y2i)
{
    size_t q;
    for (q = 0; q < s; q++) {
        BF3(x0r[q], x0i[q], x1r[q], x1i[q], x2r[q], x2i[q]);
        y0r[q] = b0r;
        y0i[q] = b0i;
        y1r[q] = b1r;
        y1i[q] = b1i;
        y2r[q] = b2r;
        y2i[q] = b2i;
    }
}

VG_INLINE static void k3_ip(size_t s, WP r0r, WP r0i, WP r1r, WP r1i, WP r2r, WP r2i)
{
    size_t q;
    for (q = 0; q < s; q++) {
        BF3(r0r[q], r0i[q], r1r[q], r1i[q], r2r[q], r2i[q]);
        r0r[q] = b0r;
        r0i[q] = b0i;
        r1r[q] = b1r;
        r1i[q] = b1i;
        r2r[q] = b2r;
        r2i[q] = b2i;
    }
}

VG_INLINE static void k4_tw(size_t s, RP x0r, RP x0i, RP x1r, RP x1i, RP x2r, RP x2i, RP x3r, RP x3i,
                  WP y0r, WP y0i, WP y1r, WP y1i, WP y2r, WP y2i, WP y3r, WP y3i, double w1r,
                  double w1i, double w2r, double w2i, double w3r, double w3i)
{
    size_t q;
    for (q = 0; q < s; q++) {
        BF4(x0r[q], x0i[q], x1r[q], x1i[q], x2r[q], x2i[q], x3r[q], x3i[q]);
        y0r[q] = b0r;
        y0i[q] = b0i;
        TWST(y1r[q], y1i[q], b1r, b1i, w1r, w1i);
        TWST(y2r[q], y2i[q], b2r, b2i, w2r, w2i);
        TWST(y3r[q], y3i[q], b3r, b3i, w3r, w3i);
    }
}

VG_INLINE static void k4_nt(size_t s, RP x0r, RP x0i, RP x1r, RP x1i, RP x2r, RP x2i, RP x3r, RP x3i,
                  WP y0r, WP y0i, WP y1r, WP y1i, WP y2r, WP y2i, WP y3r, WP y3i)
{
    size_t q;
    for (q = 0; q < s; q++) {
        BF4(x0r[q], x0i[q], x1r[q], x1i[q], x2r[q], x2i[q], x3r[q], x3i[q]);
        y0r[q] = b0r;
        y0i[q] = b0i;
        y1r[q] = b1r;
        y1i[q] = b1i;
        y2r[q] = b2r;
        y2i[q] = b2i;
        y3r[q] = b3r;
        y3i[q] = b3i;
    }
}

VG_INLINE static void k4_ip(size_t s, WP r0r, WP r0i, WP r1r, WP r1i, WP r2r, WP r2i, WP r3r, WP r3i)
{
    size_t q;
    for (q = 0; q < s; q++) {
        BF4(r0r[q], r0i[q], r1r[q], r1i[q], r2r[q], r2i[q], r3r[q], r3i[q]);
        r0r[q] = b0r;
        r0i[q] = b0i;
        r1r[q] = b1r;
        r1i[q] = b1i;
        r2r[q] = b2r;
        r2i[q] = b2i;
        r3r[q] = b3r;
        r3i[q] = b3i;
    }
}

VG_INLINE static void k5_tw(size_t s, RP x0r, RP x0i, RP x1r, RP x1i, RP x2r, RP x2i, RP x3r, RP x3i,
                  RP x4r, RP x4i, WP y0r, WP y0i, WP y1r, WP y1i, WP y2r, WP y2i, WP y3r,
                  WP y3i, WP y4r, WP y4i, const double *restrict w /* w1r w1i ... w4r w4i */)
{
    const double w1r = w[0], w1i = w[1], w2r = w[2], w2i = w[3];
    const double w3r = w[4], w3i = w[5], w4r = w[6], w4i = w[7];
    size_t q;
    for (q = 0; q < s; q++) {
        BF5(x0r[q], x0i[q], x1r[q], x1i[q], x2r[q], x2i[q], x3r[q], x3i[q], x4r[q], x4i[q]);
        y0r[q] = b0r;
        y0i[q] = b0i;
        TWST(y1r[q], y1i[q], b1r, b1i, w1r, w1i);
        TWST(y2r[q], y2i[q], b2r, b2i, w2r, w2i);
        TWST(y3r[q], y3i[q], b3r, b3i, w3r, w3i);
        TWST(y4r[q], y4i[q], b4r, b4i, w4r, w4i);
    }
}

VG_INLINE static void k5_nt(size_t s, RP x0r, RP x0i, RP x1r, RP x1i, RP x2r, RP x2i, RP x3r, RP x3i,
                  RP x4r, RP x4i, WP y0r, WP y0i, WP y1r, WP y1i, WP y2r, WP y2i, WP y3r,
                  WP y3i, WP y4r, WP y4i)
{
    size_t q;
    for (q = 0; q < s; q++) {
        BF5(x0r[q], x0i[q], x1r[q], x1i[q], x2r[q], x2i[q], x3r[q], x3i[q], x4r[q], x4i[q]);
        y0r[q] = b0r;
        y0i[q] = b0i;
        y1r[q] = b1r;
        y1i[q] = b1i;
        y2r[q] = b2r;
        y2i[q] = b2i;
        y3r[q] = b3r;
        y3i[q] = b3i;
        y4r[q] = b4r;
        y4i[q] = b4i;
    }
}

VG_INLINE static void k5_ip(size_t s, WP r0r, WP r0i, WP r1r, WP r1i, WP r2r, WP r2i, WP r3r, WP r3i,
                  WP r4r, WP r4i)
{
    size_t q;
    for (q = 0; q < s; q++) {
        BF5(r0r[q], r0i[q], r1r[q], r1i[q], r2r[q], r2i[q], r3r[q], r3i[q], r4r[q], r4i[q]);
        r0r[q] = b0r;
        r0i[q] = b0i;
        r1r[q] = b1r;
        r1i[q] = b1i;
        r2r[q] = b2r;
        r2i[q] = b2i;
        r3r[q] = b3r;
        r3i[q] = b3i;
        r4r[q] = b4r;
        r4i[q] = b4i;
    }
}

/* Row k of the input of butterfly group j: x + s*j + k*s*m; row t of its output:
 * y + s*p*j + t*s. */
#define XR(k) xr + a + (k) * sm, xi + a + (k) * sm
#define YR(t) yr + b + (t) * s, yi + b + (t) * s
#define LR(t) xr + (t) * s, xi + (t) * s
#define OR(t) yr + (t) * s, yi + (t) * s

VG_HOT_CLONES static void pass2(size_t s, size_t m, RP xr, RP xi, WP yr, WP yi, RP wr, RP wi)
{
    const size_t sm = s * m;
    size_t j;
    if (s == 1) {
        for (j = 0; j < m; j++) {
            BF2(xr[j], xi[j], xr[j + m], xi[j + m]);
            yr[2 * j] = b0r;
            yi[2 * j] = b0i;
            TWST(yr[2 * j + 1], yi[2 * j + 1], b1r, b1i, wr[j], wi[j]);
        }
        return;
    }
    for (j = 0; j < m; j++) {
        const size_t a = s * j, b = 2 * s * j;
        k2_tw(s, XR(0), XR(1), YR(0), YR(1), wr[j], wi[j]);
    }
}

VG_HOT_CLONES static void pass3(size_t s, size_t m, RP xr, RP xi, WP yr, WP yi, RP wr, RP wi)
{
    const size_t sm = s * m;
    size_t j;
    if (s == 1) {
        for (j = 0; j < m; j++) {
            BF3(xr[j], xi[j], xr[j + m], xi[j + m], xr[j + 2 * m], xi[j + 2 * m]);
            yr[3 * j] = b0r;
            yi[3 * j] = b0i;
            TWST(yr[3 * j + 1], yi[3 * j + 1], b1r, b1i, wr[j], wi[j]);
            TWST(yr[3 * j + 2], yi[3 * j + 2], b2r, b2i, wr[m + j], wi[m + j]);
        }
        return;
    }
    for (j = 0; j < m; j++) {
        const size_t a = s * j, b = 3 * s * j;
        k3_tw(s, XR(0), XR(1), XR(2), YR(0), YR(1), YR(2), wr[j], wi[j], wr[m + j], wi[m + j]);
    }
}

VG_HOT_CLONES static void pass4(size_t s, size_t m, RP xr, RP xi, WP yr, WP yi, RP wr, RP wi)
{
    const size_t sm = s * m;
    size_t j;
    if (s == 1) {
        for (j = 0; j < m; j++) {
            BF4(xr[j], xi[j], xr[j + m], xi[j + m], xr[j + 2 * m], xi[j + 2 * m], xr[j + 3 * m],
                xi[j + 3 * m]);
            yr[4 * j] = b0r;
            yi[4 * j] = b0i;
            TWST(yr[4 * j + 1], yi[4 * j + 1], b1r, b1i, wr[j], wi[j]);
            TWST(yr[4 * j + 2], yi[4 * j + 2], b2r, b2i, wr[m + j], wi[m + j]);
            TWST(yr[4 * j + 3], yi[4 * j + 3], b3r, b3i, wr[2 * m + j], wi[2 * m + j]);
        }
        return;
    }
    for (j = 0; j < m; j++) {
        const size_t a = s * j, b = 4 * s * j;
        k4_tw(s, XR(0), XR(1), XR(2), XR(3), YR(0), YR(1), YR(2), YR(3), wr[j], wi[j],
              wr[m + j], wi[m + j], wr[2 * m + j], wi[2 * m + j]);
    }
}

VG_HOT_CLONES static void pass5(size_t s, size_t m, RP xr, RP xi, WP yr, WP yi, RP wr, RP wi)
{
    const size_t sm = s * m;
    size_t j;
    if (s == 1) {
        for (j = 0; j < m; j++) {
            BF5(xr[j], xi[j], xr[j + m], xi[j + m], xr[j + 2 * m], xi[j + 2 * m], xr[j + 3 * m],
                xi[j + 3 * m], xr[j + 4 * m], xi[j + 4 * m]);
            yr[5 * j] = b0r;
            yi[5 * j] = b0i;
            TWST(yr[5 * j + 1], yi[5 * j + 1], b1r, b1i, wr[j], wi[j]);
            TWST(yr[5 * j + 2], yi[5 * j + 2], b2r, b2i, wr[m + j], wi[m + j]);
            TWST(yr[5 * j + 3], yi[5 * j + 3], b3r, b3i, wr[2 * m + j], wi[2 * m + j]);
            TWST(yr[5 * j + 4], yi[5 * j + 4], b4r, b4i, wr[3 * m + j], wi[3 * m + j]);
        }
        return;
    }
    for (j = 0; j < m; j++) {
        const size_t a = s * j, b = 5 * s * j;
        double w[8];
        size_t t;
        for (t = 0; t < 4; t++) {
            w[2 * t] = wr[t * m + j];
            w[2 * t + 1] = wi[t * m + j];
        }
        k5_tw(s, XR(0), XR(1), XR(2), XR(3), XR(4), YR(0), YR(1), YR(2), YR(3), YR(4), w);
    }
}

/* First radix-4 pass of the real FFT's half-length transform, reading the real input as
 * interleaved (re, im) pairs: fusing the de-interleave into the pass saves one sweep over the
 * data on the hot LFCC path. */
VG_HOT_CLONES static void pass4_interleaved(size_t m, RP x, WP yr, WP yi, RP wr, RP wi)
{
    size_t j;
    for (j = 0; j < m; j++) {
        BF4(x[2 * j], x[2 * j + 1], x[2 * (j + m)], x[2 * (j + m) + 1], x[2 * (j + 2 * m)],
            x[2 * (j + 2 * m) + 1], x[2 * (j + 3 * m)], x[2 * (j + 3 * m) + 1]);
        yr[4 * j] = b0r;
        yi[4 * j] = b0i;
        TWST(yr[4 * j + 1], yi[4 * j + 1], b1r, b1i, wr[j], wi[j]);
        TWST(yr[4 * j + 2], yi[4 * j + 2], b2r, b2i, wr[m + j], wi[m + j]);
        TWST(yr[4 * j + 3], yi[4 * j + 3], b3r, b3i, wr[2 * m + j], wi[2 * m + j]);
    }
}

/* Last pass: x -> y out of place, or in place on (xr, xi). */
VG_HOT_CLONES static void last2(size_t s, RP xr, RP xi, WP yr, WP yi) { k2_nt(s, LR(0), LR(1), OR(0), OR(1)); }
VG_HOT_CLONES static void last3(size_t s, RP xr, RP xi, WP yr, WP yi)
{
    k3_nt(s, LR(0), LR(1), LR(2), OR(0), OR(1), OR(2));
}
VG_HOT_CLONES static void last4(size_t s, RP xr, RP xi, WP yr, WP yi)
{
    k4_nt(s, LR(0), LR(1), LR(2), LR(3), OR(0), OR(1), OR(2), OR(3));
}
VG_HOT_CLONES static void last5(size_t s, RP xr, RP xi, WP yr, WP yi)
{
    k5_nt(s, LR(0), LR(1), LR(2), LR(3), LR(4), OR(0), OR(1), OR(2), OR(3), OR(4));
}
VG_HOT_CLONES static void last2_ip(size_t s, double *xr, double *xi) { k2_ip(s, LR(0), LR(1)); }
VG_HOT_CLONES static void last3_ip(size_t s, double *xr, double *xi) { k3_ip(s, LR(0), LR(1), LR(2)); }
VG_HOT_CLONES static void last4_ip(size_t s, double *xr, double *xi)
{
    k4_ip(s, LR(0), LR(1), LR(2), LR(3));
}
VG_HOT_CLONES static void last5_ip(size_t s, double *xr, double *xi)
{
    k5_ip(s, LR(0), LR(1), LR(2), LR(3), LR(4));
}

#undef XR
#undef YR
#undef LR
#undef OR

/* Generic odd prime p <= VG_FFT_MAXGEN, O(p^2) per butterfly using the conjugate symmetry of
 * the DFT matrix (pairs t, p-t share their real and imaginary partial sums). All inputs of a
 * butterfly are loaded before any output is stored, so with m == 1 (no twiddles, wr == NULL)
 * x and y may be the same arrays; hence no restrict here. cs: p cosines then p sines. */
VG_HOT_CLONES static void passg(size_t p, size_t s, size_t m, const double *xr, const double *xi, double *yr,
                  double *yi, const double *wr, const double *wi, const double *cs)
{
    double ar[VG_FFT_MAXGEN], ai[VG_FFT_MAXGEN];
    double sr[VG_FFT_MAXGEN / 2 + 1], si[VG_FFT_MAXGEN / 2 + 1];
    double dr[VG_FFT_MAXGEN / 2 + 1], di[VG_FFT_MAXGEN / 2 + 1];
    const double *cosv = cs, *sinv = cs + p;
    const size_t h = (p - 1) / 2, sm = s * m;
    size_t j, q, k, t;
    for (j = 0; j < m; j++) {
        for (q = 0; q < s; q++) {
            const size_t ib = q + s * j, ob = q + s * p * j;
            double b0r, b0i;
            for (k = 0; k < p; k++) {
                ar[k] = xr[ib + k * sm];
                ai[k] = xi[ib + k * sm];
            }
            b0r = ar[0];
            b0i = ai[0];
            for (k = 1; k <= h; k++) {
                sr[k] = ar[k] + ar[p - k];
                si[k] = ai[k] + ai[p - k];
                dr[k] = ar[k] - ar[p - k];
                di[k] = ai[k] - ai[p - k];
                b0r += sr[k];
                b0i += si[k];
            }
            yr[ob] = b0r;
            yi[ob] = b0i;
            for (t = 1; t <= h; t++) {
                double rr = ar[0], ri = ai[0], ir = 0.0, ii = 0.0;
                double o1r, o1i, o2r, o2i;
                size_t idx = 0;
                for (k = 1; k <= h; k++) {
                    idx += t;
                    if (idx >= p) idx -= p;
                    rr += cosv[idx] * sr[k];
                    ri += cosv[idx] * si[k];
                    ir += sinv[idx] * dr[k];
                    ii += sinv[idx] * di[k];
                }
                o1r = rr + ii; /* b_t = R - i I */
                o1i = ri - ir;
                o2r = rr - ii; /* b_{p-t} = R + i I */
                o2i = ri + ir;
                if (wr != NULL) {
                    const double c1 = wr[(t - 1) * m + j], d1 = wi[(t - 1) * m + j];
                    const double c2 = wr[(p - t - 1) * m + j], d2 = wi[(p - t - 1) * m + j];
                    yr[ob + s * t] = o1r * c1 - o1i * d1;
                    yi[ob + s * t] = o1r * d1 + o1i * c1;
                    yr[ob + s * (p - t)] = o2r * c2 - o2i * d2;
                    yi[ob + s * (p - t)] = o2r * d2 + o2i * c2;
                } else {
                    yr[ob + s * t] = o1r;
                    yi[ob + s * t] = o1i;
                    yr[ob + s * (p - t)] = o2r;
                    yi[ob + s * (p - t)] = o2i;
                }
            }
        }
    }
}

/* ------------------------------------------------------------------------------------------ */
/* Plan layout */

static size_t factorize(size_t n, size_t *radix, int *big)
{
    size_t k = 0, f;
    *big = 0;
    while (n % 4 == 0) {
        radix[k++] = 4;
        n /= 4;
    }
    if (n % 2 == 0) {
        radix[k++] = 2;
        n /= 2;
    }
    while (n % 3 == 0) {
        radix[k++] = 3;
        n /= 3;
    }
    while (n % 5 == 0) {
        radix[k++] = 5;
        n /= 5;
    }
    for (f = 7; f <= n / f; f += 2) {
        while (n % f == 0) {
            if (f > VG_FFT_MAXGEN) *big = 1;
            radix[k++] = f;
            n /= f;
        }
    }
    if (n > 1) {
        if (n > VG_FFT_MAXGEN) *big = 1;
        radix[k++] = n;
    }
    return k;
}

/* Fills the header (offsets, sizes) for length n; writes nothing else. */
static void cfft_layout(size_t n, cfft_hdr *h)
{
    size_t off = align_up(sizeof(cfft_hdr)), i, s = 1;
    int big;
    memset(h, 0, sizeof(*h));
    h->magic = CFFT_MAGIC;
    h->n = n;
    h->nstages = factorize(n, h->radix, &big);
    if (big) {
        cfft_hdr inner;
        size_t M = 1;
        while (M < 2 * n - 1) M *= 2;
        cfft_layout(M, &inner); /* power of two: never Bluestein again */
        h->blu = 1;
        h->blu_m = M;
        h->chirp_off = off;
        off = align_up(off + 2 * n * sizeof(double));
        h->filt_off = off;
        off = align_up(off + 2 * M * sizeof(double));
        h->inner_off = off;
        off += inner.nbytes;
        h->nbytes = align_up(off);
        h->scratch = 2 * M + inner.scratch;
        return;
    }
    for (i = 0; i < h->nstages; i++) {
        const size_t p = h->radix[i], m = n / (s * p);
        if (m > 1) {
            h->tw_off[i] = off;
            off = align_up(off + 2 * (p - 1) * m * sizeof(double));
        }
        if (p > 5) {
            h->gen_off[i] = off;
            off = align_up(off + 2 * p * sizeof(double));
        }
        s *= p;
    }
    h->nbytes = off;
    h->scratch = n > 1 ? 2 * n : 1;
}

/* In-place radix-2 DIT transform used only at plan time for Bluestein's filter, where no
 * scratch is available. Roots come from the inner plan's first (radix-4, L = M) twiddle row,
 * which holds exp(-2 pi i j / M) for j < M/4; the rest of the half circle follows from
 * multiplying by -i, which is exact. */
static void init_fft_inplace(const unsigned char *inner, size_t M, double *re, double *im)
{
    const cfft_hdr *ih = (const cfft_hdr *)(const void *)inner;
    const double *tr = (const double *)(const void *)(inner + ih->tw_off[0]);
    const double *ti = tr + 3 * (M / 4);
    const size_t q4 = M / 4;
    size_t i, j, len;
    for (i = 1, j = 0; i < M; i++) { /* bit reversal */
        size_t bit = M >> 1;
        for (; j & bit; bit >>= 1) j ^= bit;
        j ^= bit;
        if (i < j) {
            double t = re[i];
            re[i] = re[j];
            re[j] = t;
            t = im[i];
            im[i] = im[j];
            im[j] = t;
        }
    }
    for (len = 2; len <= M; len *= 2) {
        const size_t half = len / 2, step = M / len;
        size_t g;
        for (g = 0; g < M; g += len) {
            for (j = 0; j < half; j++) {
                const size_t k = j * step;
                double wr, wi, vr, vi;
                if (k < q4) {
                    wr = tr[k];
                    wi = ti[k];
                } else {
                    wr = ti[k - q4];
                    wi = -tr[k - q4];
                }
                vr = re[g + j + half] * wr - im[g + j + half] * wi;
                vi = re[g + j + half] * wi + im[g + j + half] * wr;
                re[g + j + half] = re[g + j] - vr;
                im[g + j + half] = im[g + j] - vi;
                re[g + j] += vr;
                im[g + j] += vi;
            }
        }
    }
}

static void cfft_fill(unsigned char *base, size_t n)
{
    cfft_hdr *h = (cfft_hdr *)(void *)base;
    size_t i, s = 1;
    cfft_layout(n, h);
    if (h->blu) {
        const size_t M = h->blu_m, n2 = 2 * n;
        double *cr = (double *)(void *)(base + h->chirp_off), *ci = cr + n;
        double *fr = (double *)(void *)(base + h->filt_off), *fi = fr + M;
        const double invM = 1.0 / (double)M;
        size_t k, r = 0;
        cfft_fill(base + h->inner_off, M);
        for (k = 0; k < n; k++) {
            /* exp(-i pi k^2 / n) = exp(-2 pi i (k^2 mod 2n) / 2n); k^2 mod 2n is updated
             * exactly in integers, (k+1)^2 = k^2 + 2k + 1. */
            double c, sn;
            unit_root(r, n2, &c, &sn);
            cr[k] = c;
            ci[k] = -sn;
            r += 2 * k + 1;
            while (r >= n2) r -= n2;
        }
        for (k = 0; k < M; k++) {
            fr[k] = 0.0;
            fi[k] = 0.0;
        }
        fr[0] = cr[0];
        fi[0] = -ci[0];
        for (k = 1; k < n; k++) {
            fr[k] = fr[M - k] = cr[k];
            fi[k] = fi[M - k] = -ci[k];
        }
        init_fft_inplace(base + h->inner_off, M, fr, fi);
        for (k = 0; k < M; k++) { /* fold the inverse transform's 1/M into the filter */
            fr[k] *= invM;
            fi[k] *= invM;
        }
        return;
    }
    for (i = 0; i < h->nstages; i++) {
        const size_t p = h->radix[i], m = n / (s * p), L = p * m;
        if (h->tw_off[i]) {
            double *wr = (double *)(void *)(base + h->tw_off[i]), *wi = wr + (p - 1) * m;
            size_t t, j;
            for (t = 1; t < p; t++) {
                for (j = 0; j < m; j++) {
                    double c, sn;
                    unit_root(t * j, L, &c, &sn);
                    wr[(t - 1) * m + j] = c;
                    wi[(t - 1) * m + j] = -sn;
                }
            }
        }
        if (h->gen_off[i]) {
            double *cs = (double *)(void *)(base + h->gen_off[i]);
            size_t k;
            for (k = 0; k < p; k++) unit_root(k, p, &cs[k], &cs[p + k]);
        }
        s *= p;
    }
}

/* ------------------------------------------------------------------------------------------ */
/* Execution (forward only; callers get the inverse by swapping re and im). */

/* xin: NULL, or the interleaved input of the real FFT (then the plan must satisfy
 * fusable_first_pass() and re/im receive the result without being read). */
static void stockham(const unsigned char *base, const cfft_hdr *h, const double *xin, double *re,
                     double *im, double *scr)
{
    const size_t n = h->n, K = h->nstages;
    double *xr = re, *xi = im, *yr = scr, *yi = scr + n;
    size_t i = 0, s = 1;
    if (n <= 1) return;
    if (xin != NULL) {
        const size_t m = n / 4;
        const double *wr = (const double *)(const void *)(base + h->tw_off[0]);
        pass4_interleaved(m, xin, re, im, wr, wr + 3 * m);
        i = 1;
        s = 4;
    }
    for (; i + 1 < K; i++) {
        const size_t p = h->radix[i], m = n / (s * p);
        const double *wr = (const double *)(const void *)(base + h->tw_off[i]);
        const double *wi = wr + (p - 1) * m;
        double *t;
        switch (p) {
        case 4: pass4(s, m, xr, xi, yr, yi, wr, wi); break;
        case 2: pass2(s, m, xr, xi, yr, yi, wr, wi); break;
        case 3: pass3(s, m, xr, xi, yr, yi, wr, wi); break;
        case 5: pass5(s, m, xr, xi, yr, yi, wr, wi); break;
        default:
            passg(p, s, m, xr, xi, yr, yi, wr, wi,
                  (const double *)(const void *)(base + h->gen_off[i]));
            break;
        }
        t = xr; xr = yr; yr = t;
        t = xi; xi = yi; yi = t;
        s *= p;
    }
    {
        const size_t p = h->radix[K - 1];
        const int inplace = (xr == re);
        switch (p) {
        case 4: if (inplace) last4_ip(s, re, im); else last4(s, xr, xi, re, im); break;
        case 2: if (inplace) last2_ip(s, re, im); else last2(s, xr, xi, re, im); break;
        case 3: if (inplace) last3_ip(s, re, im); else last3(s, xr, xi, re, im); break;
        case 5: if (inplace) last5_ip(s, re, im); else last5(s, xr, xi, re, im); break;
        default:
            passg(p, s, 1, xr, xi, re, im, NULL, NULL,
                  (const double *)(const void *)(base + h->gen_off[K - 1]));
            break;
        }
    }
}

static void cmul_filter(size_t M, double *restrict ar, double *restrict ai,
                        const double *restrict fr, const double *restrict fi)
{
    size_t k;
    for (k = 0; k < M; k++) {
        const double xr = ar[k], xi = ai[k];
        ar[k] = xr * fr[k] - xi * fi[k];
        ai[k] = xr * fi[k] + xi * fr[k];
    }
}

static void chirp_in(size_t n, size_t M, const double *restrict re, const double *restrict im,
                     const double *restrict cr, const double *restrict ci, double *restrict ar,
                     double *restrict ai)
{
    size_t k;
    for (k = 0; k < n; k++) {
        ar[k] = re[k] * cr[k] - im[k] * ci[k];
        ai[k] = re[k] * ci[k] + im[k] * cr[k];
    }
    for (; k < M; k++) {
        ar[k] = 0.0;
        ai[k] = 0.0;
    }
}

static void chirp_out(size_t n, const double *restrict ar, const double *restrict ai,
                      const double *restrict cr, const double *restrict ci, double *restrict re,
                      double *restrict im)
{
    size_t k;
    for (k = 0; k < n; k++) {
        re[k] = ar[k] * cr[k] - ai[k] * ci[k];
        im[k] = ar[k] * ci[k] + ai[k] * cr[k];
    }
}

static void cfft_exec(const unsigned char *base, double *re, double *im, double *scr)
{
    const cfft_hdr *h = (const cfft_hdr *)(const void *)base;
    if (h->blu) {
        const size_t n = h->n, M = h->blu_m;
        const unsigned char *inner = base + h->inner_off;
        const cfft_hdr *ih = (const cfft_hdr *)(const void *)inner;
        const double *cr = (const double *)(const void *)(base + h->chirp_off), *ci = cr + n;
        const double *fr = (const double *)(const void *)(base + h->filt_off), *fi = fr + M;
        double *ar = scr, *ai = scr + M, *iscr = scr + 2 * M;
        chirp_in(n, M, re, im, cr, ci, ar, ai);
        stockham(inner, ih, NULL, ar, ai, iscr);
        cmul_filter(M, ar, ai, fr, fi);
        stockham(inner, ih, NULL, ai, ar, iscr); /* inverse by swapping */
        chirp_out(n, ar, ai, cr, ci, re, im);
        return;
    }
    stockham(base, h, NULL, re, im, scr);
}

static int fusable_first_pass(const unsigned char *base)
{
    const cfft_hdr *h = (const cfft_hdr *)(const void *)base;
    return !h->blu && h->nstages >= 2 && h->radix[0] == 4;
}

/* ------------------------------------------------------------------------------------------ */
/* Public complex API */

static int check_cplan(const void *plan)
{
    const cfft_hdr *h;
    if (misaligned(plan)) return VG_ERR_PARAM;
    h = (const cfft_hdr *)plan;
    if (h->magic != CFFT_MAGIC || h->n == 0) return VG_ERR_PARAM;
    return VG_OK;
}

int vg_cfft_plan_bytes(size_t n, size_t *nbytes)
{
    cfft_hdr h;
    if (nbytes == NULL) return VG_ERR_NULL;
    if (n == 0 || n > VG_FFT_MAXN) return VG_ERR_SIZE;
    cfft_layout(n, &h);
    *nbytes = h.nbytes;
    return VG_OK;
}

int vg_cfft_plan_init(void *mem, size_t nbytes, size_t n)
{
    cfft_hdr h;
    if (mem == NULL) return VG_ERR_NULL;
    if (n == 0 || n > VG_FFT_MAXN) return VG_ERR_SIZE;
    cfft_layout(n, &h);
    if (nbytes < h.nbytes) return VG_ERR_BUFFER;
    if (misaligned(mem)) return VG_ERR_PARAM;
    cfft_fill((unsigned char *)mem, n);
    return VG_OK;
}

int vg_cfft_scratch_len(const void *plan, size_t *n_doubles)
{
    int st;
    if (plan == NULL || n_doubles == NULL) return VG_ERR_NULL;
    if ((st = check_cplan(plan)) != VG_OK) return st;
    *n_doubles = ((const cfft_hdr *)plan)->scratch;
    return VG_OK;
}

int vg_cfft_forward(const void *plan, double *re, double *im, double *scratch)
{
    int st;
    if (plan == NULL || re == NULL || im == NULL || scratch == NULL) return VG_ERR_NULL;
    if ((st = check_cplan(plan)) != VG_OK) return st;
    cfft_exec((const unsigned char *)plan, re, im, scratch);
    return VG_OK;
}

int vg_cfft_inverse(const void *plan, double *re, double *im, double *scratch)
{
    int st;
    if (plan == NULL || re == NULL || im == NULL || scratch == NULL) return VG_ERR_NULL;
    if ((st = check_cplan(plan)) != VG_OK) return st;
    cfft_exec((const unsigned char *)plan, im, re, scratch);
    return VG_OK;
}

/* ------------------------------------------------------------------------------------------ */
/* Real FFT. Even n: z[k] = x[2k] + i x[2k+1] is transformed at length N = n/2 and split:
 *   X[k] = E + W^k O, X[N-k] = conj(E - W^k O), E = (Z[k] + conj Z[N-k])/2,
 *   O = (Z[k] - conj Z[N-k])/(2i), W = exp(-2 pi i / n).
 * The half-length transform runs directly in the output arrays (they hold N+1 values), so
 * the only extra memory is the complex transform's own scratch. */

static void rfft_layout(size_t n, rfft_hdr *h)
{
    cfft_hdr inner;
    size_t off = align_up(sizeof(rfft_hdr));
    memset(h, 0, sizeof(*h));
    h->magic = RFFT_MAGIC;
    h->n = n;
    if (n % 2 == 0) {
        const size_t N = n / 2;
        h->half = N;
        h->tw_off = off;
        off = align_up(off + 2 * (N / 2 + 1) * sizeof(double));
        cfft_layout(N, &inner);
        h->scratch = inner.scratch;
    } else {
        cfft_layout(n, &inner);
        h->scratch = 2 * n + inner.scratch;
    }
    h->inner_off = off;
    h->nbytes = off + inner.nbytes;
}

static void rfft_split(size_t N, double *restrict lr, double *restrict li, double *restrict hr,
                       double *restrict hi, const double *restrict wr, const double *restrict wi)
{
    /* lr/li point at bin 0, hr/hi at bin N; k runs over 1 <= k < N-k, so the two halves
     * never overlap, which is what the restrict qualifiers promise. */
    const size_t kend = (N + 1) / 2;
    size_t k;
    for (k = 1; k < kend; k++) {
        const double ar = lr[k], ai = li[k], br = hr[-(ptrdiff_t)k], bi = hi[-(ptrdiff_t)k];
        const double er = 0.5 * (ar + br), ei = 0.5 * (ai - bi);
        const double orr = 0.5 * (ai + bi), oi = 0.5 * (br - ar);
        const double pr = orr * wr[k] - oi * wi[k], pi = orr * wi[k] + oi * wr[k];
        lr[k] = er + pr;
        li[k] = ei + pi;
        hr[-(ptrdiff_t)k] = er - pr;
        hi[-(ptrdiff_t)k] = pi - ei;
    }
}

static void deinterleave(size_t N, const double *restrict x, double *restrict re,
                         double *restrict im)
{
    size_t k;
    for (k = 0; k < N; k++) {
        re[k] = x[2 * k];
        im[k] = x[2 * k + 1];
    }
}

static int check_rplan(const void *plan)
{
    const rfft_hdr *h;
    if (misaligned(plan)) return VG_ERR_PARAM;
    h = (const rfft_hdr *)plan;
    if (h->magic != RFFT_MAGIC || h->n == 0) return VG_ERR_PARAM;
    return VG_OK;
}

int vg_rfft_plan_bytes(size_t n, size_t *nbytes)
{
    rfft_hdr h;
    if (nbytes == NULL) return VG_ERR_NULL;
    if (n == 0 || n > VG_FFT_MAXN) return VG_ERR_SIZE;
    rfft_layout(n, &h);
    *nbytes = h.nbytes;
    return VG_OK;
}

int vg_rfft_plan_init(void *mem, size_t nbytes, size_t n)
{
    rfft_hdr h;
    unsigned char *base = (unsigned char *)mem;
    if (mem == NULL) return VG_ERR_NULL;
    if (n == 0 || n > VG_FFT_MAXN) return VG_ERR_SIZE;
    rfft_layout(n, &h);
    if (nbytes < h.nbytes) return VG_ERR_BUFFER;
    if (misaligned(mem)) return VG_ERR_PARAM;
    memcpy(base, &h, sizeof(h));
    if (h.half) {
        const size_t N = h.half, q = N / 2;
        double *wr = (double *)(void *)(base + h.tw_off), *wi = wr + q + 1;
        size_t k;
        for (k = 0; k <= q; k++) {
            double c, s;
            unit_root(k, n, &c, &s);
            wr[k] = c;
            wi[k] = -s;
        }
        cfft_fill(base + h.inner_off, N);
    } else {
        cfft_fill(base + h.inner_off, n);
    }
    return VG_OK;
}

int vg_rfft_scratch_len(const void *plan, size_t *n_doubles)
{
    int st;
    if (plan == NULL || n_doubles == NULL) return VG_ERR_NULL;
    if ((st = check_rplan(plan)) != VG_OK) return st;
    *n_doubles = ((const rfft_hdr *)plan)->scratch;
    return VG_OK;
}

int vg_rfft_forward(const void *plan, const double *x, double *out_re, double *out_im,
                    double *scratch)
{
    const unsigned char *base = (const unsigned char *)plan;
    const rfft_hdr *h;
    int st;
    if (plan == NULL || x == NULL || out_re == NULL || out_im == NULL || scratch == NULL)
        return VG_ERR_NULL;
    if ((st = check_rplan(plan)) != VG_OK) return st;
    h = (const rfft_hdr *)plan;
    if (h->half) {
        const size_t N = h->half, q = N / 2;
        const double *wr = (const double *)(const void *)(base + h->tw_off), *wi = wr + q + 1;
        double z0r, z0i;
        const unsigned char *inner = base + h->inner_off;
        if (fusable_first_pass(inner)) {
            stockham(inner, (const cfft_hdr *)(const void *)inner, x, out_re, out_im, scratch);
        } else {
            deinterleave(N, x, out_re, out_im);
            cfft_exec(inner, out_re, out_im, scratch);
        }
        z0r = out_re[0];
        z0i = out_im[0];
        rfft_split(N, out_re, out_im, out_re + N, out_im + N, wr, wi);
        if (N % 2 == 0 && N > 0) { /* k == N-k: E = Re Z, O = Im Z, W^k = -i */
            out_im[q] = -out_im[q];
        }
        out_re[0] = z0r + z0i;
        out_im[0] = 0.0;
        out_re[N] = z0r - z0i;
        out_im[N] = 0.0;
    } else {
        const size_t n = h->n, nb = n / 2 + 1;
        double *zr = scratch, *zi = scratch + n;
        size_t k;
        memcpy(zr, x, n * sizeof(double));
        for (k = 0; k < n; k++) zi[k] = 0.0;
        cfft_exec(base + h->inner_off, zr, zi, scratch + 2 * n);
        memcpy(out_re, zr, nb * sizeof(double));
        memcpy(out_im, zi, nb * sizeof(double));
        out_im[0] = 0.0;
    }
    return VG_OK;
}
