/* Probe (helper floor5, issue #18 item 2): the run3_hh4b one-pass kernel with AVX-512
 * intrinsics, one event per SIMD lane, reading the Columns buffers in place (no copy).
 *
 * Hand translation of the kernel engine/codegen.py generates for run3_hh4b (no L1 jets):
 * the same registers, the float32 thresholds CONSTS (passed in as cv, in C0..C10 order), the
 * same selects, float64 HT and top-2 means in the reference's order (per lane, no
 * reassociation). Not generated, not shipped: a measurement.
 *
 * Variants (compile-time):
 *   -DPREFETCH=d   prefetch the jets d groups ahead (0: none)
 * Entry points:
 *   hh4b_simd16    16 events per group (f32 lanes; the float64 HT as two 8 x f64 halves)
 *   hh4b_simd8     8 events per group (ymm f32 lanes, one zmm of f64)
 *   hh4b_simd16_perm  16 lanes over the events in a given order (perm: a grouping by jet
 *                  count), decisions written to each event's own row
 *
 * Gathers use 32-bit indices relative to the group's first jet (base pointer pt + jo[e]), so
 * the indices fit int32 whatever the array size (a group spans < 2^31 jets).
 */
#include <immintrin.h>
#include <math.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#ifndef DEPMASK
#define DEPMASK 0
#endif
#ifndef WINDOW
#define WINDOW 0
#endif
#ifndef PIPE
#define PIPE 0
#endif
#ifndef PREFETCH
#define PREFETCH 0
#endif

#define CH 4096 /* events per chunk (the large-R prefix counts), as the numba kernel */

typedef struct {
    float C0, C1, C2, C3, C4, C5, C6, C7, C8, C9, C10;
} consts_t;

static inline consts_t load_consts(const float *cv)
{
    consts_t c = {cv[0], cv[1], cv[2], cv[3], cv[4], cv[5], cv[6], cv[7], cv[8], cv[9], cv[10]};
    return c;
}

/* large-R prefix counts of the chunk [e0, e1): fn[i] = passing among its first i large-R jets */
static inline int64_t fat_prefix(const int64_t *fo, const float *fpt, const float *feta,
                                 const float *fmsd, const float *fsc, int64_t e0, int64_t e1,
                                 const consts_t *c, int32_t *fn)
{
    int64_t fb = fo[e0], fe = fo[e1];
    int32_t m = 0;
    fn[0] = 0;
    for (int64_t f = fb; f < fe; f++) {
        float fa = fabsf(feta[f]);
        m += (fpt[f] >= c->C5) & (fa <= c->C0) & (fmsd[f] >= c->C6) & (fsc[f] >= c->C7);
        fn[f - fb + 1] = m;
    }
    return fb;
}

/* the 8 decision masks of 16 events -> 128 bytes out[lane * 8 + t] (0 / 1) */
static inline void store16(uint8_t *out, const __mmask16 *t, int nvalid)
{
    __m128i b = _mm_setzero_si128();
    for (int k = 0; k < 8; k++)
        b = _mm_or_si128(b, _mm_maskz_set1_epi8(t[k], (char)(1 << k)));
    const __m512i bits = _mm512_set1_epi64(0x8040201008040201LL);
    const __m512i idx0 = _mm512_set_epi64(0x0707070707070707LL, 0x0606060606060606LL,
                                          0x0505050505050505LL, 0x0404040404040404LL,
                                          0x0303030303030303LL, 0x0202020202020202LL,
                                          0x0101010101010101LL, 0x0000000000000000LL);
    const __m512i eight = _mm512_set1_epi8(8);
    __m512i bz = _mm512_castsi128_si512(b);
    __mmask64 m0 = _mm512_test_epi8_mask(_mm512_permutexvar_epi8(idx0, bz), bits);
    __mmask64 m1 =
        _mm512_test_epi8_mask(_mm512_permutexvar_epi8(_mm512_add_epi8(idx0, eight), bz), bits);
    const __m512i one = _mm512_set1_epi8(1);
    if (nvalid == 16) {
        _mm512_storeu_si512(out, _mm512_maskz_mov_epi8(m0, one));
        _mm512_storeu_si512(out + 64, _mm512_maskz_mov_epi8(m1, one));
    } else {
        int nb = nvalid * 8;
        __mmask64 w0 = nb >= 64 ? ~0ULL : ((1ULL << nb) - 1);
        __mmask64 w1 = nb <= 64 ? 0 : (nb >= 128 ? ~0ULL : ((1ULL << (nb - 64)) - 1));
        _mm512_mask_storeu_epi8(out, w0, _mm512_maskz_mov_epi8(m0, one));
        _mm512_mask_storeu_epi8(out + 64, w1, _mm512_maskz_mov_epi8(m1, one));
    }
}

/* the 16 events' decisions from their registers */
static inline void triggers16(__mmask16 *t, const consts_t *c, __m512i k0, __m512i k1,
                              __m512i nq1, __m512 l0, __m512 l1, __m512 l2, __m512 l3,
                              __m512d htlo, __m512d hthi, __m512 q00, __m512 q01, __m512 q10,
                              __m512 q11, __m512i fj)
{
#define HT(x)                                                                                     \
    ((__mmask16)(_mm512_cmp_pd_mask(htlo, _mm512_set1_pd(x), _CMP_GE_OQ) |                        \
                 (_mm512_cmp_pd_mask(hthi, _mm512_set1_pd(x), _CMP_GE_OQ) << 8)))
#define GE(v, x) _mm512_cmp_ps_mask(v, _mm512_set1_ps(x), _CMP_GE_OQ)
    const __m512d half = _mm512_set1_pd(0.5);
    __m512d m0lo = _mm512_mul_pd(_mm512_add_pd(_mm512_cvtps_pd(_mm512_castps512_ps256(q00)),
                                               _mm512_cvtps_pd(_mm512_castps512_ps256(q01))),
                                 half);
    __m512d m0hi = _mm512_mul_pd(
        _mm512_add_pd(_mm512_cvtps_pd(_mm512_extractf32x8_ps(q00, 1)),
                      _mm512_cvtps_pd(_mm512_extractf32x8_ps(q01, 1))),
        half);
    __m512d m1lo = _mm512_mul_pd(_mm512_add_pd(_mm512_cvtps_pd(_mm512_castps512_ps256(q10)),
                                               _mm512_cvtps_pd(_mm512_castps512_ps256(q11))),
                                 half);
    __m512d m1hi = _mm512_mul_pd(
        _mm512_add_pd(_mm512_cvtps_pd(_mm512_extractf32x8_ps(q10, 1)),
                      _mm512_cvtps_pd(_mm512_extractf32x8_ps(q11, 1))),
        half);
#define MEAN(lo, hi, x)                                                                           \
    ((__mmask16)(_mm512_cmp_pd_mask(lo, _mm512_set1_pd(x), _CMP_GE_OQ) |                          \
                 (_mm512_cmp_pd_mask(hi, _mm512_set1_pd(x), _CMP_GE_OQ) << 8)))
    __mmask16 K4 = _mm512_cmpge_epi32_mask(k0, _mm512_set1_epi32(4));
    __mmask16 K2 = _mm512_cmpge_epi32_mask(k0, _mm512_set1_epi32(2));
    __mmask16 N2 = _mm512_cmpge_epi32_mask(nq1, _mm512_set1_epi32(2));
    __mmask16 a0 = GE(l0, c->C8), a1 = GE(l1, c->C9), a2 = GE(l2, c->C6), a3 = GE(l3, c->C3);
    __mmask16 b1 = GE(l1, c->C10), b3 = GE(l3, c->C6);
    __mmask16 h280 = HT(280.0);
    t[0] = K4 & a0 & a1 & a2 & a3 & h280;
    t[1] = HT(320.0);
    t[2] = HT(360.0);
    t[3] = _mm512_cmpge_epi32_mask(k1, _mm512_set1_epi32(1));
    __mmask16 seed = t[0] | t[1] | t[2];
    t[4] = seed & K4 & h280 & K2 & MEAN(m0lo, m0hi, 0.55);
    t[5] = seed & K4 & a0 & b1 & a2 & b3 & HT(340.0) & K2 & MEAN(m0lo, m0hi, 0.7);
    t[6] = seed & K4 & a0 & b1 & a2 & a3 & N2 & MEAN(m1lo, m1hi, 0.65);
    t[7] = (t[3] | t[2]) & _mm512_cmpge_epi32_mask(fj, _mm512_set1_epi32(1));
#undef HT
#undef GE
#undef MEAN
}

