// SPDX-License-Identifier: MIT
/*
 * The client side of the ioctl harness: its memory, the handles the
 * daemon gave it, and how an ioctl struct from the fuzzer's bytes is made
 * plausible (FIX_* bits: zeroed reserved fields, real handles, pointers
 * into client memory with arrays filled from the input, small aligned
 * shapes, near timeouts) so deep paths are reached, and always made safe:
 * the client is the fuzzer's own process, so a BO_PREAD to a random
 * address would corrupt the harness, and a userptr over, say, the ASan
 * heap would register it with the userfaultfd, after which an munmap by
 * the allocator would block until the loop thread, itself, read the
 * event. Those pointers always land in the harness's client memory.
 */
#include <errno.h>
#include <fcntl.h>
#include <linux/userfaultfd.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

#include "ioctl_fix.h"
#include "uapi/ugpu.h"

#ifndef UFFD_USER_MODE_ONLY
#define UFFD_USER_MODE_ONLY 1
#endif

#define NREC		8	/* handles remembered per kind */
#define MAX_ARRAY_BINDS	16	/* bind ops taken from the input */
#define MAX_ARRAY_SYNCS	8	/* syncs taken from the input */
#define SCRATCH_BINDS	(fx_reg[R_SCRATCH].base)
#define SCRATCH_SYNCS	(fx_reg[R_SCRATCH].base + 512 * sizeof(struct ugpu_vm_bind_op))

struct region fx_reg[NREGIONS];
int fx_memfd = -1;

/*
 * UGPU_FUZZ_AVOID=addr-max,gate-uaf steers around bugs already reported
 * and kept as crash-* inputs, so that a long run looks for the next one
 * (add a switch here for the next such bug; remove it once fixed):
 *   addr-max   crash-dma-port-read-at-addr-max-hangs: client address
 *              2^64-1 makes dma_port_read/write loop forever
 *   gate-uaf   crash-gate-use-after-free-job-running-at-release: a job
 *              running at the last close can enter the freed gate; the
 *              harness lets jobs finish before a release (ioctl_fuzz.c)
 */
static bool avoid_addr_max;
bool fx_avoid_gate_uaf;

/* Handles and ids the daemon handed out, newest NREC of each. */
static struct {
	uint32_t vm[NREC], bo[NREC], so[NREC];
	uint64_t fence[NREC];
	unsigned int nvm, nbo, nso, nfence;
} rec;

