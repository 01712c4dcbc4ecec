/*
 * /init of mesovirt's Linux guest: no libc, i386 system calls through
 * int $0x80. It prints on /dev/console (fd 0..2, opened by the kernel),
 * runs one test per system-call family, prints "init: N passed, M failed",
 * runs six microbenchmarks (instructions per operation: on mesovirt RDTSC
 * counts retired instructions), and writes M to port 0xF4 (isa-debug-exit)
 * so the run ends with exit code (M << 1) | 1.
 *
 * Build: gcc -m32 -static -nostdlib -march=i486 (see build.sh).
 * Run as "/init exec-test" it is the target of the execve test.
 */

typedef unsigned int u32;
typedef unsigned long long u64;

enum {
	SYS_exit = 1, SYS_fork = 2, SYS_read = 3, SYS_write = 4, SYS_close = 6,
	SYS_execve = 11, SYS_getpid = 20, SYS_pipe = 42, SYS_times = 43,
	SYS_brk = 45, SYS_munmap = 91, SYS_ioperm = 101, SYS_wait4 = 114,
	SYS_nanosleep = 162, SYS_rt_sigreturn = 173, SYS_rt_sigaction = 174,
	SYS_mmap2 = 192, SYS_clock_gettime = 265, SYS_pause = 29,
};

static long syscall3(long n, long a, long b, long c)
{
	long r;
	__asm__ volatile("int $0x80" : "=a"(r) : "0"(n), "b"(a), "c"(b), "d"(c) : "memory");
	return r;
}

static long syscall6(long n, long a, long b, long c, long d, long e, long f)
{
	/* EBP carries the sixth argument; EAX points at {n, f} and EBP is
	 * saved by hand (it may be the frame pointer). */
	long r;
	long block[2] = { n, f };
	__asm__ volatile(
		"push %%ebp\n\t"
		"mov 4(%%eax), %%ebp\n\t"
		"mov 0(%%eax), %%eax\n\t"
		"int $0x80\n\t"
		"pop %%ebp"
		: "=a"(r)
		: "0"(block), "b"(a), "c"(b), "d"(c), "S"(d), "D"(e)
		: "memory");
	return r;
}

#define sys0(n) syscall3((n), 0, 0, 0)
#define sys1(n, a) syscall3((n), (long)(a), 0, 0)
#define sys2(n, a, b) syscall3((n), (long)(a), (long)(b), 0)
#define sys3(n, a, b, c) syscall3((n), (long)(a), (long)(b), (long)(c))

static void __attribute__((noreturn)) sys_exit(int code)
{
	for (;;) sys1(SYS_exit, code);
}

static u32 strlen_(const char *s) { u32 n = 0; while (s[n]) n++; return n; }
static int streq(const char *a, const char *b)
{
	while (*a && *a == *b) a++, b++;
	return *a == *b;
}

static void puts_(const char *s) { sys3(SYS_write, 1, s, strlen_(s)); }

static void putu(u32 v)
{
	char buf[12];
	int i = 11;
	buf[i] = 0;
	do { buf[--i] = '0' + v % 10; v /= 10; } while (v);
	puts_(buf + i);
}

static u64 rdtsc(void)
{
	u32 lo, hi;
	__asm__ volatile("rdtsc" : "=a"(lo), "=d"(hi));
	return ((u64)hi << 32) | lo;
}

static int has_tsc(void)
{
	/* CPUID exists when EFLAGS.ID can be toggled. */
	u32 before, after, a, b, c, d;
	__asm__ volatile("pushfl; pushfl; xorl $0x200000, (%%esp); popfl; pushfl; popl %0; popl %1; pushl %1; popfl"
			 : "=r"(after), "=r"(before));
	if (((after ^ before) & 0x200000) == 0) return 0;
	__asm__ volatile("cpuid" : "=a"(a), "=b"(b), "=c"(c), "=d"(d) : "0"(1));
	return (d >> 4) & 1;
}

static void outb(unsigned char value, unsigned short port)
{
	__asm__ volatile("outb %0, %1" : : "a"(value), "Nd"(port));
}

/* ---------------------------------------------------------------- signals */

struct kernel_sigaction {
	void (*handler)(int, void *, void *);
	u32 flags;
	void (*restorer)(void);
	u32 mask[2];
};
#define SA_SIGINFO 4
#define SA_RESTORER 0x04000000
#define SIGSEGV 11

extern void restore_rt(void);
__asm__(".text\n restore_rt:\n movl $173, %eax\n int $0x80\n");

static void *volatile segv_address;

static void segv_handler(int sig, void *info, void *context)
{
	(void)context;
	/* siginfo: si_signo, si_errno, si_code, then si_addr. */
	segv_address = ((void **)info)[3];
	sys_exit(sig == SIGSEGV ? 42 : 1);
}

static long sys_rt_sigaction_(int sig, struct kernel_sigaction *sa)
{
	return syscall6(SYS_rt_sigaction, sig, (long)sa, 0, 8, 0, 0);
}

