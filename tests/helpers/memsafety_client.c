// SPDX-License-Identifier: MIT
/*
 * memsafety_client: a real client process of ugpud for the memory-safety
 * suite (tests/integration/memsafety_test.c). It hands the daemon memory
 * that can go bad under it and checks that the daemon refuses it or fails
 * the job cleanly: BO import of memfds (sealed or not) and of other
 * files, userptrs on shared memory the client truncates, large BO
 * pread/pwrite (copied on a daemon worker) into holes and alongside other
 * ioctls, and pread/pwrite from a forked child. Usage:
 * `memsafety_client <scenario> <device>`. Every check prints `ok <check>`
 * or `not ok <check>: <detail>` (`#` lines are notes; `ready` tells the
 * test a long-running scenario reached its loop); the program exits 1 if
 * any check failed (tests/helpers/lib/client_common.h). Nothing asserts
 * on time: concurrency is judged from what the daemon had already
 * written when a call returned.
 */
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <pthread.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "libclient/ugpu.h"
#include "tests/helpers/lib/client_common.h"
#include "uapi/ugpu.h"

#define MIB		(1ull << 20)
#define JOB_WAIT_NS	(30 * SEC)	/* a job that should end: generous */

/* The batch is at VA_HOST + PAGE; results go to the control page. */
#define VA_BATCH	(VA_HOST + PAGE)
#define VA_OUT		(VA_HOST + CTL_OUT * 4)
#define VA_SCRATCH	(VA_HOST + 8 * PAGE)	/* 8 pages of host memory */

#define MEM_BYTES	(16 * PAGE)	/* memfds and shared mappings */
#define BIG_BYTES	(16 * MIB)	/* the large pread/pwrite */
#define CONC_BYTES	(128 * MIB)	/* the pread other ioctls run beside */
#define KILL_BYTES	(256 * MIB)	/* the pwrite the test kills us in */
#define HOLE_BYTES	(2 * MIB)	/* a buffer with a page missing */

#define SENTINEL	0xa5a5a5a5u

static void nap_us(long us)
{
	struct timespec d = { 0, us * 1000 };

	nanosleep(&d, NULL);
}

/* ---- CRC32C, as uapi/ugpu_isa.h defines CHECKSUM ------------------------- */

static uint32_t crc_table[256];

static void crc_init(void)
{
	for (uint32_t i = 0; i < 256; i++) {
		uint32_t c = i;

		for (int k = 0; k < 8; k++)
			c = c & 1 ? (c >> 1) ^ 0x82f63b78u : c >> 1;
		crc_table[i] = c;
	}
}

static uint32_t crc32c(const void *buf, size_t len)
{
	const uint8_t *b = buf;
	uint32_t c = 0xffffffffu;

	while (len--)
		c = crc_table[(c ^ *b++) & 0xff] ^ (c >> 8);
	return c ^ 0xffffffffu;
}

/* A reproducible pattern: xorshift32 from @seed, one value per dword. */
static void pattern(void *buf, size_t len, uint32_t seed)
{
	uint32_t *p = buf, x = seed ? seed : 1;

	for (size_t i = 0; i < len / 4; i++) {
		x ^= x << 13;
		x ^= x >> 17;
		x ^= x << 5;
		p[i] = x;
	}
}

/* ---- jobs: one batch slot ----------------------------------------------- */

/* Jobs run one at a time here, so one batch slot is enough. */
static void batch(struct cc_ctx *c, struct ugpu_cmdbuf *cb)
{
	ugpu_cmd_init(cb, c->host + PAGE, PAGE);
}

/* End, submit and wait: the exec's error, else the job's. */
static int run(struct cc_ctx *c, struct ugpu_cmdbuf *cb)
{
	uint64_t fence;
	int ret;

	if (ugpu_cmd_end(cb))
		return -ENOSPC;
	ret = ugpu_exec(c->dev, c->vm, 0, VA_BATCH, cb->len * 4, &fence);
	return ret ? ret : ugpu_wait(c->dev, fence, JOB_WAIT_NS);
}

static int run_store(struct cc_ctx *c, uint64_t va, uint32_t value)
{
	struct ugpu_cmdbuf cb;

	batch(c, &cb);
	ugpu_cmd_store_dword(&cb, va, value);
	return run(c, &cb);
}