void fx_init(void)
{
	const uint64_t sizes[] = { 256 << 10, 256 << 10, 64 << 10, 64 << 10 };
	const char *av = getenv("UGPU_FUZZ_AVOID");
	uint64_t total = PAGE, at;
	char *r;

	avoid_addr_max = av && strstr(av, "addr-max");
	fx_avoid_gate_uaf = av && strstr(av, "gate-uaf");
	for (int i = 0; i < 4; i++)
		total += sizes[i] + PAGE;
	r = mmap(NULL, total, PROT_NONE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
	FUZZ_REQUIRE(r != MAP_FAILED, "reserve client memory");
	/* Sealed against shrinking, as imports and completion pages must be. */
	fx_memfd = memfd_create("ugpu-fuzz", MFD_CLOEXEC | MFD_ALLOW_SEALING);
	FUZZ_REQUIRE(fx_memfd >= 0 && ftruncate(fx_memfd, MEMFD_SIZE) == 0 &&
		     fcntl(fx_memfd, F_ADD_SEALS, F_SEAL_SHRINK) == 0, "memfd");
	at = (uint64_t)(uintptr_t)r + PAGE;
	for (int i = 0; i < 4; i++) {
		int prot = i == R_RO ? PROT_READ : PROT_READ | PROT_WRITE;
		void *p;

		fx_reg[i] = (struct region){ at, sizes[i] };
		if (i == R_SHARED)
			p = mmap((void *)at, sizes[i], prot, MAP_SHARED | MAP_FIXED, fx_memfd, 0);
		else
			p = mmap((void *)at, sizes[i], prot,
				 MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED, -1, 0);
		FUZZ_REQUIRE(p == (void *)at, "map region %d", i);
		at += sizes[i] + PAGE;
	}
	/* Size 0: just the guard page after the private region. */
	fx_reg[R_GUARD] = (struct region){ fx_reg[R_PRIV].base + fx_reg[R_PRIV].size, 0 };
	/* Below every mmap the kernel picks on its own (top-down layout). */
	fx_reg[R_HOLE] = (struct region){ 0x10000, 0x10000 };
}

void fx_reset(void)
{
	/* Every input starts from the same client memory (reproducible). */
	memset((void *)(uintptr_t)fx_reg[R_PRIV].base, 0, fx_reg[R_PRIV].size);
	memset((void *)(uintptr_t)fx_reg[R_SCRATCH].base, 0, fx_reg[R_SCRATCH].size);
	FUZZ_REQUIRE(fallocate(fx_memfd, FALLOC_FL_PUNCH_HOLE | FALLOC_FL_KEEP_SIZE, 0,
			       MEMFD_SIZE) == 0, "clear the memfd");
	memset(&rec, 0, sizeof(rec));
}

int fx_region_of(uint64_t addr, unsigned int mask)
{
	for (int r = 0; r < NREGIONS; r++)
		if ((mask & M(r)) && addr >= fx_reg[r].base &&
		    addr - fx_reg[r].base < fx_reg[r].size + PAGE)
			return r;
	return -1;
}

/*
 * Map a raw 64-bit value to an address in one of @mask's regions: bits
 * 56..63 pick the region, bits 12..55 the page (up to the guard page after
 * it), and the low 12 bits stay (an unaligned value stays unaligned).
 */
static uint64_t confine(uint64_t raw, unsigned int mask)
{
	unsigned int n = __builtin_popcount(mask), k = (raw >> 56) % n;
	uint64_t pages;
	int r;

	for (r = 0; r < NREGIONS; r++)
		if ((mask & M(r)) && k-- == 0)
			break;
	pages = fx_reg[r].size / PAGE + 1;
	return fx_reg[r].base + ((raw >> 12) & ((1ull << 44) - 1)) % pages * PAGE +
	       (raw & (PAGE - 1));
}

static uint64_t avoid(uint64_t addr)
{
	return avoid_addr_max && addr == UINT64_MAX ? UINT64_MAX - 1 : addr;
}

/* ---- handles ------------------------------------------------------------- */

static void record(uint32_t *ring, unsigned int *n, uint32_t v)
{
	ring[(*n)++ % NREC] = v;
}

static uint32_t pick(const uint32_t *ring, unsigned int n, uint32_t raw)
{
	if (!n || (raw & 0xf0000000u) == 0xf0000000u)	/* sometimes keep the raw value */
		return raw;
	return ring[raw % (n < NREC ? n : NREC)];
}

void fx_record_reply(unsigned int cmd, const void *buf)
{
	switch (cmd) {
	case UGPU_IOCTL_VM_CREATE:
		record(rec.vm, &rec.nvm, ((const struct ugpu_vm_create *)buf)->vm_id);
		break;
	case UGPU_IOCTL_BO_CREATE:
		record(rec.bo, &rec.nbo, ((const struct ugpu_bo_create *)buf)->handle);
		break;
	case UGPU_IOCTL_BO_IMPORT:
		record(rec.bo, &rec.nbo, ((const struct ugpu_bo_import *)buf)->handle);
		break;
	case UGPU_IOCTL_SYNCOBJ_CREATE:
		record(rec.so, &rec.nso, ((const struct ugpu_syncobj_create *)buf)->handle);
		break;
	case UGPU_IOCTL_EXEC:
		rec.fence[rec.nfence++ % NREC] = ((const struct ugpu_exec *)buf)->fence;
		break;
	}
}

/* ---- confinement: always ------------------------------------------------- */

/* A userptr op may only name client memory of the harness. */
static void confine_userptr(struct ugpu_vm_bind_op *op)
{
	uint64_t max;
	int r;

	if (op->op != UGPU_VM_BIND_OP_MAP_USERPTR)
		return;
	/* Refused with EOVERFLOW before anything is registered. */
	if (op->range && op->obj_offset > UINT64_MAX - (op->range - 1) &&
	    op->va % PAGE == 0 && op->range % PAGE == 0)
		return;
	r = fx_region_of(op->obj_offset, USERPTR_REGIONS);
	if (r < 0) {
		op->obj_offset = confine(op->obj_offset, USERPTR_REGIONS);
		r = fx_region_of(op->obj_offset, USERPTR_REGIONS);
	}
	max = fx_reg[r].base + fx_reg[r].size + PAGE - op->obj_offset;
	if (op->range > max)
		op->range = max & ~(PAGE - 1);
}

/*
 * The bind ops the daemon will read from scratch at @ptr: confine their
 * userptrs in place (only whole ops inside scratch can be read at all).
 */
static void confine_bind_array(uint64_t ptr, uint32_t n)
{
	uint64_t end = fx_reg[R_SCRATCH].base + fx_reg[R_SCRATCH].size;
	struct ugpu_vm_bind_op op;

	if (fx_region_of(ptr, M(R_SCRATCH)) < 0)
		return;
	for (uint32_t i = 0; i < n && i < 512 && ptr + (i + 1) * sizeof(op) <= end; i++) {
		memcpy(&op, (void *)(uintptr_t)(ptr + i * sizeof(op)), sizeof(op));
		confine_userptr(&op);
		memcpy((void *)(uintptr_t)(ptr + i * sizeof(op)), &op, sizeof(op));
	}
}

void fx_confine_struct(unsigned int cmd, void *data)
{
	if (cmd == UGPU_IOCTL_BO_PWRITE) {
		struct ugpu_bo_rw *rw = data;

		rw->data_ptr = avoid(rw->data_ptr);
	} else if (cmd == UGPU_IOCTL_EXEC) {
		struct ugpu_exec *e = data;

		e->syncs_ptr = avoid(e->syncs_ptr);
	} else if (cmd == UGPU_IOCTL_BO_PREAD) {
		struct ugpu_bo_rw *rw = data;

		if (fx_region_of(rw->data_ptr, USERPTR_REGIONS) < 0)
			rw->data_ptr = confine(rw->data_ptr, USERPTR_REGIONS);
	} else if (cmd == UGPU_IOCTL_VM_BIND) {
		struct ugpu_vm_bind *b = data;
		const unsigned int ok = M(R_SCRATCH) | M(R_GUARD) | M(R_HOLE);

		confine_userptr(&b->bind);
		b->syncs_ptr = avoid(b->syncs_ptr);
		if (b->num_binds > 1 && fx_region_of(b->binds_ptr, ok) < 0)
			b->binds_ptr = confine(b->binds_ptr, ok);
		if (b->num_binds > 1)
			confine_bind_array(b->binds_ptr, b->num_binds);
	}
}

/* ---- fixups: per the fix byte --------------------------------------------- */

static uint64_t now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000ull + ts.tv_nsec;
}

