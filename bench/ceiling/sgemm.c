// float32 GEMM speed of oneDNN and OpenBLAS (the libraries Debian's PyTorch ships with) on the BERT-base
// layer's matmul shapes, row-major C[M,N] = A[M,K] B[K,N]; best and median of 20 runs after 3 warm-ups.
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <time.h>

int dnnl_sgemm(char ta, char tb, int64_t M, int64_t N, int64_t K, float alpha, const float *A, int64_t lda,
               const float *B, int64_t ldb, float beta, float *C, int64_t ldc);
void cblas_sgemm(int order, int ta, int tb, int M, int N, int K, float alpha, const float *A, int lda,
                 const float *B, int ldb, float beta, float *C, int ldc);

static double now(void) {
  struct timespec t;
  clock_gettime(CLOCK_MONOTONIC, &t);
  return t.tv_sec + t.tv_nsec * 1e-9;
}
static int cmp(const void *a, const void *b) { return *(const double *)a < *(const double *)b ? -1 : 1; }

int main(int argc, char **argv) {
  if (argc < 4) return fprintf(stderr, "usage: sgemm M K N\n"), 2;
  const int M = atoi(argv[1]), K = atoi(argv[2]), N = atoi(argv[3]), R = 20;
  float *A = aligned_alloc(64, 4L * M * K), *B = aligned_alloc(64, 4L * K * N), *C = aligned_alloc(64, 4L * M * N);
  for (long i = 0; i < (long)M * K; i++) A[i] = rand() / (float)RAND_MAX - 0.5f;
  for (long i = 0; i < (long)K * N; i++) B[i] = rand() / (float)RAND_MAX - 0.5f;
  const char *names[2] = {"onednn", "openblas"};
  for (int lib = 0; lib < 2; lib++) {
    double t[23];
    for (int r = 0; r < R + 3; r++) {
      double t0 = now();
      if (lib == 0) dnnl_sgemm('N', 'N', M, N, K, 1.f, A, K, B, N, 0.f, C, N);
      else cblas_sgemm(101, 111, 111, M, N, K, 1.f, A, K, B, N, 0.f, C, N);
      t[r] = now() - t0;
    }
    qsort(t + 3, R, sizeof(double), cmp);
    const double f = 2.0 * M * K * N / 1e9;
    printf("{\"kernel\":\"%s\",\"shape\":\"%dx%dx%d\",\"best_gflops\":%.1f,\"median_gflops\":%.1f}\n", names[lib], M, K,
           N, f / t[3], f / t[3 + R / 2]);
  }
  return 0;
}
