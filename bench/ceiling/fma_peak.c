// The machine's float32 FMA peak: 12 independent AVX-512 FMA chains per thread, one thread per core.
#include <immintrin.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <time.h>

#define ITERS 200000000L

static double now(void) {
  struct timespec t;
  clock_gettime(CLOCK_MONOTONIC, &t);
  return t.tv_sec + t.tv_nsec * 1e-9;
}

static void *work(void *out) {
  __m512 acc[12];
  const __m512 b = _mm512_set1_ps(1.0000001f), c = _mm512_set1_ps(0.999999f);
  for (int i = 0; i < 12; i++) acc[i] = _mm512_set1_ps((float)i);
  for (long i = 0; i < ITERS; i++) {
#pragma GCC unroll 12
    for (int j = 0; j < 12; j++) acc[j] = _mm512_fmadd_ps(acc[j], b, c);
  }
  float s = 0;
  for (int i = 0; i < 12; i++) s += _mm512_reduce_add_ps(acc[i]);
  *(float *)out = s;  // keeps the loop alive
  return NULL;
}

int main(int argc, char **argv) {
  int threads = argc > 1 ? atoi(argv[1]) : 2;
  pthread_t th[64];
  float sink[64];
  double t0 = now();
  for (int i = 0; i < threads; i++) pthread_create(&th[i], NULL, work, &sink[i]);
  for (int i = 0; i < threads; i++) pthread_join(th[i], NULL);
  double flops = (double)threads * ITERS * 12 * 16 * 2;
  printf("{\"kernel\":\"fma-peak\",\"threads\":%d,\"gflops\":%.1f}\n", threads, flops / (now() - t0) / 1e9);
  return 0;
}
