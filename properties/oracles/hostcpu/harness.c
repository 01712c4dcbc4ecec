/*
 * The host CPU as an oracle: run short IA-32 sequences natively and report
 * the state the processor left.
 *
 * Why a 64-bit process: the machines this project runs on (and its CI) are
 * paravirtualized guests that cannot execute 32-bit code at all: a 32-bit
 * ELF is refused (ENOEXEC), and a far jump to the compatibility-mode code
 * segment, or to a 32-bit LDT code segment made with modify_ldt, raises #GP.
 * So the driver assembles each case's source twice with nasm: `bits 32`
 * gives the bytes recorded in the case, `bits 64` gives the bytes run here.
 * Every template is restricted to instructions whose 64-bit form with a
 * 32-bit (or 8/16-bit) operand size and 32-bit addressing (nasm adds the
 * 0x67 prefix for [ebx], `a32` on string ops and LOOP) has the same
 * semantics as the 32-bit form: ALU, shifts, multiply and divide, bit ops,
 * string ops, conditional moves and branches, and the faults. Stack
 * instructions, BCD and INTO (64-bit widths, or invalid in 64-bit mode) are
 * not generated. The driver maps each end or fault address back to the
 * 32-bit encoding through labels placed at every instruction boundary.
 *
 * Built at test time with `gcc -O1` (see harness.ts); never committed as a
 * binary.
 *
 * Protocol, one case per line (all numbers hexadecimal, bytes as hex text):
 *   in:  C codeAddr codeHex eax ecx edx ebx esp ebp esi edi eflags nmem {addr hex}*
 *   out: R status vector errorCode cr2 eax ecx edx ebx esp ebp esi edi eip eflags nmem {hex}*
 * status: D  ran off the end of the code (or branched out of it);
 *         F  a fault or trap was raised (vector, errorCode and cr2 from the
 *            signal context: REG_TRAPNO, REG_ERR and REG_CR2);
 *         T  timed out (the case is dropped by the driver);
 *         E  a page could not be mapped (the case is dropped).
 *
 * How a run ends: the code page is filled with INT3 around the code bytes,
 * so leaving the code (falling off its end, or a branch to another place in
 * the page) traps with EIP one past the INT3 it hit. A SIGTRAP whose INT3
 * lies outside the code bytes is therefore "done at EIP-1"; one whose INT3
 * lies inside the code bytes is the case's own #BP.
 */
#define _GNU_SOURCE
#include <setjmp.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <ucontext.h>
#include <unistd.h>

#define PAGE 4096u
#define MAX_PAGES 16
#define MAX_MEM 16
#define MAX_BYTES 8192

/* The state loaded before the jump into the case; read by enter_case. */
struct regs { uint32_t eax, ecx, edx, ebx, esp, ebp, esi, edi, eip, eflags; };
__attribute__((used)) struct regs g_in;
__attribute__((used)) uint64_t g_scratch[8];

/* Load every register from g_in (zero-extended to 64 bits) and jump to the
 * case's code. Never returns: the run ends in the signal handler, which
 * long-jumps back. */
__attribute__((used)) uint64_t g_target;
extern void enter_case(void);
__asm__(
    ".text\n"
    ".globl enter_case\n"
    "enter_case:\n"
    "  leaq g_scratch+56(%rip), %rsp\n"
    "  movl g_in+36(%rip), %eax\n"
    "  pushq %rax\n"
    "  popfq\n"
    "  movl g_in+0(%rip), %eax\n"
    "  movl g_in+4(%rip), %ecx\n"
    "  movl g_in+8(%rip), %edx\n"
    "  movl g_in+12(%rip), %ebx\n"
    "  movl g_in+20(%rip), %ebp\n"
    "  movl g_in+24(%rip), %esi\n"
    "  movl g_in+28(%rip), %edi\n"
    "  movl g_in+16(%rip), %esp\n"
    "  jmp *g_target(%rip)\n");

static sigjmp_buf g_jump;
static struct regs g_out;
static uint32_t g_trapno, g_err, g_cr2, g_signal;
static uint32_t g_code_addr, g_code_len;