static int64_t timeout(uint64_t raw)
{
	switch (raw & 3) {
	case 0: return 0;					/* poll */
	case 1: return -1;					/* forever */
	case 2: return (int64_t)(now_ns() + (raw >> 2) % 5000000);
	default: return (int64_t)(now_ns() - 1000000);		/* passed */
	}
}

static void fix_bind_op(struct ugpu_vm_bind_op *op, uint8_t fix)
{
	if (fix & FIX_CLEAN) {
		op->extensions = 0;
		op->pad = 0;
		op->reserved[0] = op->reserved[1] = 0;
	}
	if (fix & FIX_SHAPE) {
		op->op %= 3;
		op->flags &= UGPU_VM_BIND_FLAG_READONLY | UGPU_VM_BIND_FLAG_PROBE;
		op->va = op->va % 64 * PAGE;
		op->range = (1 + op->range % 16) * PAGE;
		if (op->op == UGPU_VM_BIND_OP_MAP_BO) {
			op->obj_offset = op->obj_offset % 16 * PAGE;
			op->flags &= UGPU_VM_BIND_FLAG_READONLY;
		} else if (op->op == UGPU_VM_BIND_OP_MAP_USERPTR) {
			op->obj_offset = confine(op->obj_offset, USERPTR_REGIONS) & ~(PAGE - 1);
			op->handle = 0;
		} else {
			op->flags = 0;
			op->obj_offset = 0;
			op->handle = 0;
		}
	}
	if ((fix & FIX_HANDLE) && op->op == UGPU_VM_BIND_OP_MAP_BO)
		op->handle = pick(rec.bo, rec.nbo, op->handle);
	confine_userptr(op);
}

