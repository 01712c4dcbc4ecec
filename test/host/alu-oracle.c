/* The host CPU as an oracle for the model's pure arithmetic
 * (model/cpu/arith). Reads lines "op size a b c flags" (hex numbers) on
 * stdin and, for each, runs the real instruction with EFLAGS set from
 * `flags`, then prints "result result2 flags fault" in hex. fault is 0, or 1
 * when the instruction raised #DE (SIGFPE).
 * Built with: gcc -O1 -o alu-oracle alu-oracle.c — a 64-bit process: the
 * kernels we run on may lack 32-bit (IA-32 emulation) support, and every
 * instruction here behaves in 64-bit mode with 8/16/32-bit operands exactly
 * as in 32-bit protected mode (same result, same flags). The decimal
 * adjustments (DAA, DAS, AAA, AAS, AAM, AAD) do not exist in 64-bit mode, so
 * they are not here; their tests are worked by hand from the manual.
 * Operands: binary ops a op b; shifts a by count b; shld/shrd dest a, src b,
 * count c; mul/imul1 a*b (result2 = high half); imul2 a*b; div/idiv
 * dividend c:a by b (result2 = remainder); bt* a bit b; bsf/bsr dest a, src b; bswap a; setcc condition b. */
#include <setjmp.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

typedef uint32_t u32;
typedef uint16_t u16;
typedef uint8_t u8;
typedef uint64_t u64;

static sigjmp_buf divide_error;
static void on_sigfpe(int sig) { (void)sig; siglongjmp(divide_error, 1); }

/* Only the six status flags come from the input; DF, TF, IF stay as the ABI wants. */
#define FLAGS_IN(f) (((f) & 0x8d5u) | 0x202u)

#define SET_FLAGS "push %[fin]\n\tpopf\n\t"
#define GET_FLAGS "\n\tpushf\n\tpop %[fout]"

/* dest := dest OP src, for one operand width T and suffix S. */
#define BINARY(T, S, INSN) do { T x = (T)a, y = (T)b; \
  __asm__ volatile(SET_FLAGS INSN S " %[y], %[x]" GET_FLAGS \
    : [x] "+q"(x), [fout] "=&r"(fo) : [y] "q"(y), [fin] "r"(fi) : "cc"); r = x; } while (0)
#define UNARY(T, S, INSN) do { T x = (T)a; \
  __asm__ volatile(SET_FLAGS INSN S " %[x]" GET_FLAGS : [x] "+q"(x), [fout] "=&r"(fo) : [fin] "r"(fi) : "cc"); r = x; } while (0)
#define SHIFT(T, S, INSN) do { T x = (T)a; u8 n = (u8)b; \
  __asm__ volatile(SET_FLAGS INSN S " %%cl, %[x]" GET_FLAGS : [x] "+q"(x), [fout] "=&r"(fo) : "c"(n), [fin] "r"(fi) : "cc"); r = x; } while (0)
#define DOUBLE_SHIFT(T, S, INSN) do { T x = (T)a, y = (T)b; u8 n = (u8)c; \
  __asm__ volatile(SET_FLAGS INSN S " %%cl, %[y], %[x]" GET_FLAGS : [x] "+r"(x), [fout] "=&r"(fo) : [y] "r"(y), "c"(n), [fin] "r"(fi) : "cc"); r = x; } while (0)
#define TWO_OPERAND(T, S, INSN) do { T x = (T)a, y = (T)b; \
  __asm__ volatile(SET_FLAGS INSN S " %[y], %[x]" GET_FLAGS : [x] "+r"(x), [fout] "=&r"(fo) : [y] "r"(y), [fin] "r"(fi) : "cc"); r = x; } while (0)

/* Width dispatch for the macros above (8-bit forms only where they exist). */
#define BY_SIZE(M, INSN) switch (size) { case 8: M(u8, "b", INSN); break; case 16: M(u16, "w", INSN); break; default: M(u32, "l", INSN); }
#define BY_SIZE_16_32(M, INSN) switch (size) { case 16: M(u16, "w", INSN); break; default: M(u32, "l", INSN); }

