// SPDX-License-Identifier: MIT
/*
 * The ugpu demo: real work on ordinary malloc'd memory through userptr.
 * Binds two input vectors and an output vector the program allocated
 * itself into a GPU VM, runs ADD_U32, SAXPY_F32 and CHECKSUM jobs on the
 * GPU, checks every result against the CPU, then replaces part of an
 * input with new memory (mmap MAP_FIXED) in the middle of the run and
 * shows that the next job computes with the new memory: the daemon saw
 * the invalidation and revalidated the binding.
 *
 * Build against an installed libugpu:
 *   cc vector_demo.c $(pkg-config --cflags --libs ugpu)
 * Run with the daemon up (UGPU_DEVICE=/run/ugpu/card0 or the default).
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <ugpu.h>

#define N		(1u << 20)		/* elements per vector */
#define BYTES		(N * 4ull)
#define VA_A		0x10000000ull
#define VA_B		0x20000000ull
#define VA_OUT		0x30000000ull
#define VA_X		0x40000000ull
#define VA_Y		0x50000000ull
#define VA_CMD		0x60000000ull
#define CMD_BYTES	4096ull
#define VA_RESULT	(VA_CMD + 2048)	/* the checksum lands here */

static struct ugpu *dev;
static uint32_t vm;
static void *cmdmem;

static int die(const char *what, int err)
{
	fprintf(stderr, "vector_demo: %s: %s\n", what, strerror(-err));
	exit(1);
}

/* Reflected CRC32C, bit by bit: the CPU's side of CHECKSUM. */
static uint32_t crc32c(const void *p, size_t n)
{
	const uint8_t *b = p;
	uint32_t c = 0xffffffffu;

	while (n--) {
		c ^= *b++;
		for (int k = 0; k < 8; k++)
			c = (c >> 1) ^ (0x82f63b78u & -(c & 1));
	}
	return c ^ 0xffffffffu;
}

/* Encode with @build, run it on the render engine, wait. */
static int run(const char *what, void (*build)(struct ugpu_cmdbuf *cb))
{
	struct ugpu_cmdbuf cb;
	uint64_t fence;
	int ret;

	ugpu_cmd_init(&cb, cmdmem, 2048);
	build(&cb);
	ret = ugpu_cmd_end(&cb);
	if (ret)
		die("encode", ret);
	ret = ugpu_exec(dev, vm, 0, VA_CMD, cb.len * 4, &fence);
	if (ret)
		die(what, ret);
	ret = ugpu_wait(dev, fence, 10ll * 1000 * 1000 * 1000);
	printf("  job %-28s fence %llu: %s\n", what, (unsigned long long)fence,
	       ret ? strerror(-ret) : "done");
	return ret;
}

static void build_add(struct ugpu_cmdbuf *cb)
{
	ugpu_cmd_add_u32(cb, VA_OUT, VA_A, VA_B, N);
	ugpu_cmd_checksum(cb, VA_RESULT, VA_OUT, BYTES);
}

static void build_saxpy(struct ugpu_cmdbuf *cb)
{
	ugpu_cmd_saxpy_f32(cb, VA_Y, VA_X, N, 2.5f);
}

static int check_add(const uint32_t *a, const uint32_t *b, const uint32_t *out)
{
	uint32_t gpu_crc = *(volatile uint32_t *)((char *)cmdmem + 2048);

	for (uint32_t i = 0; i < N; i++) {
		if (out[i] != a[i] + b[i]) {
			printf("  MISMATCH at %u: %u + %u != %u\n", i, a[i], b[i], out[i]);
			return 1;
		}
	}
	if (gpu_crc != crc32c(out, BYTES)) {
		printf("  CHECKSUM MISMATCH: gpu %08x cpu %08x\n", gpu_crc, crc32c(out, BYTES));
		return 1;
	}
	printf("  verified %u sums on the CPU; GPU CRC32C of the result %08x matches\n",
	       N, gpu_crc);
	return 0;
}

