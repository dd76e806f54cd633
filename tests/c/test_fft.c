/* Standalone check of csrc/vg_fft.c against a naive DFT evaluated in long double.
 * Build: cc -std=c99 -O2 -Icsrc tests/c/test_fft.c csrc/vg_fft.c -lm
 * Prints "N passed, M failed" last and exits nonzero when anything failed. */
#include "vg_fft.h"
#include "vg_status.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static int n_pass = 0, n_fail = 0;
static double worst_ratio = 0.0; /* largest error / tolerance seen */
static size_t worst_n = 0;

static double tol(size_t n) { return 1e-12 * log2((double)n + 1.0); }

static void check(int ok, const char *what, size_t n, double err)
{
    if (n > 0 && err / tol(n) > worst_ratio) {
        worst_ratio = err / tol(n);
        worst_n = n;
    }
    if (ok) {
        n_pass++;
    } else {
        n_fail++;
        printf("FAIL %s n=%lu err=%.3e\n", what, (unsigned long)n, err);
    }
}

static unsigned long long rng_state = 0x9E3779B97F4A7C15ULL;
static double urand(void) /* uniform in [-1, 1) */
{
    rng_state ^= rng_state << 13;
    rng_state ^= rng_state >> 7;
    rng_state ^= rng_state << 17;
    return (double)(rng_state >> 11) * (2.0 / 9007199254740992.0) - 1.0;
}

static void *xmalloc(size_t bytes)
{
    void *p = malloc(bytes ? bytes : 1);
    if (p == NULL) {
        printf("out of memory\n");
        exit(2);
    }
    return p;
}

/* Above this length the O(n^2) reference is evaluated on a sample of bins only. */
#define FULL_DFT_MAX 4096
#define N_SAMPLED 160

/* Bins the reference is evaluated at: all of them for small n, else both ends plus an
 * evenly spread set. Returns how many. */
static size_t pick_bins(size_t n, size_t m, size_t *bins)
{
    size_t i, c = 0;
    if (n <= FULL_DFT_MAX) {
        for (i = 0; i < m; i++) bins[i] = i;
        return m;
    }
    for (i = 0; i < 8; i++) {
        bins[c++] = i;
        bins[c++] = m - 1 - i;
    }
    for (i = 0; c < N_SAMPLED; i++) bins[c++] = (i * 7919u + 13u) % m;
    return c;
}

/* X[k] = sum_j x[j] exp(sign * 2 pi i j k / n) for k in bins[0..nb-1], accumulated in long
 * double with an exactly indexed root table, so its error is far below the tolerance. */
static void naive_dft(size_t n, const double *xr, const double *xi, int sign, size_t nb,
                      const size_t *bins, long double *yr, long double *yi)
{
    const long double two_pi = 6.283185307179586476925286766559005768L;
    long double *c = (long double *)xmalloc(n * sizeof(long double));
    long double *s = (long double *)xmalloc(n * sizeof(long double));
    size_t j, k, b;
    for (k = 0; k < n; k++) {
        c[k] = cosl(two_pi * (long double)k / (long double)n);
        s[k] = sign * sinl(two_pi * (long double)k / (long double)n);
    }
    for (b = 0; b < nb; b++) {
        long double ar = 0.0L, ai = 0.0L;
        size_t idx = 0;
        k = bins[b];
        for (j = 0; j < n; j++) {
            ar += xr[j] * c[idx] - xi[j] * s[idx];
            ai += xr[j] * s[idx] + xi[j] * c[idx];
            idx += k;
            if (idx >= n) idx -= n;
        }
        yr[b] = ar;
        yi[b] = ai;
    }
    free(c);
    free(s);
}

/* max |y[bins[b]] - ref[b]| / max |ref[b]| over nb bins */
static double rel_err(size_t nb, const size_t *bins, const double *yr, const double *yi,
                      const long double *rr, const long double *ri)
{
    long double emax = 0.0L, rmax = 0.0L;
    size_t k;
    for (k = 0; k < nb; k++) {
        long double dr = (long double)yr[bins[k]] - rr[k], di = (long double)yi[bins[k]] - ri[k];
        long double e = sqrtl(dr * dr + di * di), r = sqrtl(rr[k] * rr[k] + ri[k] * ri[k]);
        if (!(e <= emax)) emax = e; /* NaN propagates as a failure */
        if (r > rmax) rmax = r;
    }
    if (rmax == 0.0L) return (double)emax;
    return (double)(emax / rmax);
}

static void fill_nan(double *p, size_t m)
{
    size_t k;
    for (k = 0; k < m; k++) p[k] = NAN;
}

