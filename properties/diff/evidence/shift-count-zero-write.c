// Evidence for spec rule PAGE.RMW.2 (formerly the known discrepancy 'shift-by-zero-skips-memory'):
// a shift of a memory operand by a count of 0 is still a write access on the
// host CPU: on a read-only page it faults. Build: gcc -O1 shift-count-zero-write.c;
// prints "faults (write access)" for every line (AMD EPYC, 64-bit mode).
#define _GNU_SOURCE
#include <signal.h>
#include <stdio.h>
#include <setjmp.h>
#include <sys/mman.h>
static sigjmp_buf back;
static void handler(int sig) { siglongjmp(back, 1); }
int main(void) {
  signal(SIGSEGV, handler);
  unsigned *ro = mmap(0, 4096, PROT_READ, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
  const char *names[] = { "shrd [ro], eax, cl (cl=0)", "shl dword [ro], cl (cl=0)", "shl dword [ro], cl (cl=32)", "add dword [ro], 0" };
  for (int k = 0; k < 4; k++) {
    if (sigsetjmp(back, 1) == 0) {
      if (k == 0) __asm__ volatile("xor %%ecx, %%ecx\n\t shrdl %%cl, %%eax, (%0)" : : "r"(ro) : "ecx", "memory", "cc");
      if (k == 1) __asm__ volatile("xor %%ecx, %%ecx\n\t shll %%cl, (%0)" : : "r"(ro) : "ecx", "memory", "cc");
      if (k == 2) __asm__ volatile("mov $32, %%ecx\n\t shll %%cl, (%0)" : : "r"(ro) : "ecx", "memory", "cc");
      if (k == 3) __asm__ volatile("addl $0, (%0)" : : "r"(ro) : "memory", "cc");
      printf("%s: no fault\n", names[k]);
    } else printf("%s: faults (write access)\n", names[k]);
  }
  return 0;
}