/* one group of 16 events: rel. jet bounds [st, en) from base jb; fj their large-R counts */
/* per lane a[j] (j < 128) by permutes of the 128 floats at a: from registers loaded once per
 * group (WINREG), or from memory (L1) at every step */
#ifndef WINREG
#define WINREG 0
#endif
#if WINREG
#define WIN_LOAD(R, a)                                                                            \
    __m512 R##0 = _mm512_loadu_ps(a), R##1 = _mm512_loadu_ps(a + 16);                            \
    __m512 R##2 = _mm512_loadu_ps(a + 32), R##3 = _mm512_loadu_ps(a + 48);                       \
    __m512 R##4 = _mm512_loadu_ps(a + 64), R##5 = _mm512_loadu_ps(a + 80);                       \
    __m512 R##6 = _mm512_loadu_ps(a + 96), R##7 = _mm512_loadu_ps(a + 112)
#else
#define WIN_LOAD(R, a) const float *R = (a)
#define R_(R, k) _mm512_loadu_ps(R + 16 * k)
#define WP0 R_(WP, 0)
#define WP1 R_(WP, 1)
#define WP2 R_(WP, 2)
#define WP3 R_(WP, 3)
#define WP4 R_(WP, 4)
#define WP5 R_(WP, 5)
#define WP6 R_(WP, 6)
#define WP7 R_(WP, 7)
#define WE0 R_(WE, 0)
#define WE1 R_(WE, 1)
#define WE2 R_(WE, 2)
#define WE3 R_(WE, 3)
#define WE4 R_(WE, 4)
#define WE5 R_(WE, 5)
#define WE6 R_(WE, 6)
#define WE7 R_(WE, 7)
#define WS0 R_(WS, 0)
#define WS1 R_(WS, 1)
#define WS2 R_(WS, 2)
#define WS3 R_(WS, 3)
#define WS4 R_(WS, 4)
#define WS5 R_(WS, 5)
#define WS6 R_(WS, 6)
#define WS7 R_(WS, 7)
#endif
#define WIN_GET(R, j, s32, s64)                                                                   \
    _mm512_mask_mov_ps(                                                                           \
        _mm512_mask_mov_ps(_mm512_permutex2var_ps(R##0, j, R##1), s32,                           \
                           _mm512_permutex2var_ps(R##2, j, R##3)),                               \
        s64,                                                                                      \
        _mm512_mask_mov_ps(_mm512_permutex2var_ps(R##4, j, R##5), s32,                           \
                           _mm512_permutex2var_ps(R##6, j, R##7)))

static inline void group16(uint8_t *out, int nvalid, int64_t jb, __m512i st, __m512i en,
                           __m512i fj, const float *pt, const float *eta, const float *sc,
                           const consts_t *c, int win)
{
    const float *gp = pt + jb, *ge = eta + jb, *gs = sc + jb;
#if WINDOW
    /* win: the group's jets fit 128 floats from jb (and the arrays have them): permutes */
    WIN_LOAD(WP, gp);
    WIN_LOAD(WE, ge);
    WIN_LOAD(WS, gs);
    const __m512i b32 = _mm512_set1_epi32(32), b64 = _mm512_set1_epi32(64);
#endif
    const __m512 NEG = _mm512_set1_ps(-INFINITY);
    const __m512 vC0 = _mm512_set1_ps(c->C0), vC1 = _mm512_set1_ps(c->C1);
    const __m512 vC2 = _mm512_set1_ps(c->C2), vC3 = _mm512_set1_ps(c->C3);
    const __m512 vC4 = _mm512_set1_ps(c->C4);
    const __m512i absm = _mm512_set1_epi32(0x7fffffff);
    const __m512i one = _mm512_set1_epi32(1);
    __m512i k0 = _mm512_setzero_si512(), k1 = k0, nq1 = k0, j = st;
    __m512 l0 = _mm512_setzero_ps(), l1 = l0, l2 = l0, l3 = l0;
    __m512 q00 = NEG, q01 = NEG, q10 = NEG, q11 = NEG;
    __m512d htlo = _mm512_setzero_pd(), hthi = htlo;
#if PIPE
    /* p of the next step read at the end of this one: the loop runs to the longest lane's
     * last jet above the floor (not one step past it) */
#define FETCH(R, j, arr)                                                                          \
    (win ? WIN_GET(R, j, _mm512_test_epi32_mask(j, b32), _mm512_test_epi32_mask(j, b64))          \
         : _mm512_mask_i32gather_ps(_mm512_setzero_ps(), _mm512_cmplt_epi32_mask(j, en), j, arr, \
                                    4))
    __m512 p = FETCH(WP, j, gp);
    __mmask16 alive = _mm512_mask_cmp_ps_mask(_mm512_cmplt_epi32_mask(j, en), p, vC4, _CMP_NLT_UQ);
#if TIMING_NO_STEPS
    alive = 0;
#endif
    while (alive) {
        __m512 e = FETCH(WE, j, ge), s = FETCH(WS, j, gs);
#else
    __mmask16 alive = _mm512_cmplt_epi32_mask(j, en);
#if TIMING_NO_STEPS /* timing probe only: the per-group work without the jet steps */
    alive = 0;
#endif
    while (alive) {
#if DEPMASK
        /* gather masks depend on the previous gather (alive): a serial chain per step */
        __m512 p = _mm512_mask_i32gather_ps(_mm512_setzero_ps(), alive, j, gp, 4);
        alive = _mm512_mask_cmp_ps_mask(alive, p, vC4, _CMP_NLT_UQ); /* not (p < C4) */
        __m512 e = _mm512_mask_i32gather_ps(_mm512_setzero_ps(), alive, j, ge, 4);
        __m512 s = _mm512_mask_i32gather_ps(_mm512_setzero_ps(), alive, j, gs, 4);
#else
        /* gather masks from j only (j < en): the gathers of successive steps are independent
         * (lanes past the pt floor still read their own event's jets, unused) */
        __m512 p, e, s;
#if WINDOW
        if (win) {
            __mmask16 s32 = _mm512_test_epi32_mask(j, b32), s64 = _mm512_test_epi32_mask(j, b64);
            p = WIN_GET(WP, j, s32, s64);
            e = WIN_GET(WE, j, s32, s64);
            s = WIN_GET(WS, j, s32, s64);
        } else
#endif
        {
        __mmask16 inb = _mm512_cmplt_epi32_mask(j, en);
        p = _mm512_mask_i32gather_ps(_mm512_setzero_ps(), inb, j, gp, 4);
#if TIMING_ONLY_1GATHER /* timing probe only: eta, score made up from p (wrong decisions) */
        e = _mm512_mul_ps(p, _mm512_set1_ps(0.01f));
        s = _mm512_mul_ps(p, _mm512_set1_ps(0.001f));
#else
        e = _mm512_mask_i32gather_ps(_mm512_setzero_ps(), inb, j, ge, 4);
        s = _mm512_mask_i32gather_ps(_mm512_setzero_ps(), inb, j, gs, 4);
#endif
        }
        alive = _mm512_mask_cmp_ps_mask(alive, p, vC4, _CMP_NLT_UQ); /* not (p < C4) */
#endif
#endif
        __m512 ae = _mm512_castsi512_ps(_mm512_and_si512(_mm512_castps_si512(e), absm));
        __mmask16 c0 = _mm512_mask_cmp_ps_mask(alive, ae, vC0, _CMP_LE_OQ);
        /* lb0[min(k0, 4)] = p: the first four selected pts */
        l0 = _mm512_mask_mov_ps(l0, _mm512_mask_cmpeq_epi32_mask(c0, k0, _mm512_setzero_si512()), p);
        l1 = _mm512_mask_mov_ps(l1, _mm512_mask_cmpeq_epi32_mask(c0, k0, one), p);
        l2 = _mm512_mask_mov_ps(l2, _mm512_mask_cmpeq_epi32_mask(c0, k0, _mm512_set1_epi32(2)), p);
        l3 = _mm512_mask_mov_ps(l3, _mm512_mask_cmpeq_epi32_mask(c0, k0, _mm512_set1_epi32(3)), p);
        k0 = _mm512_mask_add_epi32(k0, c0, k0, one);
        __mmask16 c1 = _mm512_mask_cmp_ps_mask(alive, ae, vC1, _CMP_LE_OQ);
        c1 = _mm512_mask_cmp_ps_mask(c1, p, vC2, _CMP_GE_OQ);
        k1 = _mm512_mask_add_epi32(k1, c1, k1, one);
        /* ht0 += pd * ONE[c0]: in jet order per lane, float64 */
        htlo = _mm512_mask_add_pd(htlo, (__mmask8)c0, htlo,
                                  _mm512_cvtps_pd(_mm512_castps512_ps256(p)));
        hthi = _mm512_mask_add_pd(hthi, (__mmask8)(c0 >> 8), hthi,
                                  _mm512_cvtps_pd(_mm512_extractf32x8_ps(p, 1)));
        /* v = min(max(NEG, s), CAP[c0]); the top-2 insert */
        __m512 v = _mm512_mask_max_ps(NEG, c0, s, NEG);
        __m512 w = _mm512_max_ps(v, q00);
        v = _mm512_min_ps(v, q00);
        q00 = w;
        q01 = _mm512_max_ps(v, q01);
        __mmask16 c2 = _mm512_mask_cmp_ps_mask(c0, p, vC3, _CMP_GE_OQ);
        nq1 = _mm512_mask_add_epi32(nq1, c2, nq1, one);
        v = _mm512_mask_max_ps(NEG, c2, s, NEG);
        w = _mm512_max_ps(v, q10);
        v = _mm512_min_ps(v, q10);
        q10 = w;
        q11 = _mm512_max_ps(v, q11);
        j = _mm512_add_epi32(j, one);
#if PIPE
        p = FETCH(WP, j, gp);
        alive = _mm512_mask_cmp_ps_mask(_mm512_mask_cmplt_epi32_mask(alive, j, en), p, vC4,
                                        _CMP_NLT_UQ);
#else
        alive = _mm512_mask_cmplt_epi32_mask(alive, j, en);
#endif
    }
    __mmask16 t[8];
    triggers16(t, c, k0, k1, nq1, l0, l1, l2, l3, htlo, hthi, q00, q01, q10, q11, fj);
    store16(out, t, nvalid);
}

/* 16 int64 values a[0..15] - b as int32 (masked: lanes >= n are 0) */
static inline __m512i rel16(const int64_t *a, int64_t b, int n)
{
    __mmask8 mlo = n >= 8 ? 0xff : (__mmask8)((1u << n) - 1);
    __mmask8 mhi = n >= 16 ? 0xff : (n <= 8 ? 0 : (__mmask8)((1u << (n - 8)) - 1));
    __m512i vb = _mm512_set1_epi64(b);
    __m256i lo = _mm512_cvtepi64_epi32(_mm512_maskz_sub_epi64(mlo, _mm512_maskz_loadu_epi64(mlo, a), vb));
    __m256i hi = _mm512_cvtepi64_epi32(
        _mm512_maskz_sub_epi64(mhi, _mm512_maskz_loadu_epi64(mhi, a + 8), vb));
    return _mm512_inserti64x4(_mm512_castsi256_si512(lo), hi, 1);
}

#ifndef FATVEC
#define FATVEC 0
#endif
/* the chunk's large-R prefix counts, 16 large-R jets at a time: lane i of a block gets
 * base + popcount(pass & ((2 << i) - 1)) */
static inline int64_t fat_prefix_vec(const int64_t *fo, const float *fpt, const float *feta,
                                     const float *fmsd, const float *fsc, int64_t e0, int64_t e1,
                                     const consts_t *c, int32_t *fn)
{
    int64_t fb = fo[e0], fe = fo[e1];
    const __m512i low = _mm512_setr_epi32(1, 3, 7, 15, 31, 63, 127, 255, 511, 1023, 2047, 4095,
                                          8191, 16383, 32767, 65535);
    const __m512i absm = _mm512_set1_epi32(0x7fffffff);
    int32_t base = 0;
    fn[0] = 0;
    for (int64_t f = fb; f < fe; f += 16) {
        __mmask16 in = fe - f >= 16 ? 0xffff : (__mmask16)((1u << (fe - f)) - 1);
        __m512 p = _mm512_maskz_loadu_ps(in, fpt + f);
        __m512 a = _mm512_castsi512_ps(
            _mm512_and_si512(_mm512_castps_si512(_mm512_maskz_loadu_ps(in, feta + f)), absm));
        __m512 m = _mm512_maskz_loadu_ps(in, fmsd + f);
        __m512 x = _mm512_maskz_loadu_ps(in, fsc + f);
        __mmask16 k = _mm512_mask_cmp_ps_mask(in, p, _mm512_set1_ps(c->C5), _CMP_GE_OQ);
        k = _mm512_mask_cmp_ps_mask(k, a, _mm512_set1_ps(c->C0), _CMP_LE_OQ);
        k = _mm512_mask_cmp_ps_mask(k, m, _mm512_set1_ps(c->C6), _CMP_GE_OQ);
        k = _mm512_mask_cmp_ps_mask(k, x, _mm512_set1_ps(c->C7), _CMP_GE_OQ);
        __m512i pc = _mm512_popcnt_epi32(_mm512_and_si512(_mm512_set1_epi32(k), low));
        _mm512_mask_storeu_epi32(fn + (f - fb) + 1, in, _mm512_add_epi32(pc, _mm512_set1_epi32(base)));
        base += __builtin_popcount(k);
    }
    return fb;
}

void hh4b_simd16(int64_t n, const int64_t *jo, const float *pt, const float *eta,
                 const float *sc, const int64_t *fo, const float *fpt, const float *feta,
                 const float *fmsd, const float *fsc, const float *cv, uint8_t *out,
                 int32_t *fn)
{
    consts_t c = load_consts(cv);
    const int64_t njets = jo[n];
    for (int64_t e0 = 0; e0 < n; e0 += CH) {
        int64_t e1 = e0 + CH < n ? e0 + CH : n;
#if FATVEC
        int64_t fb = fat_prefix_vec(fo, fpt, feta, fmsd, fsc, e0, e1, &c, fn);
#else
        int64_t fb = fat_prefix(fo, fpt, feta, fmsd, fsc, e0, e1, &c, fn);
#endif
        int nv;
        for (int64_t e = e0; e < e1; e += nv) {
            int lim = e1 - e >= 16 ? 16 : (int)(e1 - e);
            int64_t jb = jo[e];
            __m512i en = rel16(jo + e + 1, jb, lim);
            int win;
#if WINDOW == 2
            /* fit: the most events (<= 16) whose jets lie in the 128 floats from jb */
            __mmask16 fit = _mm512_mask_cmple_epi32_mask((__mmask16)((1u << lim) - 1), en,
                                                         _mm512_set1_epi32(128));
            nv = __builtin_popcount(fit);
            win = nv > 0 && jb + 128 <= njets;
            if (!win)
                nv = lim;
            else if (nv < lim)
                en = _mm512_maskz_mov_epi32(fit, en);
#else
            nv = lim;
            win = jo[e + nv] - jb <= 128 && jb + 128 <= njets;
#endif
#if PREFETCH > 0
            /* software prefetch PREFETCH x 128 jets ahead (8 lines of each jet array) */
            if (jb + 128 * (PREFETCH + 1) <= njets)
                for (int k = 0; k < 128; k += 16) {
                    _mm_prefetch((const char *)(pt + jb + 128 * PREFETCH + k), _MM_HINT_T0);
                    _mm_prefetch((const char *)(eta + jb + 128 * PREFETCH + k), _MM_HINT_T0);
                    _mm_prefetch((const char *)(sc + jb + 128 * PREFETCH + k), _MM_HINT_T0);
                }
#endif
            __m512i st = rel16(jo + e, jb, nv);
            /* large-R: fn[fo[e + 1] - fb] - fn[fo[e] - fb], one gather (f1 of lane i is f0 of
             * lane i + 1) */
            int nf = nv < 16 ? nv + 1 : 16;
            __m512i f0 = rel16(fo + e, fb, nf);
            __m512i g = _mm512_mask_i32gather_epi32(f0, (__mmask16)((1u << nf) - 1), f0, fn, 4);
            __m512i g1 = _mm512_alignr_epi32(_mm512_set1_epi32(fn[fo[e + nv] - fb]), g, 1);
            __m512i fj = _mm512_sub_epi32(g1, g);
            group16(out + e * 8, nv, jb, st, en, fj, pt, eta, sc, &c, win);
        }
    }
}

/* ---- 8 lanes: ymm f32, one zmm of f64 ---- */
static inline void group8(uint8_t *out, int nvalid, int64_t jb, __m256i st, __m256i en,
                          __m256i fj, const float *pt, const float *eta, const float *sc,
                          const consts_t *c)
{
    const float *gp = pt + jb, *ge = eta + jb, *gs = sc + jb;
    const __m256 NEG = _mm256_set1_ps(-INFINITY);
    const __m256 vC0 = _mm256_set1_ps(c->C0), vC1 = _mm256_set1_ps(c->C1);
    const __m256 vC2 = _mm256_set1_ps(c->C2), vC3 = _mm256_set1_ps(c->C3);
    const __m256 vC4 = _mm256_set1_ps(c->C4);
    const __m256i absm = _mm256_set1_epi32(0x7fffffff);
    const __m256i one = _mm256_set1_epi32(1);
    __m256i k0 = _mm256_setzero_si256(), k1 = k0, nq1 = k0, j = st;
    __m256 l0 = _mm256_setzero_ps(), l1 = l0, l2 = l0, l3 = l0;
    __m256 q00 = NEG, q01 = NEG, q10 = NEG, q11 = NEG;
    __m512d ht = _mm512_setzero_pd();
    __mmask8 alive = _mm256_cmplt_epi32_mask(j, en);
    while (alive) {
#if DEPMASK
        __m256 p = _mm256_mmask_i32gather_ps(_mm256_setzero_ps(), alive, j, gp, 4);
        alive = _mm256_mask_cmp_ps_mask(alive, p, vC4, _CMP_NLT_UQ);
        __m256 e = _mm256_mmask_i32gather_ps(_mm256_setzero_ps(), alive, j, ge, 4);
        __m256 s = _mm256_mmask_i32gather_ps(_mm256_setzero_ps(), alive, j, gs, 4);
#else
        __mmask8 inb = _mm256_cmplt_epi32_mask(j, en);
        __m256 p = _mm256_mmask_i32gather_ps(_mm256_setzero_ps(), inb, j, gp, 4);
        __m256 e = _mm256_mmask_i32gather_ps(_mm256_setzero_ps(), inb, j, ge, 4);
        __m256 s = _mm256_mmask_i32gather_ps(_mm256_setzero_ps(), inb, j, gs, 4);
        alive = _mm256_mask_cmp_ps_mask(alive, p, vC4, _CMP_NLT_UQ);
#endif
        __m256 ae = _mm256_castsi256_ps(_mm256_and_si256(_mm256_castps_si256(e), absm));
        __mmask8 c0 = _mm256_mask_cmp_ps_mask(alive, ae, vC0, _CMP_LE_OQ);
        l0 = _mm256_mask_mov_ps(l0, _mm256_mask_cmpeq_epi32_mask(c0, k0, _mm256_setzero_si256()), p);
        l1 = _mm256_mask_mov_ps(l1, _mm256_mask_cmpeq_epi32_mask(c0, k0, one), p);
        l2 = _mm256_mask_mov_ps(l2, _mm256_mask_cmpeq_epi32_mask(c0, k0, _mm256_set1_epi32(2)), p);
        l3 = _mm256_mask_mov_ps(l3, _mm256_mask_cmpeq_epi32_mask(c0, k0, _mm256_set1_epi32(3)), p);
        k0 = _mm256_mask_add_epi32(k0, c0, k0, one);
        __mmask8 c1 = _mm256_mask_cmp_ps_mask(alive, ae, vC1, _CMP_LE_OQ);
        c1 = _mm256_mask_cmp_ps_mask(c1, p, vC2, _CMP_GE_OQ);
        k1 = _mm256_mask_add_epi32(k1, c1, k1, one);
        ht = _mm512_mask_add_pd(ht, c0, ht, _mm512_cvtps_pd(p));
        __m256 v = _mm256_mask_max_ps(NEG, c0, s, NEG);
        __m256 w = _mm256_max_ps(v, q00);
        v = _mm256_min_ps(v, q00);
        q00 = w;
        q01 = _mm256_max_ps(v, q01);
        __mmask8 c2 = _mm256_mask_cmp_ps_mask(c0, p, vC3, _CMP_GE_OQ);
        nq1 = _mm256_mask_add_epi32(nq1, c2, nq1, one);
        v = _mm256_mask_max_ps(NEG, c2, s, NEG);
        w = _mm256_max_ps(v, q10);
        v = _mm256_min_ps(v, q10);
        q10 = w;
        q11 = _mm256_max_ps(v, q11);
        j = _mm256_add_epi32(j, one);
        alive = _mm256_mask_cmplt_epi32_mask(alive, j, en);
    }
    /* reuse the 16-lane triggers with the upper lanes zero (their masks are dropped) */
    __m512i z = _mm512_setzero_si512();
    __mmask16 t[8];
    triggers16(t, c, _mm512_inserti64x4(z, k0, 0), _mm512_inserti64x4(z, k1, 0),
               _mm512_inserti64x4(z, nq1, 0), _mm512_castps256_ps512(l0),
               _mm512_castps256_ps512(l1), _mm512_castps256_ps512(l2),
               _mm512_castps256_ps512(l3), ht, _mm512_setzero_pd(),
               _mm512_castps256_ps512(q00), _mm512_castps256_ps512(q01),
               _mm512_castps256_ps512(q10), _mm512_castps256_ps512(q11),
               _mm512_inserti64x4(z, fj, 0));
    store16(out, t, nvalid);
}

static inline __m256i rel8(const int64_t *a, int64_t b, int n)
{
    __mmask8 m = n >= 8 ? 0xff : (__mmask8)((1u << n) - 1);
    return _mm512_cvtepi64_epi32(
        _mm512_maskz_sub_epi64(m, _mm512_maskz_loadu_epi64(m, a), _mm512_set1_epi64(b)));
}

void hh4b_simd8(int64_t n, const int64_t *jo, const float *pt, const float *eta,
                const float *sc, const int64_t *fo, const float *fpt, const float *feta,
                const float *fmsd, const float *fsc, const float *cv, uint8_t *out,
                int32_t *fn)
{
    consts_t c = load_consts(cv);
    for (int64_t e0 = 0; e0 < n; e0 += CH) {
        int64_t e1 = e0 + CH < n ? e0 + CH : n;
        int64_t fb = fat_prefix(fo, fpt, feta, fmsd, fsc, e0, e1, &c, fn);
        for (int64_t e = e0; e < e1; e += 8) {
            int nv = e1 - e >= 8 ? 8 : (int)(e1 - e);
            int64_t jb = jo[e];
            __m256i st = rel8(jo + e, jb, nv), en = rel8(jo + e + 1, jb, nv);
            __m256i f0 = rel8(fo + e, fb, nv), f1 = rel8(fo + e + 1, fb, nv);
            __mmask8 mv = (__mmask8)((1u << nv) - 1);
            __m256i fj = _mm256_sub_epi32(_mm256_mmask_i32gather_epi32(f0, mv, f1, fn, 4),
                                          _mm256_mmask_i32gather_epi32(f0, mv, f0, fn, 4));
            group8(out + e * 8, nv, jb, st, en, fj, pt, eta, sc, &c);
        }
    }
}

/* ---- 8 lanes, window of 64 jets (ymm permutes of 4 x 16 floats), next pt pipelined ---- */
#define WIN8_GET(a, j, s16, s32)                                                                  \
    _mm256_mask_mov_ps(                                                                           \
        _mm256_mask_mov_ps(                                                                       \
            _mm256_permutex2var_ps(_mm256_loadu_ps(a), j, _mm256_loadu_ps(a + 8)), s16,          \
            _mm256_permutex2var_ps(_mm256_loadu_ps(a + 16), j, _mm256_loadu_ps(a + 24))),        \
        s32,                                                                                      \
        _mm256_mask_mov_ps(                                                                       \
            _mm256_permutex2var_ps(_mm256_loadu_ps(a + 32), j, _mm256_loadu_ps(a + 40)), s16,    \
            _mm256_permutex2var_ps(_mm256_loadu_ps(a + 48), j, _mm256_loadu_ps(a + 56))))

static inline void group8w(uint8_t *out, int nvalid, int64_t jb, __m256i st, __m256i en,
                           __m256i fj, const float *pt, const float *eta, const float *sc,
                           const consts_t *c, int win)
{
    const float *gp = pt + jb, *ge = eta + jb, *gs = sc + jb;
    const __m256 NEG = _mm256_set1_ps(-INFINITY);
    const __m256 vC0 = _mm256_set1_ps(c->C0), vC1 = _mm256_set1_ps(c->C1);
    const __m256 vC2 = _mm256_set1_ps(c->C2), vC3 = _mm256_set1_ps(c->C3);
    const __m256 vC4 = _mm256_set1_ps(c->C4);
    const __m256i absm = _mm256_set1_epi32(0x7fffffff);
    const __m256i one = _mm256_set1_epi32(1);
    const __m256i b16 = _mm256_set1_epi32(16), b32 = _mm256_set1_epi32(32);
    __m256i k0 = _mm256_setzero_si256(), k1 = k0, nq1 = k0, j = st;
    __m256 l0 = _mm256_setzero_ps(), l1 = l0, l2 = l0, l3 = l0;
    __m256 q00 = NEG, q01 = NEG, q10 = NEG, q11 = NEG;
    __m512d ht = _mm512_setzero_pd();
#define FETCH8(j, arr)                                                                            \
    (win ? WIN8_GET(arr, j, _mm256_test_epi32_mask(j, b16), _mm256_test_epi32_mask(j, b32))       \
         : _mm256_mmask_i32gather_ps(_mm256_setzero_ps(), _mm256_cmplt_epi32_mask(j, en), j, arr, \
                                     4))
    __m256 p = FETCH8(j, gp);
    __mmask8 alive = _mm256_mask_cmp_ps_mask(_mm256_cmplt_epi32_mask(j, en), p, vC4, _CMP_NLT_UQ);
    while (alive) {
        __m256 e = FETCH8(j, ge), s = FETCH8(j, gs);
        __m256 ae = _mm256_castsi256_ps(_mm256_and_si256(_mm256_castps_si256(e), absm));
        __mmask8 c0 = _mm256_mask_cmp_ps_mask(alive, ae, vC0, _CMP_LE_OQ);
        l0 = _mm256_mask_mov_ps(l0, _mm256_mask_cmpeq_epi32_mask(c0, k0, _mm256_setzero_si256()), p);
        l1 = _mm256_mask_mov_ps(l1, _mm256_mask_cmpeq_epi32_mask(c0, k0, one), p);
        l2 = _mm256_mask_mov_ps(l2, _mm256_mask_cmpeq_epi32_mask(c0, k0, _mm256_set1_epi32(2)), p);
        l3 = _mm256_mask_mov_ps(l3, _mm256_mask_cmpeq_epi32_mask(c0, k0, _mm256_set1_epi32(3)), p);
        k0 = _mm256_mask_add_epi32(k0, c0, k0, one);
        __mmask8 c1 = _mm256_mask_cmp_ps_mask(alive, ae, vC1, _CMP_LE_OQ);
        c1 = _mm256_mask_cmp_ps_mask(c1, p, vC2, _CMP_GE_OQ);
        k1 = _mm256_mask_add_epi32(k1, c1, k1, one);
        ht = _mm512_mask_add_pd(ht, c0, ht, _mm512_cvtps_pd(p));
        __m256 v = _mm256_mask_max_ps(NEG, c0, s, NEG);
        __m256 w = _mm256_max_ps(v, q00);
        v = _mm256_min_ps(v, q00);
        q00 = w;
        q01 = _mm256_max_ps(v, q01);
        __mmask8 c2 = _mm256_mask_cmp_ps_mask(c0, p, vC3, _CMP_GE_OQ);
        nq1 = _mm256_mask_add_epi32(nq1, c2, nq1, one);
        v = _mm256_mask_max_ps(NEG, c2, s, NEG);
        w = _mm256_max_ps(v, q10);
        v = _mm256_min_ps(v, q10);
        q10 = w;
        q11 = _mm256_max_ps(v, q11);
        j = _mm256_add_epi32(j, one);
        p = FETCH8(j, gp);
        alive = _mm256_mask_cmp_ps_mask(_mm256_mask_cmplt_epi32_mask(alive, j, en), p, vC4,
                                        _CMP_NLT_UQ);
    }
    __m512i z = _mm512_setzero_si512();
    __mmask16 t[8];
    triggers16(t, c, _mm512_inserti64x4(z, k0, 0), _mm512_inserti64x4(z, k1, 0),
               _mm512_inserti64x4(z, nq1, 0), _mm512_castps256_ps512(l0),
               _mm512_castps256_ps512(l1), _mm512_castps256_ps512(l2),
               _mm512_castps256_ps512(l3), ht, _mm512_setzero_pd(),
               _mm512_castps256_ps512(q00), _mm512_castps256_ps512(q01),
               _mm512_castps256_ps512(q10), _mm512_castps256_ps512(q11),
               _mm512_inserti64x4(z, fj, 0));
    store16(out, t, nvalid);
}

void hh4b_simd8w(int64_t n, const int64_t *jo, const float *pt, const float *eta,
                 const float *sc, const int64_t *fo, const float *fpt, const float *feta,
                 const float *fmsd, const float *fsc, const float *cv, uint8_t *out,
                 int32_t *fn)
{
    consts_t c = load_consts(cv);
    const int64_t njets = jo[n];
    for (int64_t e0 = 0; e0 < n; e0 += CH) {
        int64_t e1 = e0 + CH < n ? e0 + CH : n;
        int64_t fb = fat_prefix_vec(fo, fpt, feta, fmsd, fsc, e0, e1, &c, fn);
        int nv;
        for (int64_t e = e0; e < e1; e += nv) {
            int lim = e1 - e >= 8 ? 8 : (int)(e1 - e);
            int64_t jb = jo[e];
            __m256i en = rel8(jo + e + 1, jb, lim);
            __mmask8 fit = _mm256_mask_cmple_epi32_mask((__mmask8)((1u << lim) - 1), en,
                                                        _mm256_set1_epi32(64));
            nv = __builtin_popcount(fit);
            int win = nv > 0 && jb + 64 <= njets;
            if (!win)
                nv = lim;
            else if (nv < lim)
                en = _mm256_maskz_mov_epi32(fit, en);
            __m256i st = rel8(jo + e, jb, nv);
            int nf = nv < 8 ? nv + 1 : 8;
            __m256i f0 = rel8(fo + e, fb, nf);
            __m256i g = _mm256_mmask_i32gather_epi32(f0, (__mmask8)((1u << nf) - 1), f0, fn, 4);
            __m256i g1 = _mm256_alignr_epi32(_mm256_set1_epi32(fn[fo[e + nv] - fb]), g, 1);
            group8w(out + e * 8, nv, jb, st, en, _mm256_sub_epi32(g1, g), pt, eta, sc, &c, win);
        }
    }
}

/* ---- 16 lanes over events sorted by their number of steps (gathers) ----
 * Per chunk: a bitmap of the chunk's jets with !(p < C4); per event na = the run of set bits
 * from its first jet (the jets the numba loop reads before its break, capped at its jet
 * count); a counting sort of the chunk's events by na; groups of 16 consecutive sorted
 * events, each run for exactly max(na) steps (no floor test in the loop, no data-dependent
 * exit), the jets gathered (indices relative to the chunk's first jet: int32 whatever the
 * array size, for a chunk of < 2^31 jets); decision rows copied to each event's own row. */
static inline int64_t lead_run(const uint64_t *bm, int64_t b, int64_t len)
{
    int64_t r = 0;
    while (r < len) {
        int64_t i = (b + r) >> 6, sh = (b + r) & 63;
        uint64_t w = bm[i] >> sh;
        if (sh)
            w |= bm[i + 1] << (64 - sh);
        int64_t t = (int64_t)__builtin_ctzll(~w | (w == ~0ULL ? 0 : 0)) + 0;
        if (w == ~0ULL)
            t = 64;
        r += t;
        if (t < 64)
            break;
    }
    return r < len ? r : len;
}

#define NKEY 17 /* counting-sort keys: na = 0..15, 16 = 16 or more */
void hh4b_simd16_sorted(int64_t n, const int64_t *jo, const float *pt, const float *eta,
                        const float *sc, const int64_t *fo, const float *fpt, const float *feta,
                        const float *fmsd, const float *fsc, const float *cv, uint8_t *out,
                        int32_t *fn)
{
    consts_t c = load_consts(cv);
    int64_t maxj = 0;
    for (int64_t e0 = 0; e0 < n; e0 += CH) {
        int64_t e1 = e0 + CH < n ? e0 + CH : n;
        if (jo[e1] - jo[e0] > maxj)
            maxj = jo[e1] - jo[e0];
    }
    uint64_t *bm = aligned_alloc(64, ((maxj + 16) / 64 + 2) * 8 + 64);
    int32_t *sst = malloc(CH * 4), *sna = malloc((CH + 16) * 4), *sfj = malloc(CH * 4);
    int32_t *sid = malloc(CH * 4), *key = malloc(CH * 4);
    const __m512 vC4 = _mm512_set1_ps(c.C4);
    for (int64_t e0 = 0; e0 < n; e0 += CH) {
        int64_t e1 = e0 + CH < n ? e0 + CH : n, ne = e1 - e0;
        int64_t fb = fat_prefix_vec(fo, fpt, feta, fmsd, fsc, e0, e1, &c, fn);
        int64_t cb = jo[e0], cj = jo[e1] - cb;
        uint16_t *bm16 = (uint16_t *)bm;
        for (int64_t k = 0; k < cj; k += 16) {
            __mmask16 in = cj - k >= 16 ? 0xffff : (__mmask16)((1u << (cj - k)) - 1);
            bm16[k >> 4] = _mm512_mask_cmp_ps_mask(in, _mm512_maskz_loadu_ps(in, pt + cb + k),
                                                   vC4, _CMP_NLT_UQ);
        }
        bm16[(cj >> 4) + 1] = 0;
        bm16[(cj >> 4) + 2] = 0;
        bm16[(cj >> 4) + 3] = 0;
        bm16[(cj >> 4) + 4] = 0;
        int32_t hist[NKEY + 1] = {0};
        for (int64_t i = 0; i < ne; i++) {
            int64_t e = e0 + i;
            int64_t a = lead_run(bm, jo[e] - cb, jo[e + 1] - jo[e]);
            key[i] = (int32_t)a;
            hist[a < NKEY - 1 ? a : NKEY - 1]++;
        }
        int32_t pos[NKEY], acc = 0;
        for (int k = 0; k < NKEY; k++) {
            pos[k] = acc;
            acc += hist[k];
        }
        for (int64_t i = 0; i < ne; i++) {
            int64_t e = e0 + i;
            int32_t a = key[i], q = pos[a < NKEY - 1 ? a : NKEY - 1]++;
            sid[q] = (int32_t)i;
            sst[q] = (int32_t)(jo[e] - cb);
            sna[q] = a;
            sfj[q] = fn[fo[e + 1] - fb] - fn[fo[e] - fb];
        }
        for (int64_t q0 = 0; q0 < ne; q0 += 16) {
            int nv = ne - q0 >= 16 ? 16 : (int)(ne - q0);
            __mmask16 mv = (__mmask16)((1u << nv) - 1);
            __m512i st = _mm512_maskz_loadu_epi32(mv, sst + q0);
            __m512i na = _mm512_maskz_loadu_epi32(mv, sna + q0);
            __m512i fj = _mm512_maskz_loadu_epi32(mv, sfj + q0);
            int steps = _mm512_reduce_max_epi32(na);
#if TIMING_NO_STEPS /* timing probe only: the sort and per-group work, no jet steps */
            steps = 0;
#endif
            const float *gp = pt + cb, *ge = eta + cb, *gs = sc + cb;
            const __m512 NEG = _mm512_set1_ps(-INFINITY);
            const __m512 vC0 = _mm512_set1_ps(c.C0), vC1 = _mm512_set1_ps(c.C1);
            const __m512 vC2 = _mm512_set1_ps(c.C2), vC3 = _mm512_set1_ps(c.C3);
            const __m512i absm = _mm512_set1_epi32(0x7fffffff);
            const __m512i one = _mm512_set1_epi32(1);
            __m512i k0 = _mm512_setzero_si512(), k1 = k0, nq1 = k0, j = st;
            __m512 l0 = _mm512_setzero_ps(), l1 = l0, l2 = l0, l3 = l0;
            __m512 q00 = NEG, q01 = NEG, q10 = NEG, q11 = NEG;
            __m512d htlo = _mm512_setzero_pd(), hthi = htlo;
            __m512i sv = _mm512_setzero_si512();
            for (int step = 0; step < steps; step++) {
                __mmask16 alive = _mm512_cmplt_epi32_mask(sv, na);
                __m512 p = _mm512_mask_i32gather_ps(_mm512_setzero_ps(), alive, j, gp, 4);
                __m512 e = _mm512_mask_i32gather_ps(_mm512_setzero_ps(), alive, j, ge, 4);
                __m512 s = _mm512_mask_i32gather_ps(_mm512_setzero_ps(), alive, j, gs, 4);
                __m512 ae = _mm512_castsi512_ps(_mm512_and_si512(_mm512_castps_si512(e), absm));
                __mmask16 c0 = _mm512_mask_cmp_ps_mask(alive, ae, vC0, _CMP_LE_OQ);
                l0 = _mm512_mask_mov_ps(l0, _mm512_mask_cmpeq_epi32_mask(c0, k0, _mm512_setzero_si512()), p);
                l1 = _mm512_mask_mov_ps(l1, _mm512_mask_cmpeq_epi32_mask(c0, k0, one), p);
                l2 = _mm512_mask_mov_ps(l2, _mm512_mask_cmpeq_epi32_mask(c0, k0, _mm512_set1_epi32(2)), p);
                l3 = _mm512_mask_mov_ps(l3, _mm512_mask_cmpeq_epi32_mask(c0, k0, _mm512_set1_epi32(3)), p);
                k0 = _mm512_mask_add_epi32(k0, c0, k0, one);
                __mmask16 c1 = _mm512_mask_cmp_ps_mask(alive, ae, vC1, _CMP_LE_OQ);
                c1 = _mm512_mask_cmp_ps_mask(c1, p, vC2, _CMP_GE_OQ);
                k1 = _mm512_mask_add_epi32(k1, c1, k1, one);
                htlo = _mm512_mask_add_pd(htlo, (__mmask8)c0, htlo,
                                          _mm512_cvtps_pd(_mm512_castps512_ps256(p)));
                hthi = _mm512_mask_add_pd(hthi, (__mmask8)(c0 >> 8), hthi,
                                          _mm512_cvtps_pd(_mm512_extractf32x8_ps(p, 1)));
                __m512 v = _mm512_mask_max_ps(NEG, c0, s, NEG);
                __m512 w = _mm512_max_ps(v, q00);
                v = _mm512_min_ps(v, q00);
                q00 = w;
                q01 = _mm512_max_ps(v, q01);
                __mmask16 c2 = _mm512_mask_cmp_ps_mask(c0, p, vC3, _CMP_GE_OQ);
                nq1 = _mm512_mask_add_epi32(nq1, c2, nq1, one);
                v = _mm512_mask_max_ps(NEG, c2, s, NEG);
                w = _mm512_max_ps(v, q10);
                v = _mm512_min_ps(v, q10);
                q10 = w;
                q11 = _mm512_max_ps(v, q11);
                j = _mm512_add_epi32(j, one);
                sv = _mm512_add_epi32(sv, one);
            }
            __mmask16 t[8];
            triggers16(t, &c, k0, k1, nq1, l0, l1, l2, l3, htlo, hthi, q00, q01, q10, q11, fj);
            uint64_t rows[16];
            store16((uint8_t *)rows, t, 16);
            for (int l = 0; l < nv; l++)
                memcpy(out + (e0 + sid[q0 + l]) * 8, rows + l, 8);
        }
    }
    free(bm);
    free(sst);
    free(sna);
    free(sfj);
    free(sid);
    free(key);
}

/* ---- stage-2 comparison: the HT and selected-jet count only (numba_simd.py) ----
 * out[e] = (ht >= 280) | (k0 >= 4) << 1, the same window-fit groups and pipelined pt as
 * hh4b_simd16 (WINDOW=2, PIPE=1), scalar one event at a time where the window does not fit. */
#define WIN_MEM_GET(a, j, s32, s64)                                                               \
    _mm512_mask_mov_ps(                                                                           \
        _mm512_mask_mov_ps(                                                                       \
            _mm512_permutex2var_ps(_mm512_loadu_ps(a), j, _mm512_loadu_ps(a + 16)), s32,         \
            _mm512_permutex2var_ps(_mm512_loadu_ps(a + 32), j, _mm512_loadu_ps(a + 48))),        \
        s64,                                                                                      \
        _mm512_mask_mov_ps(                                                                       \
            _mm512_permutex2var_ps(_mm512_loadu_ps(a + 64), j, _mm512_loadu_ps(a + 80)), s32,    \
            _mm512_permutex2var_ps(_mm512_loadu_ps(a + 96), j, _mm512_loadu_ps(a + 112))))

void ht_k0_16(int64_t n, const int64_t *jo, const float *pt, const float *eta, float c0f,
              float c4f, uint8_t *out)
{
    const int64_t njets = jo[n];
    const __m512 vC0 = _mm512_set1_ps(c0f), vC4 = _mm512_set1_ps(c4f);
    const __m512i one = _mm512_set1_epi32(1), b32 = _mm512_set1_epi32(32);
    const __m512i b64 = _mm512_set1_epi32(64), absm = _mm512_set1_epi32(0x7fffffff);
    int nv;
    for (int64_t e = 0; e < n; e += nv) {
        int lim = n - e >= 16 ? 16 : (int)(n - e);
        int64_t jb = jo[e];
        __m512i en = rel16(jo + e + 1, jb, lim);
        __mmask16 fit = _mm512_mask_cmple_epi32_mask((__mmask16)((1u << lim) - 1), en,
                                                     _mm512_set1_epi32(128));
        nv = 0;
        while (nv < lim && ((fit >> nv) & 1))
            nv++;
        if (nv == 0 || jb + 128 > njets) {
            double ht = 0.0;
            int k0 = 0;
            for (int64_t j = jo[e]; j < jo[e + 1]; j++) {
                float p = pt[j];
                if (p < c4f)
                    break;
                int s = fabsf(eta[j]) <= c0f;
                k0 += s;
                ht += (double)p * (s ? 1.0 : 0.0);
            }
            out[e] = (ht >= 280.0) | ((k0 >= 4) << 1);
            nv = 1;
            continue;
        }
        __m512i st = rel16(jo + e, jb, nv);
        en = rel16(jo + e + 1, jb, nv);
        const float *gp = pt + jb, *ge = eta + jb;
        __m512i j = st, k0 = _mm512_setzero_si512();
        __m512d htlo = _mm512_setzero_pd(), hthi = htlo;
        __m512 p = WIN_MEM_GET(gp, j, _mm512_test_epi32_mask(j, b32), _mm512_test_epi32_mask(j, b64));
        __mmask16 alive = _mm512_mask_cmp_ps_mask(_mm512_cmplt_epi32_mask(j, en), p, vC4, _CMP_NLT_UQ);
        while (alive) {
            __m512 e_ = WIN_MEM_GET(ge, j, _mm512_test_epi32_mask(j, b32), _mm512_test_epi32_mask(j, b64));
            __m512 ae = _mm512_castsi512_ps(_mm512_and_si512(_mm512_castps_si512(e_), absm));
            __mmask16 c = _mm512_mask_cmp_ps_mask(alive, ae, vC0, _CMP_LE_OQ);
            k0 = _mm512_mask_add_epi32(k0, c, k0, one);
            htlo = _mm512_mask_add_pd(htlo, (__mmask8)c, htlo, _mm512_cvtps_pd(_mm512_castps512_ps256(p)));
            hthi = _mm512_mask_add_pd(hthi, (__mmask8)(c >> 8), hthi,
                                      _mm512_cvtps_pd(_mm512_extractf32x8_ps(p, 1)));
            j = _mm512_add_epi32(j, one);
            p = WIN_MEM_GET(gp, j, _mm512_test_epi32_mask(j, b32), _mm512_test_epi32_mask(j, b64));
            alive = _mm512_mask_cmp_ps_mask(_mm512_mask_cmplt_epi32_mask(alive, j, en), p, vC4,
                                            _CMP_NLT_UQ);
        }
        unsigned h = _mm512_cmp_pd_mask(htlo, _mm512_set1_pd(280.0), _CMP_GE_OQ) |
                     (_mm512_cmp_pd_mask(hthi, _mm512_set1_pd(280.0), _CMP_GE_OQ) << 8);
        unsigned kk = _mm512_cmpge_epi32_mask(k0, _mm512_set1_epi32(4));
        for (int l = 0; l < nv; l++)
            out[e + l] = ((h >> l) & 1) | (((kk >> l) & 1) << 1);
    }
}