static void test_complex(size_t n, int memcpy_plan)
{
    size_t nb = 0, ns = 0, k;
    void *plan, *plan2 = NULL;
    const void *use;
    double *xr, *xi, *yr, *yi, *scr, err;
    long double *rr, *ri;
    size_t *bins, nbins;
    int ok;
    if (vg_cfft_plan_bytes(n, &nb) != VG_OK) {
        check(0, "cfft_plan_bytes", n, 0);
        return;
    }
    plan = xmalloc(nb);
    if (vg_cfft_plan_init(plan, nb, n) != VG_OK || vg_cfft_scratch_len(plan, &ns) != VG_OK) {
        check(0, "cfft_plan_init", n, 0);
        free(plan);
        return;
    }
    use = plan;
    if (memcpy_plan) { /* the copy must work on its own: wipe the original */
        plan2 = xmalloc(nb);
        memcpy(plan2, plan, nb);
        memset(plan, 0xA5, nb);
        use = plan2;
    }
    xr = (double *)xmalloc(n * sizeof(double));
    xi = (double *)xmalloc(n * sizeof(double));
    yr = (double *)xmalloc(n * sizeof(double));
    yi = (double *)xmalloc(n * sizeof(double));
    scr = (double *)xmalloc(ns * sizeof(double));
    rr = (long double *)xmalloc(n * sizeof(long double));
    ri = (long double *)xmalloc(n * sizeof(long double));
    bins = (size_t *)xmalloc((n > N_SAMPLED ? n : N_SAMPLED) * sizeof(size_t));
    nbins = pick_bins(n, n, bins);
    for (k = 0; k < n; k++) {
        xr[k] = urand();
        xi[k] = urand();
    }

    /* forward */
    memcpy(yr, xr, n * sizeof(double));
    memcpy(yi, xi, n * sizeof(double));
    fill_nan(scr, ns);
    ok = vg_cfft_forward(use, yr, yi, scr) == VG_OK;
    naive_dft(n, xr, xi, -1, nbins, bins, rr, ri);
    err = rel_err(nbins, bins, yr, yi, rr, ri);
    check(ok && err < tol(n), memcpy_plan ? "cfft forward (copied plan)" : "cfft forward", n, err);

    /* round trip: inverse(forward(x)) / n == x */
    fill_nan(scr, ns);
    ok = vg_cfft_inverse(use, yr, yi, scr) == VG_OK;
    for (k = 0; k < n; k++) {
        rr[k] = xr[k];
        ri[k] = xi[k];
        bins[k] = k;
        yr[k] /= (double)n;
        yi[k] /= (double)n;
    }
    err = rel_err(n, bins, yr, yi, rr, ri);
    nbins = pick_bins(n, n, bins);
    check(ok && err < tol(n), "cfft round trip", n, err);

    /* inverse on its own */
    memcpy(yr, xr, n * sizeof(double));
    memcpy(yi, xi, n * sizeof(double));
    fill_nan(scr, ns);
    ok = vg_cfft_inverse(use, yr, yi, scr) == VG_OK;
    naive_dft(n, xr, xi, +1, nbins, bins, rr, ri);
    err = rel_err(nbins, bins, yr, yi, rr, ri);
    check(ok && err < tol(n), "cfft inverse", n, err);

    free(xr);
    free(xi);
    free(yr);
    free(yi);
    free(scr);
    free(rr);
    free(ri);
    free(bins);
    free(plan);
    free(plan2);
}

static void test_real(size_t n, int memcpy_plan)
{
    const size_t nb_out = n / 2 + 1;
    size_t nb = 0, ns = 0, k;
    void *plan, *plan2 = NULL;
    const void *use;
    double *x, *x0, *zero, *yr, *yi, *scr, err;
    long double *rr, *ri;
    size_t *bins, nbins;
    int ok, same = 1;
    if (vg_rfft_plan_bytes(n, &nb) != VG_OK) {
        check(0, "rfft_plan_bytes", n, 0);
        return;
    }
    plan = xmalloc(nb);
    if (vg_rfft_plan_init(plan, nb, n) != VG_OK || vg_rfft_scratch_len(plan, &ns) != VG_OK) {
        check(0, "rfft_plan_init", n, 0);
        free(plan);
        return;
    }
    use = plan;
    if (memcpy_plan) {
        plan2 = xmalloc(nb);
        memcpy(plan2, plan, nb);
        memset(plan, 0xA5, nb);
        use = plan2;
    }
    x = (double *)xmalloc(n * sizeof(double));
    x0 = (double *)xmalloc(n * sizeof(double));
    zero = (double *)xmalloc(n * sizeof(double));
    yr = (double *)xmalloc(nb_out * sizeof(double));
    yi = (double *)xmalloc(nb_out * sizeof(double));
    scr = (double *)xmalloc(ns * sizeof(double));
    rr = (long double *)xmalloc(n * sizeof(long double));
    ri = (long double *)xmalloc(n * sizeof(long double));
    bins = (size_t *)xmalloc((n > N_SAMPLED ? n : N_SAMPLED) * sizeof(size_t));
    nbins = pick_bins(n, nb_out, bins);
    for (k = 0; k < n; k++) {
        x[k] = x0[k] = urand();
        zero[k] = 0.0;
    }
    fill_nan(yr, nb_out);
    fill_nan(yi, nb_out);
    fill_nan(scr, ns);
    ok = vg_rfft_forward(use, x, yr, yi, scr) == VG_OK;
    naive_dft(n, x, zero, -1, nbins, bins, rr, ri);
    err = rel_err(nbins, bins, yr, yi, rr, ri);
    check(ok && err < tol(n), memcpy_plan ? "rfft forward (copied plan)" : "rfft forward", n, err);
    for (k = 0; k < n; k++) same &= (x[k] == x0[k]);
    check(same, "rfft leaves x unchanged", n, 0);

    free(x);
    free(x0);
    free(zero);
    free(yr);
    free(yi);
    free(scr);
    free(rr);
    free(ri);
    free(bins);
    free(plan);
    free(plan2);
}