static void on_signal(int sig, siginfo_t *info, void *uc_void) {
  ucontext_t *uc = (ucontext_t *)uc_void;
  greg_t *r = uc->uc_mcontext.gregs;
  g_out.eax = (uint32_t)r[REG_RAX]; g_out.ecx = (uint32_t)r[REG_RCX];
  g_out.edx = (uint32_t)r[REG_RDX]; g_out.ebx = (uint32_t)r[REG_RBX];
  g_out.esp = (uint32_t)r[REG_RSP]; g_out.ebp = (uint32_t)r[REG_RBP];
  g_out.esi = (uint32_t)r[REG_RSI]; g_out.edi = (uint32_t)r[REG_RDI];
  g_out.eip = (uint32_t)r[REG_RIP]; g_out.eflags = (uint32_t)r[REG_EFL];
  g_trapno = r[REG_TRAPNO];
  g_err = r[REG_ERR];
  g_cr2 = (uint32_t)r[REG_CR2];
  (void)info;
  g_signal = sig;
  siglongjmp(g_jump, 1);
}

static int hexval(int c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  return -1;
}

static char *next_token(char **cursor) {
  char *p = *cursor;
  while (*p == ' ' || *p == '\n' || *p == '\r') p++;
  if (*p == 0) return NULL;
  char *start = p;
  while (*p && *p != ' ' && *p != '\n' && *p != '\r') p++;
  if (*p) *p++ = 0;
  *cursor = p;
  return start;
}

static int parse_u32(char **cursor, uint32_t *out) {
  char *t = next_token(cursor);
  if (!t) return 0;
  *out = (uint32_t)strtoul(t, NULL, 16);
  return 1;
}

static int parse_bytes(char **cursor, uint8_t *out, uint32_t *len) {
  char *t = next_token(cursor);
  if (!t) return 0;
  size_t n = strlen(t);
  if (n % 2 || n / 2 > MAX_BYTES) return 0;
  for (size_t i = 0; i < n / 2; i++) {
    int hi = hexval(t[2 * i]), lo = hexval(t[2 * i + 1]);
    if (hi < 0 || lo < 0) return 0;
    out[i] = (uint8_t)(hi * 16 + lo);
  }
  *len = (uint32_t)(n / 2);
  return 1;
}

struct region { uint32_t addr, len; uint8_t bytes[MAX_BYTES]; };
static struct region g_mem[MAX_MEM];
static uint8_t g_code[MAX_BYTES];
static uint32_t g_pages[MAX_PAGES];
static int g_page_count;

static int add_page(uint32_t page) {
  for (int i = 0; i < g_page_count; i++) if (g_pages[i] == page) return 1;
  if (g_page_count == MAX_PAGES) return 0;
  g_pages[g_page_count++] = page;
  return 1;
}

static int map_page(uint32_t page) {
  void *p = mmap((void *)(uintptr_t)page, PAGE, PROT_READ | PROT_WRITE,
                 MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED_NOREPLACE, -1, 0);
  return p == (void *)(uintptr_t)page;
}

static void unmap_all(void) {
  for (int i = 0; i < g_page_count; i++) munmap((void *)(uintptr_t)g_pages[i], PAGE);
  g_page_count = 0;
}

static void print_hex(const uint8_t *b, uint32_t n) {
  for (uint32_t i = 0; i < n; i++) printf("%02x", b[i]);
}

