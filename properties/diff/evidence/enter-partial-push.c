// Evidence for spec rule INS.STACK.6 (formerly the known discrepancy 'enter-fault-keeps-first-push'):
// on the host CPU, an ENTER with a nesting level whose frame-pointer copy
// faults leaves the first push (the old EBP/RBP) in memory below the stack
// pointer, while the registers are restored. Build: gcc -O1
// -fomit-frame-pointer enter-partial-push.c; run: prints
// "slot at old RSP-8: 0x33; at fault RSP=top+0 RBP=0x33, address 0x2b"
// (AMD EPYC, 64-bit mode: the same ENTER as case 803 of seed 0x6d65736f).
#define _GNU_SOURCE
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <ucontext.h>
#include <stdint.h>
#include <setjmp.h>
static uint64_t stack_area[64];
static sigjmp_buf back;
static volatile uint64_t fault_rsp, fault_rbp, addr;
static void handler(int sig, siginfo_t *si, void *ctx) {
  ucontext_t *uc = ctx;
  fault_rsp = uc->uc_mcontext.gregs[REG_RSP];
  fault_rbp = uc->uc_mcontext.gregs[REG_RBP];
  addr = (uint64_t)si->si_addr;
  siglongjmp(back, 1);
}
int main(void) {
  struct sigaction sa; memset(&sa, 0, sizeof sa);
  sa.sa_sigaction = handler; sa.sa_flags = SA_SIGINFO | SA_ONSTACK;
  static char alt[65536]; stack_t ss = { .ss_sp = alt, .ss_size = sizeof alt }; sigaltstack(&ss, 0);
  sigaction(SIGSEGV, &sa, 0);
  uint64_t top = (uint64_t)&stack_area[32];
  if (sigsetjmp(back, 1) == 0) {
    __asm__ volatile(
      "mov %%rsp, %%r12\n\t"
      "mov %0, %%rsp\n\t"
      "mov $0x33, %%rbp\n\t"
      ".byte 0xc8, 0xac, 0xdb, 0x7f\n\t"
      "mov %%r12, %%rsp\n\t"
      : : "r"(top) : "memory", "r12", "rbp");
    printf("no fault?\n");
  }
  printf("slot at old RSP-8: 0x%llx; at fault RSP=top%+lld RBP=0x%llx, address 0x%llx\n",
    (unsigned long long)stack_area[31], (long long)(fault_rsp - top), (unsigned long long)fault_rbp, (unsigned long long)addr);
  return 0;
}