static int catch_segv(void)
{
	struct kernel_sigaction sa = { segv_handler, SA_SIGINFO | SA_RESTORER, restore_rt, { 0, 0 } };
	return (int)sys_rt_sigaction_(SIGSEGV, &sa);
}

/* ---------------------------------------------------------------- tests */

static int passed, failed;

static void check(const char *name, int ok)
{
	puts_(ok ? "init: ok   " : "init: FAIL ");
	puts_(name);
	puts_("\n");
	if (ok) passed++; else failed++;
}

static int wait_child(long pid)
{
	int status = -1;
	if (syscall6(SYS_wait4, pid, (long)&status, 0, 0, 0, 0) != pid) return -1;
	return status;
}

/* exit status of a child that exited with code c: c << 8 */
#define EXITED(c) ((c) << 8)

static void *mmap_anon(u32 length)
{
	/* PROT_READ|PROT_WRITE, MAP_PRIVATE|MAP_ANONYMOUS */
	return (void *)syscall6(SYS_mmap2, 0, length, 3, 0x22, -1, 0);
}

static void test_write(void)
{
	static const char text[] = "init: write to /dev/console\n";
	check("write", sys3(SYS_write, 1, text, sizeof text - 1) == sizeof text - 1);
}

static void test_getpid(void) { check("getpid is 1", sys0(SYS_getpid) == 1); }

static void test_brk(void)
{
	long start = sys1(SYS_brk, 0);
	long end = sys1(SYS_brk, start + 16384);
	int ok = start > 0 && end == start + 16384;
	if (ok) {
		volatile u32 *p = (u32 *)start;
		for (int i = 0; i < 4096; i += 1024) p[i] = i * 3;
		for (int i = 0; i < 4096; i += 1024) ok &= p[i] == (u32)i * 3;
	}
	check("brk grows the heap", ok);
}

static void test_mmap(void)
{
	u32 length = 16 * 4096;
	volatile u32 *p = mmap_anon(length);
	int ok = (u32)p < 0xfffff000u && ((u32)p & 4095) == 0; /* not an error code, page-aligned */
	if (ok) {
		for (u32 i = 0; i < length / 4; i += 1024) ok &= p[i] == 0; /* fresh pages read zero */
		for (u32 i = 0; i < length / 4; i += 1024) p[i] = i ^ 0x5a5a;
		for (u32 i = 0; i < length / 4; i += 1024) ok &= p[i] == (i ^ 0x5a5a);
	}
	check("mmap, touching 16 fresh pages", ok);
	check("munmap", ok && sys2(SYS_munmap, p, length) == 0);
}

static void test_fork(void)
{
	long pid = sys0(SYS_fork);
	if (pid == 0) sys_exit(sys0(SYS_getpid) > 1 ? 5 : 6);
	check("fork + wait", pid > 1 && wait_child(pid) == EXITED(5));
}

static void test_execve(void)
{
	long pid = sys0(SYS_fork);
	if (pid == 0) {
		char *argv[] = { "/init", "exec-test", 0 };
		char *envp[] = { 0 };
		sys3(SYS_execve, "/init", argv, envp);
		sys_exit(99);
	}
	check("execve", pid > 1 && wait_child(pid) == EXITED(7));
}

static void test_pipe(void)
{
	int fds[2] = { -1, -1 };
	static const char message[] = "through the pipe";
	char buffer[32];
	if (sys1(SYS_pipe, fds) != 0) { check("pipe between two processes", 0); return; }
	long pid = sys0(SYS_fork);
	if (pid == 0) {
		sys1(SYS_close, fds[0]);
		sys3(SYS_write, fds[1], message, sizeof message);
		sys_exit(0);
	}
	sys1(SYS_close, fds[1]);
	long got = 0, n;
	while (got < (long)sizeof buffer && (n = sys3(SYS_read, fds[0], buffer + got, sizeof buffer - got)) > 0) got += n;
	sys1(SYS_close, fds[0]);
	check("pipe between two processes", got == sizeof message && streq(buffer, message) && wait_child(pid) == EXITED(0));
}


static void test_sigsegv(void)
{
	long pid = sys0(SYS_fork);
	if (pid == 0) {
		if (catch_segv() != 0) sys_exit(2);
		volatile u32 *page0 = (volatile u32 *)segv_address; /* null: page 0 is never mapped */
		page0[4] = 1;
		sys_exit(3);
	}
	check("SIGSEGV caught by a handler", pid > 1 && wait_child(pid) == EXITED(42));
}

struct timespec32 { long sec, nsec; };

static long long nanoseconds(void)
{
	struct timespec32 t;
	if (sys2(SYS_clock_gettime, 1 /* CLOCK_MONOTONIC */, &t) != 0) return -1;
	return (long long)t.sec * 1000000000LL + t.nsec;
}