static void test_bad_args(void)
{
    size_t nb = 0, ns = 0, rb = 0;
    void *cp, *rp, *junk;
    double re[8] = {0}, im[8] = {0}, scr[64] = {0}, out_re[5], out_im[5];
    int r;

    check(vg_cfft_plan_bytes(8, NULL) == VG_ERR_NULL, "cfft_plan_bytes NULL", 8, 0);
    check(vg_cfft_plan_bytes(0, &nb) == VG_ERR_SIZE, "cfft_plan_bytes n=0", 0, 0);
    check(vg_rfft_plan_bytes(8, NULL) == VG_ERR_NULL, "rfft_plan_bytes NULL", 8, 0);
    check(vg_rfft_plan_bytes(0, &nb) == VG_ERR_SIZE, "rfft_plan_bytes n=0", 0, 0);

    r = vg_cfft_plan_bytes(8, &nb);
    check(r == VG_OK && nb > 0, "cfft_plan_bytes 8", 8, 0);
    r = vg_rfft_plan_bytes(8, &rb);
    check(r == VG_OK && rb > 0, "rfft_plan_bytes 8", 8, 0);
    cp = xmalloc(nb);
    rp = xmalloc(rb);
    junk = xmalloc(nb > rb ? nb : rb);
    memset(junk, 0, nb > rb ? nb : rb);

    check(vg_cfft_plan_init(NULL, nb, 8) == VG_ERR_NULL, "cfft_plan_init NULL", 8, 0);
    check(vg_cfft_plan_init(cp, nb, 0) == VG_ERR_SIZE, "cfft_plan_init n=0", 0, 0);
    check(vg_cfft_plan_init(cp, nb - 1, 8) == VG_ERR_BUFFER, "cfft_plan_init short", 8, 0);
    check(vg_rfft_plan_init(NULL, rb, 8) == VG_ERR_NULL, "rfft_plan_init NULL", 8, 0);
    check(vg_rfft_plan_init(rp, rb, 0) == VG_ERR_SIZE, "rfft_plan_init n=0", 0, 0);
    check(vg_rfft_plan_init(rp, rb - 1, 8) == VG_ERR_BUFFER, "rfft_plan_init short", 8, 0);
    {
        unsigned char *big = (unsigned char *)xmalloc(nb + rb + 16);
        check(vg_cfft_plan_init(big + 1, nb, 8) == VG_ERR_PARAM, "cfft_plan_init misaligned", 8,
              0);
        check(vg_rfft_plan_init(big + 1, rb, 8) == VG_ERR_PARAM, "rfft_plan_init misaligned", 8,
              0);
        free(big);
    }
    check(vg_cfft_plan_init(cp, nb, 8) == VG_OK, "cfft_plan_init ok", 8, 0);
    check(vg_rfft_plan_init(rp, rb, 8) == VG_OK, "rfft_plan_init ok", 8, 0);

    check(vg_cfft_scratch_len(NULL, &ns) == VG_ERR_NULL, "cfft_scratch_len NULL plan", 8, 0);
    check(vg_cfft_scratch_len(cp, NULL) == VG_ERR_NULL, "cfft_scratch_len NULL out", 8, 0);
    check(vg_cfft_scratch_len(junk, &ns) == VG_ERR_PARAM, "cfft_scratch_len junk", 8, 0);
    check(vg_cfft_scratch_len(rp, &ns) == VG_ERR_PARAM, "cfft_scratch_len rfft plan", 8, 0);
    check(vg_cfft_scratch_len(cp, &ns) == VG_OK && ns <= 64, "cfft_scratch_len ok", 8, 0);
    check(vg_rfft_scratch_len(NULL, &ns) == VG_ERR_NULL, "rfft_scratch_len NULL plan", 8, 0);
    check(vg_rfft_scratch_len(rp, NULL) == VG_ERR_NULL, "rfft_scratch_len NULL out", 8, 0);
    check(vg_rfft_scratch_len(cp, &ns) == VG_ERR_PARAM, "rfft_scratch_len cfft plan", 8, 0);
    check(vg_rfft_scratch_len(rp, &ns) == VG_OK && ns <= 64, "rfft_scratch_len ok", 8, 0);

    check(vg_cfft_forward(NULL, re, im, scr) == VG_ERR_NULL, "cfft_forward NULL plan", 8, 0);
    check(vg_cfft_forward(cp, NULL, im, scr) == VG_ERR_NULL, "cfft_forward NULL re", 8, 0);
    check(vg_cfft_forward(cp, re, NULL, scr) == VG_ERR_NULL, "cfft_forward NULL im", 8, 0);
    check(vg_cfft_forward(cp, re, im, NULL) == VG_ERR_NULL, "cfft_forward NULL scratch", 8, 0);
    check(vg_cfft_forward(junk, re, im, scr) == VG_ERR_PARAM, "cfft_forward junk plan", 8, 0);
    check(vg_cfft_forward(rp, re, im, scr) == VG_ERR_PARAM, "cfft_forward rfft plan", 8, 0);
    check(vg_cfft_inverse(NULL, re, im, scr) == VG_ERR_NULL, "cfft_inverse NULL plan", 8, 0);
    check(vg_cfft_inverse(cp, NULL, im, scr) == VG_ERR_NULL, "cfft_inverse NULL re", 8, 0);
    check(vg_cfft_inverse(cp, re, NULL, scr) == VG_ERR_NULL, "cfft_inverse NULL im", 8, 0);
    check(vg_cfft_inverse(cp, re, im, NULL) == VG_ERR_NULL, "cfft_inverse NULL scratch", 8, 0);
    check(vg_cfft_inverse(junk, re, im, scr) == VG_ERR_PARAM, "cfft_inverse junk plan", 8, 0);

    check(vg_rfft_forward(NULL, re, out_re, out_im, scr) == VG_ERR_NULL, "rfft NULL plan", 8, 0);
    check(vg_rfft_forward(rp, NULL, out_re, out_im, scr) == VG_ERR_NULL, "rfft NULL x", 8, 0);
    check(vg_rfft_forward(rp, re, NULL, out_im, scr) == VG_ERR_NULL, "rfft NULL out_re", 8, 0);
    check(vg_rfft_forward(rp, re, out_re, NULL, scr) == VG_ERR_NULL, "rfft NULL out_im", 8, 0);
    check(vg_rfft_forward(rp, re, out_re, out_im, NULL) == VG_ERR_NULL, "rfft NULL scratch", 8,
          0);
    check(vg_rfft_forward(junk, re, out_re, out_im, scr) == VG_ERR_PARAM, "rfft junk plan", 8,
          0);
    check(vg_rfft_forward(cp, re, out_re, out_im, scr) == VG_ERR_PARAM, "rfft cfft plan", 8, 0);
    check(vg_rfft_forward(rp, re, out_re, out_im, scr) == VG_OK, "rfft ok", 8, 0);

    free(cp);
    free(rp);
    free(junk);
}