static void fix_sync(struct ugpu_sync *s, uint8_t fix)
{
	if (fix & FIX_CLEAN) {
		s->extensions = 0;
		s->pad = 0;
		s->reserved[0] = s->reserved[1] = 0;
	}
	if (fix & FIX_SHAPE) {
		s->type &= 1;
		s->flags &= UGPU_SYNC_FLAG_SIGNAL;
		s->timeline_value = s->type ? 1 + s->timeline_value % 16 : 0;
	}
	if (fix & FIX_HANDLE)
		s->handle = pick(rec.so, rec.nso, s->handle);
}

/* The sync array from the input, into scratch; its address. */
static uint64_t build_syncs(struct fuzz_in *in, uint32_t n, uint8_t fix)
{
	struct ugpu_sync *s = (struct ugpu_sync *)(uintptr_t)SCRATCH_SYNCS;

	if (!n)
		return 0;
	memset(s, 0, (n < 64 ? n : 64) * sizeof(*s));
	for (uint32_t i = 0; i < n && i < MAX_ARRAY_SYNCS; i++) {
		fuzz_bytes(in, &s[i], sizeof(s[i]));
		fix_sync(&s[i], fix);
	}
	return SCRATCH_SYNCS;
}

/* The bind op array from the input, into scratch; its address. */
static uint64_t build_binds(struct fuzz_in *in, uint32_t n, uint8_t fix)
{
	struct ugpu_vm_bind_op *ops = (void *)(uintptr_t)SCRATCH_BINDS;

	if (n <= 1)
		return 0;
	memset(ops, 0, (n <= 512 ? n : 512) * sizeof(*ops));
	for (uint32_t i = 0; i < n && i < MAX_ARRAY_BINDS; i++) {
		fuzz_bytes(in, &ops[i], sizeof(ops[i]));
		fix_bind_op(&ops[i], fix);
	}
	return SCRATCH_BINDS;
}

/* FIX_SHAPE: counts, sizes, flags and VAs that the core accepts often. */
static void shape(unsigned int cmd, void *data)
{
	switch (cmd) {
	case UGPU_IOCTL_VM_CREATE:
		((struct ugpu_vm_create *)data)->flags &= UGPU_VM_CREATE_FAULT_MODE;
		break;
	case UGPU_IOCTL_BO_CREATE: {
		struct ugpu_bo_create *c = data;

		/* Mostly small; sometimes big enough for copies on workers. */
		c->size = (c->size & 0x100) ? 512 << 10 : (1 + c->size % 16) * PAGE;
		break;
	}
	case UGPU_IOCTL_BO_IMPORT: {
		struct ugpu_bo_import *c = data;

		c->flags = 0;
		c->offset = c->offset % 128 * PAGE;
		c->size = (1 + c->size % 128) * PAGE;
		break;
	}
	case UGPU_IOCTL_BO_PREAD:
	case UGPU_IOCTL_BO_PWRITE: {
		struct ugpu_bo_rw *rw = data;

		rw->offset %= 16 * PAGE;
		rw->size %= (rw->size & 1) ? 4 * PAGE : 512 << 10;
		break;
	}
	case UGPU_IOCTL_VM_BIND: {
		struct ugpu_vm_bind *b = data;

		b->num_binds = b->num_binds % 8 < 5 ? 1 : 2 + b->num_binds % 6;
		b->num_syncs %= 4;
		break;
	}
	case UGPU_IOCTL_EXEC: {
		struct ugpu_exec *e = data;

		e->engine %= 3;		/* the sim has two: 2 is refused */
		e->batch_va = e->batch_va % (64 * PAGE) & ~3ull;
		e->batch_len = 4 * (1 + e->batch_len % 256);
		e->num_syncs %= 4;
		break;
	}
	case UGPU_IOCTL_SYNCOBJ_CREATE:
		((struct ugpu_syncobj_create *)data)->flags &= UGPU_SYNCOBJ_CREATE_SIGNALED;
		break;
	case UGPU_IOCTL_SYNCOBJ_WAIT:
		((struct ugpu_syncobj_wait *)data)->point %= 16;
		break;
	}
}