static int run(const char *op, int size, u32 a, u32 b, u32 c, u32 fin, u32 *out_r, u32 *out_r2, u32 *out_f) {
  u32 r = 0, r2 = 0;
  u64 fo = 0, fi = FLAGS_IN(fin);
  if (!strcmp(op, "add")) BY_SIZE(BINARY, "add")
  else if (!strcmp(op, "adc")) BY_SIZE(BINARY, "adc")
  else if (!strcmp(op, "sub")) BY_SIZE(BINARY, "sub")
  else if (!strcmp(op, "sbb")) BY_SIZE(BINARY, "sbb")
  else if (!strcmp(op, "cmp")) BY_SIZE(BINARY, "cmp")
  else if (!strcmp(op, "and")) BY_SIZE(BINARY, "and")
  else if (!strcmp(op, "or")) BY_SIZE(BINARY, "or")
  else if (!strcmp(op, "xor")) BY_SIZE(BINARY, "xor")
  else if (!strcmp(op, "test")) BY_SIZE(BINARY, "test")
  else if (!strcmp(op, "inc")) BY_SIZE(UNARY, "inc")
  else if (!strcmp(op, "dec")) BY_SIZE(UNARY, "dec")
  else if (!strcmp(op, "neg")) BY_SIZE(UNARY, "neg")
  else if (!strcmp(op, "not")) BY_SIZE(UNARY, "not")
  else if (!strcmp(op, "rol")) BY_SIZE(SHIFT, "rol")
  else if (!strcmp(op, "ror")) BY_SIZE(SHIFT, "ror")
  else if (!strcmp(op, "rcl")) BY_SIZE(SHIFT, "rcl")
  else if (!strcmp(op, "rcr")) BY_SIZE(SHIFT, "rcr")
  else if (!strcmp(op, "shl")) BY_SIZE(SHIFT, "shl")
  else if (!strcmp(op, "shr")) BY_SIZE(SHIFT, "shr")
  else if (!strcmp(op, "sar")) BY_SIZE(SHIFT, "sar")
  else if (!strcmp(op, "shld")) BY_SIZE_16_32(DOUBLE_SHIFT, "shld")
  else if (!strcmp(op, "shrd")) BY_SIZE_16_32(DOUBLE_SHIFT, "shrd")
  else if (!strcmp(op, "imul2")) BY_SIZE_16_32(TWO_OPERAND, "imul")
  else if (!strcmp(op, "bt")) BY_SIZE_16_32(TWO_OPERAND, "bt")
  else if (!strcmp(op, "bts")) BY_SIZE_16_32(TWO_OPERAND, "bts")
  else if (!strcmp(op, "btr")) BY_SIZE_16_32(TWO_OPERAND, "btr")
  else if (!strcmp(op, "btc")) BY_SIZE_16_32(TWO_OPERAND, "btc")
  else if (!strcmp(op, "bsf")) BY_SIZE_16_32(TWO_OPERAND, "bsf")
  else if (!strcmp(op, "bsr")) BY_SIZE_16_32(TWO_OPERAND, "bsr")
  else if (!strcmp(op, "bswap")) {
    if (size == 16) { u32 x = a; __asm__ volatile(SET_FLAGS ".byte 0x66, 0x0f, 0xc8" GET_FLAGS : "+a"(x), [fout] "=&r"(fo) : [fin] "r"(fi) : "cc"); r = x & 0xffff; }
    else { u32 x = a; __asm__ volatile(SET_FLAGS "bswap %[x]" GET_FLAGS : [x] "+r"(x), [fout] "=&r"(fo) : [fin] "r"(fi) : "cc"); r = x; }
  }
  else if (!strcmp(op, "mul") || !strcmp(op, "imul1")) {
    int s = op[0] == 'i';
    if (size == 8) { u16 ax = (u8)a; u8 y = b;
      if (s) __asm__ volatile(SET_FLAGS "imulb %[y]" GET_FLAGS : "+a"(ax), [fout] "=&r"(fo) : [y] "q"(y), [fin] "r"(fi) : "cc");
      else __asm__ volatile(SET_FLAGS "mulb %[y]" GET_FLAGS : "+a"(ax), [fout] "=&r"(fo) : [y] "q"(y), [fin] "r"(fi) : "cc");
      r = ax & 0xff; r2 = ax >> 8; }
    else if (size == 16) { u16 ax = a, dx = 0, y = b;
      if (s) __asm__ volatile(SET_FLAGS "imulw %[y]" GET_FLAGS : "+a"(ax), "+d"(dx), [fout] "=&r"(fo) : [y] "r"(y), [fin] "r"(fi) : "cc");
      else __asm__ volatile(SET_FLAGS "mulw %[y]" GET_FLAGS : "+a"(ax), "+d"(dx), [fout] "=&r"(fo) : [y] "r"(y), [fin] "r"(fi) : "cc");
      r = ax; r2 = dx; }
    else { u32 ax = a, dx = 0, y = b;
      if (s) __asm__ volatile(SET_FLAGS "imull %[y]" GET_FLAGS : "+a"(ax), "+d"(dx), [fout] "=&r"(fo) : [y] "r"(y), [fin] "r"(fi) : "cc");
      else __asm__ volatile(SET_FLAGS "mull %[y]" GET_FLAGS : "+a"(ax), "+d"(dx), [fout] "=&r"(fo) : [y] "r"(y), [fin] "r"(fi) : "cc");
      r = ax; r2 = dx; }
  }
  else if (!strcmp(op, "div") || !strcmp(op, "idiv")) {
    int s = op[0] == 'i';
    if (sigsetjmp(divide_error, 1)) return 1;
    if (size == 8) { u16 ax = (u16)(((c & 0xff) << 8) | (a & 0xff)); u8 y = b;
      if (s) __asm__ volatile(SET_FLAGS "idivb %[y]" GET_FLAGS : "+a"(ax), [fout] "=&r"(fo) : [y] "q"(y), [fin] "r"(fi) : "cc");
      else __asm__ volatile(SET_FLAGS "divb %[y]" GET_FLAGS : "+a"(ax), [fout] "=&r"(fo) : [y] "q"(y), [fin] "r"(fi) : "cc");
      r = ax & 0xff; r2 = ax >> 8; }
    else if (size == 16) { u16 ax = a, dx = c, y = b;
      if (s) __asm__ volatile(SET_FLAGS "idivw %[y]" GET_FLAGS : "+a"(ax), "+d"(dx), [fout] "=&r"(fo) : [y] "r"(y), [fin] "r"(fi) : "cc");
      else __asm__ volatile(SET_FLAGS "divw %[y]" GET_FLAGS : "+a"(ax), "+d"(dx), [fout] "=&r"(fo) : [y] "r"(y), [fin] "r"(fi) : "cc");
      r = ax; r2 = dx; }
    else { u32 ax = a, dx = c, y = b;
      if (s) __asm__ volatile(SET_FLAGS "idivl %[y]" GET_FLAGS : "+a"(ax), "+d"(dx), [fout] "=&r"(fo) : [y] "r"(y), [fin] "r"(fi) : "cc");
      else __asm__ volatile(SET_FLAGS "divl %[y]" GET_FLAGS : "+a"(ax), "+d"(dx), [fout] "=&r"(fo) : [y] "r"(y), [fin] "r"(fi) : "cc");
      r = ax; r2 = dx; }
  }
  else if (!strcmp(op, "setcc")) {
    u8 x = 0;
#define SETCC(N, INSN) case N: __asm__ volatile(SET_FLAGS INSN " %[x]" : [x] "=q"(x) : [fin] "r"(fi) : "cc"); break;
    switch (b & 15) { SETCC(0, "seto") SETCC(1, "setno") SETCC(2, "setb") SETCC(3, "setae") SETCC(4, "sete") SETCC(5, "setne")
      SETCC(6, "setbe") SETCC(7, "seta") SETCC(8, "sets") SETCC(9, "setns") SETCC(10, "setp") SETCC(11, "setnp")
      SETCC(12, "setl") SETCC(13, "setge") SETCC(14, "setle") SETCC(15, "setg") }
    r = x; fo = fi;
  }
  else { fprintf(stderr, "alu-oracle: unknown operation '%s' (size %d, b %x)\n", op, size, b); return -1; }
  *out_r = r; *out_r2 = r2; *out_f = (u32)fo;
  return 0;
}

int main(void) {
  struct sigaction sa;
  memset(&sa, 0, sizeof sa);
  sa.sa_handler = on_sigfpe;
  sa.sa_flags = SA_NODEFER;
  sigaction(SIGFPE, &sa, 0);
  char op[16];
  int size;
  u32 a, b, c, f;
  while (scanf("%15s %d %x %x %x %x", op, &size, &a, &b, &c, &f) == 6) {
    u32 r = 0, r2 = 0, fo = 0;
    int fault = run(op, size, a, b, c, f, &r, &r2, &fo);
    if (fault < 0) return 2;
    printf("%x %x %x %d\n", r, r2, fo, fault);
  }
  return 0;
}