static int run_fill(struct cc_ctx *c, uint64_t va, uint64_t size, uint32_t value)
{
	struct ugpu_cmdbuf cb;

	batch(c, &cb);
	ugpu_cmd_fill(&cb, va, size, value);
	return run(c, &cb);
}

static int run_copy(struct cc_ctx *c, uint64_t dst, uint64_t src, uint64_t size)
{
	struct ugpu_cmdbuf cb;

	batch(c, &cb);
	ugpu_cmd_copy(&cb, dst, src, size);
	return run(c, &cb);
}

/* The GPU's CRC32C of [va, va + size), or the job's error as a negative. */
static int64_t run_checksum(struct cc_ctx *c, uint64_t va, uint64_t size)
{
	struct ugpu_cmdbuf cb;
	int ret;

	c->ctl[CTL_OUT] = 0;
	batch(c, &cb);
	ugpu_cmd_checksum(&cb, VA_OUT, va, size);
	ret = run(c, &cb);
	return ret ? ret : (int64_t)c->ctl[CTL_OUT];
}

/* Still serving this client: a query and a store into host memory. */
static void check_alive(struct cc_ctx *c, const char *who)
{
	struct ugpu_info info;
	char check[128];

	snprintf(check, sizeof(check), "%s: the daemon still answers (query)", who);
	cc_expect_ret(ugpu_query(c->dev, &info), 0, check);
	c->ctl[CTL_OUT + 1] = 0;
	snprintf(check, sizeof(check), "%s: a store into host memory still works", who);
	if (!cc_expect_ret(run_store(c, VA_OUT + 4, MAGIC), 0, check))
		return;
	snprintf(check, sizeof(check), "%s: the store into host memory is visible", who);
	cc_expect(c->ctl[CTL_OUT + 1] == MAGIC, check, "read %#x", c->ctl[CTL_OUT + 1]);
}

static bool all_bytes(const void *buf, size_t len, uint8_t v)
{
	const uint8_t *b = buf;

	for (size_t i = 0; i < len; i++)
		if (b[i] != v)
			return false;
	return true;
}

/* ---- 1. BO import ------------------------------------------------------ */

static int bo_import(struct ugpu *dev, int fd, uint64_t offset, uint64_t size, uint32_t *h)
{
	struct ugpu_bo_import in = { .fd = (uint32_t)fd, .offset = offset, .size = size };

	if (ioctl(ugpu_fd(dev), UGPU_IOCTL_BO_IMPORT, &in) < 0)
		return -errno;
	*h = in.handle;
	return 0;
}

/* A memfd of MEM_BYTES with @seals added (0: none; -1: sealing not allowed). */
static int make_memfd(int seals)
{
	int fd = memfd_create("memsafety", MFD_CLOEXEC | (seals >= 0 ? MFD_ALLOW_SEALING : 0));

	if (fd < 0)
		return -errno;
	if (ftruncate(fd, MEM_BYTES) < 0 || (seals > 0 && fcntl(fd, F_ADD_SEALS, seals) < 0)) {
		int ret = -errno;

		close(fd);
		return ret;
	}
	return fd;
}

static void import_refused(struct ugpu *dev, int seals, const char *check)
{
	uint32_t h = 0;
	int fd = make_memfd(seals);

	if (fd < 0) {
		cc_expect(false, check, "memfd: %s", cc_ename(fd));
		return;
	}
	cc_expect_ret(bo_import(dev, fd, 0, MEM_BYTES, &h), -EINVAL, check);
	close(fd);
}

