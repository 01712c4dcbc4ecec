// Evidence for INS.STACK.7 (spec/instructions.md): does ENTER touch its
// final stack pointer? Build and run on an x86-64 host:
//   gcc -O0 -o enter-final-esp-touch enter-final-esp-touch.c && ./enter-final-esp-touch
// Two inaccessible pages sit below a stack page; RSP starts 64 bytes into the
// stack page. ENTER pushes RBP (RSP - 8 = page + 56), then RSP -= size.
// Seen on AMD EPYC (2026-11-26):
//   enter 0x38,0: no fault                 (final RSP = page + 0)
//   enter 0x40,0: faults at offset 8184    (final RSP = page - 8, region offset 8184)
//   enter 0x100,0: faults at offset 7992   (= page + 56 - 0x100)
// and the same lines with the pages below made read-only (PROT_READ), so
// the access is a write. Sizes up to 0x1800 fault at the final RSP itself,
// never at a byte in between: only the final unit is touched.
#define _GNU_SOURCE
#include <stdio.h>
#include <signal.h>
#include <setjmp.h>
#include <sys/mman.h>
#include <string.h>
#include <stdint.h>
static sigjmp_buf env;
static volatile uintptr_t fault_addr;
static void handler(int sig, siginfo_t *si, void *ctx) { fault_addr = (uintptr_t)si->si_addr; siglongjmp(env, 1); }
int main(int argc, char **argv) { setvbuf(stdout, 0, _IONBF, 0);
  int read_only = argc > 1; /* any argument: make the pages below read-only instead of inaccessible */
  struct sigaction sa; memset(&sa, 0, sizeof sa); sa.sa_sigaction = handler; sa.sa_flags = SA_SIGINFO | SA_ONSTACK;
  stack_t ss; ss.ss_sp = mmap(0, 65536, PROT_READ|PROT_WRITE, MAP_PRIVATE|MAP_ANONYMOUS, -1, 0); ss.ss_size = 65536; ss.ss_flags = 0; sigaltstack(&ss, 0);
  sigaction(SIGSEGV, &sa, 0);
  /* three pages: [guard(no access)][guard][stack page]; RSP near the bottom of the stack page */
  uint8_t *region = mmap(0, 3*4096, PROT_READ|PROT_WRITE, MAP_PRIVATE|MAP_ANONYMOUS, -1, 0);
  mprotect(region, 2*4096, read_only ? PROT_READ : PROT_NONE);
  uint8_t *top = region + 2*4096 + 64;   /* 64 bytes above the guard */
  /* the real probes, sizes as immediates */
#define PROBE(SZ) do { fault_addr = 0; int faulted = 0; \
    if (sigsetjmp(env, 1) == 0) { __asm__ volatile("mov %%rsp, %%r12\n\tmov %%rbp, %%r13\n\tmov %0, %%rsp\n\tenterq $" #SZ ", $0\n\tmov %%r13, %%rbp\n\tmov %%r12, %%rsp\n\t" :: "r"(top) : "r12", "r13", "memory"); } \
    else faulted = 1; \
    printf("enter %s,0 with rsp = stack page + 64: %s", #SZ, faulted ? "faults" : "no fault"); \
    if (faulted) printf(" at page offset %ld from the region", (long)(fault_addr - (uintptr_t)region)); printf("\n"); } while (0)
  PROBE(0x10); PROBE(0x30); PROBE(0x38); PROBE(0x40); PROBE(0x100); PROBE(0x1000); PROBE(0x1040); PROBE(0x1800);
  return 0;
}