/*
 * FIX_CLEAN: every field that must be zero. Each struct starts with
 * extensions and ends with reserved[2], but for QUERY and STATS, whose
 * fields are all outputs.
 */
static void clean(unsigned int cmd, void *data)
{
	size_t size = _IOC_SIZE(cmd);

	if (cmd == UGPU_IOCTL_QUERY || cmd == UGPU_IOCTL_STATS) {
		memset(data, 0, size);
		return;
	}
	memset(data, 0, 8);
	memset((uint8_t *)data + size - 16, 0, 16);
	switch (cmd) {
	case UGPU_IOCTL_CLIENT_INIT:
		((struct ugpu_client_init *)data)->flags = 0;
		break;
	case UGPU_IOCTL_VM_CREATE:
		((struct ugpu_vm_create *)data)->vm_id = 0;
		break;
	case UGPU_IOCTL_VM_DESTROY:
	case UGPU_IOCTL_BO_DESTROY:
	case UGPU_IOCTL_SYNCOBJ_DESTROY:	/* same layout */
		((struct ugpu_vm_destroy *)data)->pad = 0;
		break;
	case UGPU_IOCTL_BO_CREATE:
		((struct ugpu_bo_create *)data)->flags = 0;
		((struct ugpu_bo_create *)data)->handle = 0;
		break;
	case UGPU_IOCTL_BO_IMPORT:
		((struct ugpu_bo_import *)data)->pad = 0;
		((struct ugpu_bo_import *)data)->handle = 0;
		break;
	case UGPU_IOCTL_BO_PREAD:
	case UGPU_IOCTL_BO_PWRITE:
		((struct ugpu_bo_rw *)data)->flags = 0;
		break;
	case UGPU_IOCTL_VM_BIND:
		((struct ugpu_vm_bind *)data)->pad = 0;
		break;
	case UGPU_IOCTL_EXEC:
		((struct ugpu_exec *)data)->fence = 0;
		break;
	case UGPU_IOCTL_WAIT:
		((struct ugpu_wait *)data)->pad = 0;
		((struct ugpu_wait *)data)->status = 0;
		break;
	case UGPU_IOCTL_SYNCOBJ_CREATE:
		((struct ugpu_syncobj_create *)data)->handle = 0;
		break;
	case UGPU_IOCTL_SYNCOBJ_WAIT:
		((struct ugpu_syncobj_wait *)data)->flags = 0;
		break;
	case UGPU_IOCTL_COMPLETION_PAGE:
		((struct ugpu_completion_page *)data)->flags = 0;
		break;
	}
}

/* FIX_HANDLE: ids the daemon handed out, now and then a raw one. */
static void handles(unsigned int cmd, void *data)
{
	switch (cmd) {
	case UGPU_IOCTL_VM_DESTROY:
		((struct ugpu_vm_destroy *)data)->vm_id =
			pick(rec.vm, rec.nvm, ((struct ugpu_vm_destroy *)data)->vm_id);
		break;
	case UGPU_IOCTL_BO_DESTROY:
		((struct ugpu_bo_destroy *)data)->handle =
			pick(rec.bo, rec.nbo, ((struct ugpu_bo_destroy *)data)->handle);
		break;
	case UGPU_IOCTL_SYNCOBJ_DESTROY:
		((struct ugpu_syncobj_destroy *)data)->handle =
			pick(rec.so, rec.nso, ((struct ugpu_syncobj_destroy *)data)->handle);
		break;
	case UGPU_IOCTL_BO_PREAD:
	case UGPU_IOCTL_BO_PWRITE:
		((struct ugpu_bo_rw *)data)->handle =
			pick(rec.bo, rec.nbo, ((struct ugpu_bo_rw *)data)->handle);
		break;
	case UGPU_IOCTL_VM_BIND:
		((struct ugpu_vm_bind *)data)->vm_id =
			pick(rec.vm, rec.nvm, ((struct ugpu_vm_bind *)data)->vm_id);
		break;
	case UGPU_IOCTL_EXEC:
		((struct ugpu_exec *)data)->vm_id =
			pick(rec.vm, rec.nvm, ((struct ugpu_exec *)data)->vm_id);
		break;
	case UGPU_IOCTL_WAIT: {
		struct ugpu_wait *w = data;

		if (rec.nfence && (w->fence >> 60) != 0xf)
			w->fence = rec.fence[w->fence % (rec.nfence < NREC ? rec.nfence : NREC)];
		break;
	}
	case UGPU_IOCTL_SYNCOBJ_WAIT:
		((struct ugpu_syncobj_wait *)data)->handle =
			pick(rec.so, rec.nso, ((struct ugpu_syncobj_wait *)data)->handle);
		break;
	}
}