/* The GPU writes into an imported memfd; the client sees it in its mapping. */
static void import_zero_copy(struct cc_ctx *c, int fd)
{
	volatile uint32_t *map;
	uint32_t bo, bo2;

	map = mmap(NULL, MEM_BYTES, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
	if (!cc_expect(map != MAP_FAILED, "map the sealed memfd", "%s", strerror(errno)))
		return;
	if (!cc_expect_ret(bo_import(c->dev, fd, 0, MEM_BYTES, &bo), 0,
			   "import a memfd sealed with F_SEAL_SHRINK"))
		goto out;
	if (!cc_expect_ret(ugpu_vm_bind_bo(c->dev, c->vm, VA_BO, bo, 0, MEM_BYTES, 0), 0,
			   "bind the imported BO"))
		goto out_bo;
	cc_expect_ret(run_store(c, VA_BO + 8, MAGIC), 0, "GPU STORE_DWORD into the import");
	cc_expect(map[2] == MAGIC, "the client sees the store in its mapping", "read %#x", map[2]);
	cc_expect_ret(run_fill(c, VA_BO + PAGE, 2 * PAGE, 0x5a5a5a5au), 0,
		      "GPU FILL into the import");
	cc_expect(all_bytes((const void *)((uintptr_t)map + PAGE), 2 * PAGE, 0x5a) &&
		  all_bytes((const void *)((uintptr_t)map + 3 * PAGE), PAGE, 0),
		  "the client sees the fill, and only the fill", "wrong bytes in pages 1-3");
	/* And the other way: the CPU's writes reach the GPU. */
	map[1024 * 4] = MAGIC + 1;
	c->ctl[CTL_OUT] = 0;
	cc_expect_ret(run_copy(c, VA_OUT, VA_BO + 4 * PAGE, 4), 0, "GPU COPY out of the import");
	cc_expect(c->ctl[CTL_OUT] == MAGIC + 1, "the GPU reads the client's write", "read %#x",
		  c->ctl[CTL_OUT]);
	ugpu_vm_unbind(c->dev, c->vm, VA_BO, MEM_BYTES);

	/* A part of the file: the BO starts at the offset. */
	if (cc_expect_ret(bo_import(c->dev, fd, 4 * PAGE, 2 * PAGE, &bo2), 0,
			  "import pages 4-5 of the memfd") &&
	    cc_expect_ret(ugpu_vm_bind_bo(c->dev, c->vm, VA_BO2, bo2, 0, 2 * PAGE, 0), 0,
			  "bind the partial import")) {
		cc_expect_ret(run_store(c, VA_BO2 + PAGE, MAGIC + 2), 0,
			      "GPU store into the partial import");
		cc_expect(map[5 * 1024] == MAGIC + 2, "it lands at the file offset", "read %#x",
			  map[5 * 1024]);
		ugpu_vm_unbind(c->dev, c->vm, VA_BO2, 2 * PAGE);
		ugpu_bo_destroy(c->dev, bo2);
	}
out_bo:
	cc_expect_ret(ugpu_bo_destroy(c->dev, bo), 0, "destroy the imported BO");
out:
	if (map != MAP_FAILED)
		munmap((void *)map, MEM_BYTES);
}

static void sc_import(const char *path)
{
	char tmpl[] = "/tmp/ugpu-memsafety.XXXXXX";
	struct cc_ctx c;
	uint32_t h = 0;
	int fd, bad;

	if (!cc_ctx_open_ok(&c, path, 0, NULL))
		return;
	import_refused(c.dev, -1, "import of a memfd without sealing: EINVAL");
	import_refused(c.dev, 0, "import of a sealable memfd, no seals: EINVAL");
	import_refused(c.dev, F_SEAL_GROW, "import with F_SEAL_GROW only: EINVAL");

	fd = make_memfd(F_SEAL_SHRINK);
	if (cc_expect(fd >= 0, "a memfd sealed with F_SEAL_SHRINK", "%s", cc_ename(fd))) {
		import_zero_copy(&c, fd);
		cc_expect_ret(bo_import(c.dev, fd, 100, PAGE, &h), -EINVAL,
			      "unaligned offset: EINVAL");
		cc_expect_ret(bo_import(c.dev, fd, 0, PAGE + 1, &h), -EINVAL,
			      "unaligned size: EINVAL");
		cc_expect_ret(bo_import(c.dev, fd, 0, 0, &h), -EINVAL, "size 0: EINVAL");
		cc_expect_ret(bo_import(c.dev, fd, 0, MEM_BYTES + PAGE, &h), -EINVAL,
			      "size past the end of the file: EINVAL");
		cc_expect_ret(bo_import(c.dev, fd, MEM_BYTES, PAGE, &h), -EINVAL,
			      "offset at the end of the file: EINVAL");
		cc_expect_ret(bo_import(c.dev, fd, MEM_BYTES - PAGE, 2 * PAGE, &h), -EINVAL,
			      "range straddling the end of the file: EINVAL");
		close(fd);
	}

	/* A regular file with a name: not a memfd. */
	fd = mkostemp(tmpl, O_CLOEXEC);
	if (cc_expect(fd >= 0, "a regular file in /tmp", "%s", strerror(errno))) {
		cc_expect(ftruncate(fd, MEM_BYTES) == 0, "size the regular file", "%s",
			  strerror(errno));
		cc_expect_ret(bo_import(c.dev, fd, 0, MEM_BYTES, &h), -EINVAL,
			      "import of a regular file: EINVAL");
		unlink(tmpl);
		close(fd);
	}

	/* fd numbers that name nothing in this process. */
	bad = dup(1);
	if (bad >= 0) {
		close(bad);
		cc_expect_ret(bo_import(c.dev, bad, 0, PAGE, &h), -EBADF,
			      "import of a closed fd number: EBADF");
	}
	cc_expect_ret(bo_import(c.dev, 1 << 20, 0, PAGE, &h), -EBADF,
		      "import of an fd number past the table: EBADF");
	check_alive(&c, "after the imports");
	cc_ctx_close(&c);
}

/* ---- 2. truncation ----------------------------------------------------- */

/*
 * Every kind of job touching the bound range at VA_UP (now without
 * pages) fails with -EFAULT, from the exec or its wait.
 */
static void jobs_fault(struct cc_ctx *c, const char *who)
{
	char check[128];
	int64_t sum;

	snprintf(check, sizeof(check), "%s: STORE_DWORD into it faults", who);
	cc_expect_ret(run_store(c, VA_UP + 8, 1), -EFAULT, check);
	snprintf(check, sizeof(check), "%s: FILL of it faults", who);
	cc_expect_ret(run_fill(c, VA_UP, 2 * PAGE, 2), -EFAULT, check);
	snprintf(check, sizeof(check), "%s: COPY out of it faults", who);
	cc_expect_ret(run_copy(c, VA_SCRATCH, VA_UP, PAGE), -EFAULT, check);
	snprintf(check, sizeof(check), "%s: COPY into it faults", who);
	cc_expect_ret(run_copy(c, VA_UP + PAGE, VA_SCRATCH, PAGE), -EFAULT, check);
	snprintf(check, sizeof(check), "%s: CHECKSUM of it faults", who);
	sum = run_checksum(c, VA_UP, MEM_BYTES);
	cc_expect(sum == -EFAULT, check, "got %" PRId64 " (%s)", sum,
		  sum < 0 ? cc_ename((int)sum) : "a checksum");
}

/* Bind @mem at VA_UP and see a store land there. */
static bool bind_and_store(struct cc_ctx *c, void *mem, const char *who)
{
	volatile uint32_t *p = mem;
	char check[128];

	snprintf(check, sizeof(check), "%s: bind as userptr", who);
	if (!cc_expect_ret(ugpu_vm_bind_userptr(c->dev, c->vm, VA_UP, mem, MEM_BYTES, 0), 0,
			   check))
		return false;
	snprintf(check, sizeof(check), "%s: a store into it completes", who);
	if (!cc_expect_ret(run_store(c, VA_UP + 4, MAGIC), 0, check))
		return false;
	snprintf(check, sizeof(check), "%s: the store is visible", who);
	return cc_expect(p[1] == MAGIC, check, "read %#x", p[1]);
}

/* An fd on the file behind the mapping at @p (root: /proc/self/map_files). */
static int open_mapping(void *p, size_t len)
{
	char path[96];
	int fd;

	snprintf(path, sizeof(path), "/proc/self/map_files/%lx-%lx", (unsigned long)p,
		 (unsigned long)p + len);
	fd = open(path, O_RDWR | O_CLOEXEC);
	return fd < 0 ? -errno : fd;
}

/* An unsealed memfd, MAP_SHARED, bound; the client truncates it to 0. */
static void sc_truncate_memfd(const char *path)
{
	struct cc_ctx c;
	void *mem;
	int fd;

	if (!cc_ctx_open_ok(&c, path, 0, NULL))
		return;
	fd = make_memfd(-1);
	if (!cc_expect(fd >= 0, "an unsealed memfd", "%s", cc_ename(fd)))
		return;
	mem = mmap(NULL, MEM_BYTES, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
	if (!cc_expect(mem != MAP_FAILED, "map it shared", "%s", strerror(errno)))
		return;
	memset(mem, 0, MEM_BYTES);
	if (!bind_and_store(&c, mem, "unsealed memfd"))
		return;
	/* From here on the client must not touch mem itself: SIGBUS. */
	cc_expect(ftruncate(fd, 0) == 0, "the client truncates the memfd to 0", "%s",
		  strerror(errno));
	jobs_fault(&c, "truncated memfd");
	check_alive(&c, "truncated memfd");
	cc_expect_ret(ugpu_vm_unbind(c.dev, c.vm, VA_UP, MEM_BYTES), 0, "unbind it");
	munmap(mem, MEM_BYTES);
	close(fd);
	cc_ctx_close(&c);
}

/* ugpu_host_alloc memory is sealed: the client cannot shrink it. */
static void sc_truncate_sealed(const char *path)
{
	volatile uint32_t *p;
	struct cc_ctx c;
	void *mem;
	int fd;

	if (!cc_ctx_open_ok(&c, path, 0, NULL))
		return;
	mem = ugpu_host_alloc(c.dev, MEM_BYTES);
	if (!cc_expect(mem != NULL, "ugpu_host_alloc", "NULL"))
		return;
	p = mem;
	memset(mem, 0, MEM_BYTES);
	if (!bind_and_store(&c, mem, "host_alloc memory"))
		return;
	fd = open_mapping(mem, MEM_BYTES);
	if (cc_expect(fd >= 0, "open the file behind host_alloc memory", "%s", cc_ename(fd))) {
		int r = ftruncate(fd, 0);

		cc_expect(r < 0 && errno == EPERM,
			  "ftruncate of host_alloc memory fails with EPERM", "got %d (%s)", r,
			  r ? strerror(errno) : "success");
		close(fd);
	}
	cc_expect_ret(run_store(&c, VA_UP + 8, MAGIC + 1), 0, "a store into it still works");
	cc_expect(p[2] == MAGIC + 1, "the store is visible", "read %#x", p[2]);
	check_alive(&c, "host_alloc memory");
	cc_expect_ret(ugpu_vm_unbind(c.dev, c.vm, VA_UP, MEM_BYTES), 0, "unbind it");
	ugpu_host_free(c.dev, mem, MEM_BYTES);
	cc_ctx_close(&c);
}

/* MAP_SHARED|MAP_ANONYMOUS is a shmem file too: truncate it under the GPU. */
static void sc_truncate_anon(const char *path)
{
	struct cc_ctx c;
	void *mem;
	int fd;

	if (!cc_ctx_open_ok(&c, path, 0, NULL))
		return;
	mem = mmap(NULL, MEM_BYTES, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS, -1, 0);
	if (!cc_expect(mem != MAP_FAILED, "map shared anonymous memory", "%s", strerror(errno)))
		return;
	memset(mem, 0, MEM_BYTES);
	if (!bind_and_store(&c, mem, "shared anonymous memory"))
		return;
	fd = open_mapping(mem, MEM_BYTES);
	if (!cc_expect(fd >= 0, "open the file behind the shared anonymous mapping", "%s",
		       cc_ename(fd)))
		return;
	cc_expect(ftruncate(fd, 0) == 0, "the client truncates it to 0", "%s", strerror(errno));
	close(fd);
	jobs_fault(&c, "truncated shared anonymous memory");
	check_alive(&c, "truncated shared anonymous memory");
	cc_expect_ret(ugpu_vm_unbind(c.dev, c.vm, VA_UP, MEM_BYTES), 0, "unbind it");
	munmap(mem, MEM_BYTES);
	cc_ctx_close(&c);
}

/* ---- 3. large pread/pwrite ---------------------------------------------- */

/* pread/pwrite of @len bytes through a buffer with its middle page unmapped. */
static void rw_hole(struct cc_ctx *c, uint32_t bo, size_t len, const char *who)
{
	char check[128];
	uint8_t *buf = cc_map_anon(len);

	if (!buf) {
		cc_expect(false, who, "mmap: %s", strerror(errno));
		return;
	}
	memset(buf, 0x11, len);
	munmap(buf + (len / 2 & ~(PAGE - 1)), PAGE);
	snprintf(check, sizeof(check), "%s: pread into a buffer with a hole: EFAULT", who);
	cc_expect_ret(ugpu_bo_pread(c->dev, bo, 0, buf, len), -EFAULT, check);
	snprintf(check, sizeof(check), "%s: pwrite from a buffer with a hole: EFAULT", who);
	cc_expect_ret(ugpu_bo_pwrite(c->dev, bo, 0, buf, len), -EFAULT, check);
	munmap(buf, len);
}

static void sc_large_rw(const char *path)
{
	uint8_t *wbuf, *rbuf;
	struct cc_ctx c;
	uint32_t bo, cpu;
	int64_t gpu;

	if (!cc_ctx_open_ok(&c, path, 0, NULL))
		return;
	cc_expect(crc32c("123456789", 9) == 0xe3069283u, "CPU CRC32C check value",
		  "got %#x", crc32c("123456789", 9));
	if (!cc_expect_ret(ugpu_bo_create(c.dev, BIG_BYTES, 0, &bo), 0, "create a 16 MiB BO"))
		return;
	wbuf = cc_map_anon(BIG_BYTES);
	rbuf = cc_map_anon(BIG_BYTES);
	if (!cc_expect(wbuf && rbuf, "buffers", "mmap failed"))
		return;
	pattern(wbuf, BIG_BYTES, 0x1234567);
	cpu = crc32c(wbuf, BIG_BYTES);
	cc_expect_ret(ugpu_bo_pwrite(c.dev, bo, 0, wbuf, BIG_BYTES), 0, "pwrite 16 MiB");
	if (cc_expect_ret(ugpu_vm_bind_bo(c.dev, c.vm, VA_BIG, bo, 0, BIG_BYTES, 0), 0,
			  "bind the BO")) {
		gpu = run_checksum(&c, VA_BIG, BIG_BYTES);
		cc_expect(gpu == cpu, "GPU CHECKSUM of the BO = CPU CRC32C of what was written",
			  "GPU %" PRId64 " (%#" PRIx64 "), CPU %#x", gpu, (uint64_t)gpu, cpu);
		ugpu_vm_unbind(c.dev, c.vm, VA_BIG, BIG_BYTES);
	}
	memset(rbuf, 0, BIG_BYTES);
	cc_expect_ret(ugpu_bo_pread(c.dev, bo, 0, rbuf, BIG_BYTES), 0, "pread 16 MiB");
	cc_expect(!memcmp(rbuf, wbuf, BIG_BYTES), "pread returns what pwrite wrote",
		  "contents differ");
	/* Offsets: a large piece from the middle. */
	memset(rbuf, 0, BIG_BYTES);
	cc_expect_ret(ugpu_bo_pread(c.dev, bo, 3 * MIB + 4, rbuf, 5 * MIB), 0,
		      "pread 5 MiB at an unaligned offset");
	cc_expect(!memcmp(rbuf, wbuf + 3 * MIB + 4, 5 * MIB), "it is the right piece",
		  "contents differ");

	rw_hole(&c, bo, HOLE_BYTES, "2 MiB (worker copy)");
	rw_hole(&c, bo, 3 * PAGE, "12 KiB (inline copy)");
	check_alive(&c, "after the faulting copies");
	munmap(wbuf, BIG_BYTES);
	munmap(rbuf, BIG_BYTES);
	ugpu_bo_destroy(c.dev, bo);
	cc_ctx_close(&c);
}

struct reader {
	struct ugpu *dev;
	uint32_t bo;
	uint8_t *buf;
	size_t len;
	pthread_t thread;
	int ret;			/* valid once done */
	int done;			/* atomic */
};

static void *reader_main(void *arg)
{
	struct reader *r = arg;

	r->ret = ugpu_bo_pread(r->dev, r->bo, 0, r->buf, r->len);
	__atomic_store_n(&r->done, 1, __ATOMIC_RELEASE);
	return NULL;
}

static uint32_t peek(const uint8_t *p)
{
	return __atomic_load_n((const uint32_t *)p, __ATOMIC_ACQUIRE);
}

/*
 * One try: a thread preads CONC_BYTES of zeroes over SENTINEL; once the
 * first page has changed (the copy runs), this thread queries; if the
 * last page still holds SENTINEL when the query returns, the daemon
 * answered while the copy was still in flight. Return 1 for that, 0 if
 * the copy ended first (no conclusion), -1 on a failed check.
 */
static int concurrent_try(struct cc_ctx *c, uint32_t bo, uint8_t *buf, int *queries)
{
	struct ugpu_info info;
	struct reader r = { .dev = c->dev, .bo = bo, .buf = buf, .len = CONC_BYTES };
	uint8_t *last = buf + CONC_BYTES - 4;
	long long end = cc_now_ms() + POLL_MS;
	bool beside = false;
	int ret = 0;

	memset(buf, 0xa5, CONC_BYTES);
	if (pthread_create(&r.thread, NULL, reader_main, &r))
		return cc_expect(false, "start the reader", "pthread_create") ? 0 : -1;
	while (peek(buf) == SENTINEL && !__atomic_load_n(&r.done, __ATOMIC_ACQUIRE) &&
	       cc_now_ms() < end)
		nap_us(20);
	/* The copy has started (or ended, or never began: judged below). */
	while (peek(buf) != SENTINEL && !__atomic_load_n(&r.done, __ATOMIC_ACQUIRE)) {
		ret = ugpu_query(c->dev, &info);
		if (ret)
			break;
		if (peek(last) == SENTINEL) {
			beside = true;	/* answered before the copy reached its end */
			++*queries;
		}
	}
	pthread_join(r.thread, NULL);
	if (!cc_expect_ret(ret, 0, "ugpu_query beside the pread") ||
	    !cc_expect_ret(r.ret, 0, "the large pread") ||
	    !cc_expect(all_bytes(buf, CONC_BYTES, 0), "the pread wrote the BO's zeroes",
		       "wrong bytes"))
		return -1;
	return beside ? 1 : 0;
}

static void sc_large_concurrent(const char *path)
{
	struct cc_ctx c;
	uint8_t *buf;
	uint32_t bo;
	int tries, got = 0, queries = 0;

	if (!cc_ctx_open_ok(&c, path, 0, NULL))
		return;
	if (!cc_expect_ret(ugpu_bo_create(c.dev, CONC_BYTES, 0, &bo), 0, "create a 128 MiB BO"))
		return;
	buf = cc_map_anon(CONC_BYTES);
	if (!cc_expect(buf != NULL, "buffer", "mmap failed"))
		return;
	for (tries = 0; tries < 5 && !got; tries++) {
		got = concurrent_try(&c, bo, buf, &queries);
		if (got < 0)
			break;
	}
	if (got >= 0) {
		cc_note("%d queries answered while a 128 MiB pread was in flight (try %d)", queries,
			tries);
		cc_expect(got == 1, "ugpu_query completes while a large pread is in flight",
			  "in %d tries no query returned before the copy reached its end", tries);
	}
	munmap(buf, CONC_BYTES);
	ugpu_bo_destroy(c.dev, bo);
	cc_ctx_close(&c);
}

/* pwrite 256 MiB again and again until the test kills us (or a bound). */
static void sc_pwrite_loop(const char *path)
{
	long long end = cc_now_ms() + 6 * POLL_MS;
	struct cc_ctx c;
	uint8_t *buf;
	uint32_t bo;
	int ret, n = 0;

	if (!cc_ctx_open_ok(&c, path, 0, NULL))
		return;
	if (!cc_expect_ret(ugpu_bo_create(c.dev, KILL_BYTES, 0, &bo), 0, "create a 256 MiB BO"))
		return;
	buf = cc_map_anon(KILL_BYTES);
	if (!cc_expect(buf != NULL, "buffer", "mmap failed"))
		return;
	pattern(buf, KILL_BYTES, 42);
	printf("ready\n");
	do {
		ret = ugpu_bo_pwrite(c.dev, bo, 0, buf, KILL_BYTES);
		n++;
	} while (!ret && cc_now_ms() < end);
	cc_expect(false, "killed during a pwrite", "still alive after %d pwrites (last %d)", n,
		  ret);
}

/* ---- 4. a forked child ------------------------------------------------- */

static void sc_fork_rw(const char *path)
{
	uint8_t small[PAGE], *big, *back;
	int res[4] = { 1, 1, 1, 1 }, pfd[2], st = 0;
	uint32_t bo, bigbo;
	struct cc_ctx c;
	pid_t pid;

	if (!cc_ctx_open_ok(&c, path, 0, NULL))
		return;
	if (!cc_expect_ret(ugpu_bo_create(c.dev, PAGE, 0, &bo), 0, "create a small BO") ||
	    !cc_expect_ret(ugpu_bo_create(c.dev, HOLE_BYTES, 0, &bigbo), 0, "create a 2 MiB BO"))
		return;
	big = cc_map_anon(HOLE_BYTES);
	back = cc_map_anon(HOLE_BYTES);
	if (!cc_expect(big && back, "buffers", "mmap failed"))
		return;
	pattern(small, PAGE, 7);
	pattern(big, HOLE_BYTES, 8);
	cc_expect_ret(ugpu_bo_pwrite(c.dev, bo, 0, small, PAGE), 0, "parent: pwrite");
	cc_expect_ret(ugpu_bo_pwrite(c.dev, bigbo, 0, big, HOLE_BYTES), 0, "parent: large pwrite");
	if (!cc_expect(pipe(pfd) == 0, "pipe", "%s", strerror(errno)))
		return;
	fflush(stdout);
	pid = fork();
	if (pid < 0) {
		cc_expect(false, "fork", "%s", strerror(errno));
		return;
	}
	if (pid == 0) {
		/* The child's own buffers, same addresses: only the mm differs. */
		memset(small, 0xee, PAGE);
		memset(big, 0xee, HOLE_BYTES);
		res[0] = ugpu_bo_pwrite(c.dev, bo, 0, small, PAGE);
		res[1] = ugpu_bo_pread(c.dev, bo, 0, small, PAGE);
		res[2] = ugpu_bo_pwrite(c.dev, bigbo, 0, big, HOLE_BYTES);
		res[3] = ugpu_bo_pread(c.dev, bigbo, 0, big, HOLE_BYTES);
		_exit(write(pfd[1], res, sizeof(res)) == sizeof(res) ? 0 : 1);
	}
	close(pfd[1]);
	cc_expect(read(pfd[0], res, sizeof(res)) == sizeof(res), "the child reports", "short read");
	close(pfd[0]);
	waitpid(pid, &st, 0);
	cc_expect_ret(res[0], -EFAULT, "child: pwrite through the parent's device: EFAULT");
	cc_expect_ret(res[1], -EFAULT, "child: pread through the parent's device: EFAULT");
	cc_expect_ret(res[2], -EFAULT, "child: large pwrite through the parent's device: EFAULT");
	cc_expect_ret(res[3], -EFAULT, "child: large pread through the parent's device: EFAULT");

	/* Nothing the child sent landed; the parent still reads and writes. */
	memset(back, 0, HOLE_BYTES);
	cc_expect_ret(ugpu_bo_pread(c.dev, bo, 0, back, PAGE), 0, "parent: pread after the child");
	cc_expect(!memcmp(back, small, PAGE), "parent: the small BO is unchanged", "differs");
	cc_expect_ret(ugpu_bo_pread(c.dev, bigbo, 0, back, HOLE_BYTES), 0,
		      "parent: large pread after the child");
	cc_expect(!memcmp(back, big, HOLE_BYTES), "parent: the large BO is unchanged", "differs");
	munmap(big, HOLE_BYTES);
	munmap(back, HOLE_BYTES);
	ugpu_bo_destroy(c.dev, bo);
	ugpu_bo_destroy(c.dev, bigbo);
	cc_ctx_close(&c);
}

/* ---- a new client works ----------------------------------------------- */

static void sc_smoke(const char *path)
{
	uint8_t in[PAGE], out[PAGE];
	struct cc_ctx c;
	uint32_t bo;

	if (!cc_ctx_open_ok(&c, path, 0, NULL))
		return;
	cc_expect_ret(run_store(&c, VA_OUT, MAGIC), 0, "store into host memory");
	cc_expect(c.ctl[CTL_OUT] == MAGIC, "the store is visible", "read %#x", c.ctl[CTL_OUT]);
	if (cc_expect_ret(ugpu_bo_create(c.dev, PAGE, 0, &bo), 0, "create a BO")) {
		pattern(in, PAGE, 3);
		cc_expect_ret(ugpu_bo_pwrite(c.dev, bo, 0, in, PAGE), 0, "pwrite");
		cc_expect_ret(ugpu_bo_pread(c.dev, bo, 0, out, PAGE), 0, "pread");
		cc_expect(!memcmp(in, out, PAGE), "pread returns what pwrite wrote", "differs");
		ugpu_bo_destroy(c.dev, bo);
	}
	cc_ctx_close(&c);
}

static const struct cc_scenario scenarios[] = {
	{ "import", sc_import },
	{ "truncate-memfd", sc_truncate_memfd },
	{ "truncate-sealed", sc_truncate_sealed },
	{ "truncate-anon", sc_truncate_anon },
	{ "large-rw", sc_large_rw },
	{ "large-concurrent", sc_large_concurrent },
	{ "pwrite-loop", sc_pwrite_loop },
	{ "fork-rw", sc_fork_rw },
	{ "smoke", sc_smoke },
};

int main(int argc, char **argv)
{
	crc_init();
	_exit(cc_main(argc, argv, scenarios, sizeof(scenarios) / sizeof(scenarios[0])));
}