static void test_sleep(void)
{
	struct timespec32 request = { 0, 30 * 1000 * 1000 };
	u32 ticks[4];
	long before_jiffies = sys1(SYS_times, ticks);
	long long before = nanoseconds();
	long r = sys2(SYS_nanosleep, &request, 0);
	long long after = nanoseconds();
	long after_jiffies = sys1(SYS_times, ticks);
	check("nanosleep 30 ms: the clock advances >= 30 ms", r == 0 && before >= 0 && after - before >= 30000000LL);
	check("nanosleep 30 ms: the tick advances >= 3 jiffies (HZ=100)", after_jiffies - before_jiffies >= 3);
}

static void test_ioperm(void)
{
	check("ioperm(0xF4) granted", sys3(SYS_ioperm, 0xf4, 1, 1) == 0);
	long pid = sys0(SYS_fork);
	if (pid == 0) {
		if (catch_segv() != 0) sys_exit(2);
		outb(0, 0x80); /* not in the I/O bitmap: #GP, delivered as SIGSEGV */
		sys_exit(3);
	}
	check("a port outside the I/O bitmap faults", pid > 1 && wait_child(pid) == EXITED(42));
}

/* ---------------------------------------------------------------- microbenchmarks */

static void report(const char *name, u64 instructions, u32 operations)
{
	puts_("bench: ");
	puts_(name);
	puts_(" ");
	putu((u32)instructions / operations);
	puts_(" instructions per operation\n");
}

static void benchmarks(void)
{
	u64 t;
	if (!has_tsc()) { puts_("bench: no TSC, skipped\n"); return; }

	t = rdtsc();
	for (int i = 0; i < 200; i++) sys0(SYS_getpid);
	report("null call", rdtsc() - t, 200);

	{
		u32 pages = 48;
		volatile unsigned char *p = mmap_anon(pages * 4096);
		t = rdtsc();
		for (u32 i = 0; i < pages; i++) p[i * 4096] = 1;
		report("fault", rdtsc() - t, pages);
		sys2(SYS_munmap, p, pages * 4096);
	}

	{
		int ping[2], pong[2];
		char c = 'x';
		sys1(SYS_pipe, ping);
		sys1(SYS_pipe, pong);
		long pid = sys0(SYS_fork);
		if (pid == 0) {
			for (int i = 0; i < 40; i++) { sys3(SYS_read, ping[0], &c, 1); sys3(SYS_write, pong[1], &c, 1); }
			sys_exit(0);
		}
		t = rdtsc();
		for (int i = 0; i < 40; i++) { sys3(SYS_write, ping[1], &c, 1); sys3(SYS_read, pong[0], &c, 1); }
		report("ctxsw", rdtsc() - t, 80);
		wait_child(pid);
		sys1(SYS_close, ping[0]); sys1(SYS_close, ping[1]);
		sys1(SYS_close, pong[0]); sys1(SYS_close, pong[1]);
	}

	t = rdtsc();
	for (int i = 0; i < 16; i++) {
		long pid = sys0(SYS_fork);
		if (pid == 0) sys_exit(0);
		wait_child(pid);
	}
	report("proc", rdtsc() - t, 16);

	t = rdtsc();
	for (int i = 0; i < 12; i++) {
		volatile u32 *p = mmap_anon(4 * 4096);
		for (int k = 0; k < 4; k++) p[k * 1024] = k;
		for (int k = 0; k < 4; k++) if (p[k * 1024] != (u32)k) puts_("bench: mmap read back wrong\n");
		sys2(SYS_munmap, p, 4 * 4096);
	}
	report("mmap", rdtsc() - t, 12);

	{
		u32 x = 1;
		t = rdtsc();
		for (int i = 0; i < 4000; i++) x = x * 1103515245u + 12345u;
		__asm__ volatile("" : : "r"(x));
		report("cpu", rdtsc() - t, 4000);
	}
}

/* ---------------------------------------------------------------- entry */

int main(int argc, char **argv)
{
	if (argc > 1 && streq(argv[1], "exec-test")) return 7;
	puts_("init: Linux on mesovirt, hello from /init\n");
	test_write();
	test_getpid();
	test_brk();
	test_mmap();
	test_fork();
	test_execve();
	test_pipe();
	test_sigsegv();
	test_sleep();
	test_ioperm();
	puts_("init: ");
	putu(passed);
	puts_(" passed, ");
	putu(failed);
	puts_(" failed\n");
	benchmarks();
	puts_("init: done\n");
	outb(failed, 0xf4);
	/* Not on an isa-debug-exit machine: stay alive (pid 1 must not exit). */
	for (;;) sys0(SYS_pause);
}

void __attribute__((noreturn, used)) start_c(u32 *stack)
{
	int argc = (int)stack[0];
	char **argv = (char **)(stack + 1);
	sys_exit(main(argc, argv));
}

__asm__(".text\n .globl _start\n _start:\n xorl %ebp, %ebp\n movl %esp, %eax\n andl $-16, %esp\n pushl %eax\n call start_c\n");
