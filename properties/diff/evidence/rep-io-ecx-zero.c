// Evidence for spec rule IO.STRING.2 (formerly the known discrepancy
// 'rep-string-io-with-ecx-zero-checks-permission', which wrongly blamed the
// model): REP INS and REP OUTS with a count of 0 still check the I/O
// permission. A Linux process runs at CPL 3 with IOPL 0 and no port allowed,
// so the check fails; if it were skipped for a zero count, nothing would
// fault. Build: gcc -O1 rep-io-ecx-zero.c (64-bit mode; `xor ecx, ecx`
// clears all of RCX, the count register there). On an AMD EPYC it prints
//   signal 11 si_code 0x80 trapno 13 err 0 rip = rep insb rcx 0
//   signal 11 si_code 0x80 trapno 13 err 0 rip = rep outsb rcx 0
// i.e. #GP(0) raised by the string instruction itself, with RCX still 0.
// QEMU (gen_check_io before gen_repz_ins) and Bochs (allow_io in
// REP_INSB_YbDX before repeat()) also check before the loop.
#define _GNU_SOURCE
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <ucontext.h>
extern char at_ins[], at_outs[];
static void handler(int sig, siginfo_t *si, void *ctx) {
  ucontext_t *uc = ctx;
  unsigned long rip = uc->uc_mcontext.gregs[REG_RIP];
  printf("signal %d si_code 0x%x trapno %lld err %lld rip %s rcx %lld\n", sig, si->si_code,
    (long long)uc->uc_mcontext.gregs[REG_TRAPNO], (long long)uc->uc_mcontext.gregs[REG_ERR],
    rip == (unsigned long)at_ins ? "= rep insb" : rip == (unsigned long)at_outs ? "= rep outsb" : "elsewhere",
    (long long)uc->uc_mcontext.gregs[REG_RCX]);
  uc->uc_mcontext.gregs[REG_RIP] += 2; // skip the two-byte rep ins/outs
}
int main(void) {
  struct sigaction sa = { .sa_sigaction = handler, .sa_flags = SA_SIGINFO };
  sigaction(SIGSEGV, &sa, 0);
  static unsigned char buf[16];
  unsigned char *p = buf;
  __asm__ volatile("xor %%ecx, %%ecx\n\t mov $0x80, %%dx\n\t .globl at_ins\n at_ins: rep insb" : "+D"(p) : : "ecx", "edx", "memory");
  __asm__ volatile("xor %%ecx, %%ecx\n\t mov $0x80, %%dx\n\t .globl at_outs\n at_outs: rep outsb" : "+S"(p) : : "ecx", "edx", "memory");
  puts("done");
  return 0;
}