static void run_case(char *line) {
  char *cursor = line;
  uint32_t nmem, code_len;
  char *tag = next_token(&cursor);
  if (!tag || strcmp(tag, "C") != 0) { printf("E bad-line\n"); return; }
  if (!parse_u32(&cursor, &g_code_addr) || !parse_bytes(&cursor, g_code, &code_len)) {
    printf("E bad-code\n"); return;
  }
  g_code_len = code_len;
  uint32_t *in = &g_in.eax;
  for (int i = 0; i < 8; i++) if (!parse_u32(&cursor, &in[i])) { printf("E bad-regs\n"); return; }
  if (!parse_u32(&cursor, &g_in.eflags) || !parse_u32(&cursor, &nmem) || nmem > MAX_MEM) {
    printf("E bad-flags\n"); return;
  }
  for (uint32_t i = 0; i < nmem; i++) {
    if (!parse_u32(&cursor, &g_mem[i].addr) || !parse_bytes(&cursor, g_mem[i].bytes, &g_mem[i].len)) {
      printf("E bad-mem\n"); return;
    }
  }
  g_in.eip = g_code_addr;
  g_target = g_code_addr;

  /* Map the code pages (code plus the INT3 after it) and the memory pages. */
  uint32_t code_first = g_code_addr & ~(PAGE - 1);
  uint32_t code_last = (g_code_addr + code_len) & ~(PAGE - 1);
  int ok = 1;
  for (uint32_t p = code_first;; p += PAGE) { ok &= add_page(p); if (p == code_last) break; }
  int code_pages = g_page_count;
  for (uint32_t i = 0; i < nmem; i++) {
    if (g_mem[i].len == 0) continue;
    uint32_t last = (g_mem[i].addr + g_mem[i].len - 1) & ~(PAGE - 1);
    for (uint32_t p = g_mem[i].addr & ~(PAGE - 1);; p += PAGE) { ok &= add_page(p); if (p == last) break; }
  }
  int mapped = 0;
  for (; ok && mapped < g_page_count; mapped++) ok &= map_page(g_pages[mapped]);
  if (!ok) {
    g_page_count = mapped;
    unmap_all();
    printf("E map\n");
    return;
  }
  for (int i = 0; i < code_pages; i++) memset((void *)(uintptr_t)g_pages[i], 0xcc, PAGE);
  memcpy((void *)(uintptr_t)g_code_addr, g_code, code_len);
  for (uint32_t i = 0; i < nmem; i++) memcpy((void *)(uintptr_t)g_mem[i].addr, g_mem[i].bytes, g_mem[i].len);
  for (int i = 0; i < code_pages; i++) mprotect((void *)(uintptr_t)g_pages[i], PAGE, PROT_READ | PROT_EXEC);

  g_signal = 0;
  alarm(2);
  if (sigsetjmp(g_jump, 1) == 0) enter_case();
  alarm(0);

  char status = 'F';
  uint32_t vector = g_trapno, err = g_err, cr2 = g_cr2;
  if (g_signal == SIGALRM) status = 'T';
  if (g_signal == SIGTRAP && g_trapno == 3) {
    uint32_t at = g_out.eip - 1;
    if (at - g_code_addr >= code_len) { status = 'D'; g_out.eip = at; }
  }
  printf("R %c %x %x %x", status, vector, err, cr2);
  const uint32_t *out = &g_out.eax;
  for (int i = 0; i < 10; i++) printf(" %x", out[i]);
  printf(" %x", nmem);
  for (uint32_t i = 0; i < nmem; i++) {
    printf(" ");
    print_hex((const uint8_t *)(uintptr_t)g_mem[i].addr, g_mem[i].len);
  }
  printf("\n");
  unmap_all();
}

int main(void) {
  static uint8_t alt[65536];
  stack_t ss = { .ss_sp = alt, .ss_size = sizeof alt, .ss_flags = 0 };
  sigaltstack(&ss, NULL);
  struct sigaction sa;
  memset(&sa, 0, sizeof sa);
  sa.sa_sigaction = on_signal;
  sa.sa_flags = SA_SIGINFO | SA_ONSTACK;
  int sigs[] = { SIGSEGV, SIGILL, SIGFPE, SIGTRAP, SIGBUS, SIGALRM };
  for (unsigned i = 0; i < sizeof sigs / sizeof sigs[0]; i++) sigaction(sigs[i], &sa, NULL);

  static char line[1 << 20];
  while (fgets(line, sizeof line, stdin)) {
    run_case(line);
    fflush(stdout);
  }
  return 0;
}