int main(void)
{
    static const size_t awkward[] = {512, 1024, 2048, 4096, 8192, 7776, 8000, 1000, 997, 2 * 997,
                                     4099, 2187 /* 3^7 */, 3125 /* 5^5 */,
                                     16 * 9 * 5 * 7 * 11,
                                     61 * 59, 67, 2 * 67, 127, 131 * 3, 4 * 4 * 4 * 4 * 2 * 3};
    size_t n, i;
    for (n = 1; n <= 300; n++) {
        test_complex(n, 0);
        test_real(n, 0);
    }
    for (i = 0; i < sizeof(awkward) / sizeof(awkward[0]); i++) {
        test_complex(awkward[i], 0);
        test_real(awkward[i], 0);
    }
    {
        static const size_t copied[] = {1, 2, 7, 64, 96, 100, 243, 997, 4099, 2 * 4099, 1000};
        for (i = 0; i < sizeof(copied) / sizeof(copied[0]); i++) {
            test_complex(copied[i], 1);
            test_real(copied[i], 1);
        }
    }
    test_bad_args();
    printf("worst error / tolerance: %.3g (n=%lu)\n", worst_ratio, (unsigned long)worst_n);
    printf("%d passed, %d failed\n", n_pass, n_fail);
    return n_fail == 0 ? 0 : 1;
}
