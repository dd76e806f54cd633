/* Reading structured values from libFuzzer's bytes, shared by the C harnesses.
 * Missing bytes read as zero, so every input length is valid. */
#ifndef VG_FUZZ_INPUT_H
#define VG_FUZZ_INPUT_H
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

typedef struct {
    const uint8_t *p;
    size_t n, pos;
} fuzz_in;

static uint64_t fuzz_uint(fuzz_in *in, size_t nbytes)
{
    uint64_t v = 0;
    size_t i;
    for (i = 0; i < nbytes; i++) {
        uint64_t b = in->pos < in->n ? in->p[in->pos] : 0;
        if (in->pos < in->n) in->pos++;
        v |= b << (8 * i);
    }
    return v;
}

static double fuzz_double(fuzz_in *in)
{
    uint64_t bits = fuzz_uint(in, 8);
    double d;
    memcpy(&d, &bits, sizeof d);
    return d;
}

/* The rest of the input as samples: int16 / 32768 (raw == 0) or raw float64 bits (raw != 0),
 * at most max_n of them. Returns a malloc'd array and its length in *n (0 and NULL when empty). */
static double *fuzz_samples(fuzz_in *in, int raw, size_t max_n, size_t *n)
{
    size_t width = raw ? 8 : 2, count = (in->n - in->pos) / width, i;
    double *y;
    if (count > max_n) count = max_n;
    *n = count;
    if (count == 0) return NULL;
    y = (double *)malloc(count * sizeof(double));
    if (y == NULL) abort();
    for (i = 0; i < count; i++) {
        if (raw) {
            y[i] = fuzz_double(in);
        } else {
            int16_t s = (int16_t)(uint16_t)fuzz_uint(in, 2);
            y[i] = (double)s / 32768.0;
        }
    }
    return y;
}

/* A failed invariant: print it and abort (libFuzzer records the input). */
#define FUZZ_CHECK(cond, ...)                                                   \
    do {                                                                        \
        if (!(cond)) {                                                          \
            fprintf(stderr, "invariant failed at %s:%d: %s: ", __FILE__, __LINE__, #cond); \
            fprintf(stderr, __VA_ARGS__);                                       \
            fprintf(stderr, "\n");                                              \
            abort();                                                            \
        }                                                                       \
    } while (0)

#endif