/* FIX_PTR: fds and pointers of the client; arrays read from @in. */
static int pointers(unsigned int cmd, void *data, struct fuzz_in *in, uint8_t fix)
{
	int uffd = -1;

	switch (cmd) {
	case UGPU_IOCTL_CLIENT_INIT: {
		struct ugpu_client_init *c = data;

		/* What libugpu does: a fresh userfaultfd, closed after. */
		if (!(c->uffd & 1))
			uffd = (int)syscall(SYS_userfaultfd,
					    O_CLOEXEC | O_NONBLOCK | UFFD_USER_MODE_ONLY);
		c->uffd = uffd >= 0 ? (uint32_t)uffd : UGPU_NONE;
		break;
	}
	case UGPU_IOCTL_BO_IMPORT:
		((struct ugpu_bo_import *)data)->fd = (uint32_t)fx_memfd;
		break;
	case UGPU_IOCTL_COMPLETION_PAGE:
		((struct ugpu_completion_page *)data)->fd = (uint32_t)fx_memfd;
		break;
	case UGPU_IOCTL_BO_PREAD:
	case UGPU_IOCTL_BO_PWRITE: {
		struct ugpu_bo_rw *rw = data;

		rw->data_ptr = confine(rw->data_ptr, cmd == UGPU_IOCTL_BO_PREAD ?
				       USERPTR_REGIONS : USERPTR_REGIONS | M(R_SCRATCH));
		break;
	}
	case UGPU_IOCTL_VM_BIND: {
		struct ugpu_vm_bind *b = data;

		b->binds_ptr = build_binds(in, b->num_binds, fix);
		b->syncs_ptr = build_syncs(in, b->num_syncs, fix);
		break;
	}
	case UGPU_IOCTL_EXEC: {
		struct ugpu_exec *e = data;

		e->syncs_ptr = build_syncs(in, e->num_syncs, fix);
		break;
	}
	}
	return uffd;
}

int fx_fix_struct(unsigned int cmd, void *data, struct fuzz_in *in, uint8_t fix)
{
	int uffd = -1;

	if (fix & FIX_SHAPE)
		shape(cmd, data);
	if (fix & FIX_CLEAN)
		clean(cmd, data);
	if (fix & FIX_HANDLE)
		handles(cmd, data);
	if (cmd == UGPU_IOCTL_VM_BIND) {
		struct ugpu_vm_bind *b = data;

		if (b->num_binds == 1)
			fix_bind_op(&b->bind, fix);
		else if (fix & FIX_CLEAN)
			memset(&b->bind, 0, sizeof(b->bind));
	}
	if (fix & FIX_TIME) {
		if (cmd == UGPU_IOCTL_WAIT)
			((struct ugpu_wait *)data)->timeout_abs_ns =
				timeout(((struct ugpu_wait *)data)->timeout_abs_ns);
		else if (cmd == UGPU_IOCTL_SYNCOBJ_WAIT)
			((struct ugpu_syncobj_wait *)data)->timeout_abs_ns =
				timeout(((struct ugpu_syncobj_wait *)data)->timeout_abs_ns);
	}
	if (fix & FIX_PTR)
		uffd = pointers(cmd, data, in, fix);
	fx_confine_struct(cmd, data);
	return uffd;
}