int main(void)
{
	struct ugpu_info info;
	uint32_t *a, *b, *out;
	float *x, *y;
	int ret, bad = 0;

	ret = ugpu_open(NULL, &dev);
	if (ret)
		die("open the device (is ugpud running? set UGPU_DEVICE)", ret);
	if ((ret = ugpu_query(dev, &info)))
		die("query", ret);
	printf("device: backend %s, %u engines, %llu-bit GPU VA\n", info.backend,
	       info.num_engines, (unsigned long long)info.va_bits);
	if ((ret = ugpu_vm_create(dev, 0, &vm)))
		die("vm create", ret);

	/* Ordinary process memory: this is what userptr is for. */
	a = aligned_alloc(4096, BYTES);
	b = aligned_alloc(4096, BYTES);
	out = aligned_alloc(4096, BYTES);
	x = aligned_alloc(4096, BYTES);
	y = aligned_alloc(4096, BYTES);
	cmdmem = ugpu_host_alloc(dev, CMD_BYTES);
	if (!a || !b || !out || !x || !y || !cmdmem)
		die("allocate", -ENOMEM);
	for (uint32_t i = 0; i < N; i++) {
		a[i] = i;
		b[i] = 3 * i + 7;
		out[i] = 0;
		x[i] = (float)i;
		y[i] = 1.0f;
	}

	printf("binding 5 malloc'd vectors of %llu KiB and the command page\n",
	       (unsigned long long)(BYTES >> 10));
	if ((ret = ugpu_vm_bind_userptr(dev, vm, VA_A, a, BYTES, UGPU_BIND_READONLY)) ||
	    (ret = ugpu_vm_bind_userptr(dev, vm, VA_B, b, BYTES, UGPU_BIND_READONLY)) ||
	    (ret = ugpu_vm_bind_userptr(dev, vm, VA_OUT, out, BYTES, 0)) ||
	    (ret = ugpu_vm_bind_userptr(dev, vm, VA_X, x, BYTES, UGPU_BIND_READONLY)) ||
	    (ret = ugpu_vm_bind_userptr(dev, vm, VA_Y, y, BYTES, 0)) ||
	    (ret = ugpu_vm_bind_userptr(dev, vm, VA_CMD, cmdmem, CMD_BYTES, 0)))
		die("bind", ret);

	printf("1. out = a + b, then CRC32C(out)\n");
	bad |= run("ADD_U32 + CHECKSUM", build_add) || check_add(a, b, out);

	printf("2. y = 2.5 * x + y\n");
	bad |= run("SAXPY_F32", build_saxpy);
	for (uint32_t i = 0; i < N && !bad; i++)
		if (y[i] != 2.5f * (float)i + 1.0f) {
			printf("  MISMATCH at %u: %f\n", i, y[i]);
			bad = 1;
		}
	if (!bad)
		printf("  verified %u results on the CPU\n", N);

	/*
	 * Mid-run, replace the second quarter of `a` with brand-new memory
	 * holding other values. The GPU mapping follows the virtual range:
	 * the next job must compute with the new pages.
	 */
	{
		size_t off = BYTES / 4, len = BYTES / 4;
		uint32_t *fresh = mmap((char *)a + off, len, PROT_READ | PROT_WRITE,
				       MAP_FIXED | MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);

		if (fresh == MAP_FAILED)
			die("mmap MAP_FIXED", -errno);
		for (size_t i = 0; i < len / 4; i++)
			fresh[i] = 1000000 + i;
		printf("3. replaced a[%zu..%zu) with new memory (mmap MAP_FIXED)\n",
		       off / 4, (off + len) / 4);
	}
	bad |= run("ADD_U32 + CHECKSUM again", build_add) || check_add(a, b, out);
	if (!bad)
		printf("  the GPU computed with the new memory: out[%u] = %u\n", N / 4,
		       out[N / 4]);

	ugpu_close(dev);
	printf(bad ? "vector_demo: FAILED\n" : "vector_demo: all results correct\n");
	return bad;
}
