// SPDX-License-Identifier: MIT
/*
 * gpu_bind: a client of ugpud for VM_BIND and client isolation
 * (tests/integration/gpu_test.c runs it): a userptr mapping split by an
 * unbind in its middle, a new mapping in the hole, a BO bound over its
 * tail and one unbind over all the pieces, each checked by where a
 * store lands (bind-variants); two clients whose ids coincide, each
 * refused the other's objects with ENOENT and untouched by the other's
 * work (isolation). Usage `gpu_bind <scenario> <device>`; output and
 * exit status as tests/helpers/lib/client_common.h says.
 */
#include <errno.h>
#include <signal.h>
#include <stdbool.h>
#include <string.h>
#include <sys/mman.h>

#include "libclient/ugpu.h"
#include "tests/helpers/lib/client_common.h"

/* ---- 9. bind variants ------------------------------------------------- */

static void scenario_bind_variants(const char *path)
{
	uint32_t *buf, *buf2, bo, got[2] = { 0, 0 };
	struct cc_ctx c;
	int ret;

	if (!cc_ctx_open_ok(&c, path, 0, "split"))
		return;
	buf = cc_map_anon(4 * PAGE);
	buf2 = cc_map_anon(PAGE);
	if (!buf || !buf2 || ugpu_bo_create(c.dev, 4 * PAGE, 0, &bo)) {
		cc_expect(false, "split: buffers", "mmap or BO create failed");
		goto out;
	}
	memset(buf2, 0, PAGE);
	if (!cc_expect_ret(ugpu_vm_bind_userptr(c.dev, c.vm, VA_UP, buf, 4 * PAGE, 0), 0,
			   "split: bind 4 pages of private memory") ||
	    !cc_expect_ret(ugpu_vm_unbind(c.dev, c.vm, VA_UP + PAGE, 2 * PAGE), 0,
			   "split: unbind the middle two pages"))
		goto out;
	cc_expect_ret(cc_run_store(&c, 0, VA_UP + 4, 0xa0), 0, "split: store into the kept head");
	cc_expect_ret(cc_run_store(&c, 1, VA_UP + 3 * PAGE + 4, 0xa3), 0,
		      "split: store into the kept tail");
	cc_expect(buf[1] == 0xa0 && buf[3 * 1024 + 1] == 0xa3,
		  "split: both stores are in the client's pages at the right offsets",
		  "head %#x tail %#x", buf[1], buf[3 * 1024 + 1]);
	cc_expect_ret(cc_run_store(&c, 2, VA_UP + PAGE + 4, 0xdead), -EFAULT,
		      "split: a store into the hole faults");
	cc_expect_ret(cc_run_store(&c, 3, VA_UP + 2 * PAGE + 4, 0xdead), -EFAULT,
		      "split: a store into the hole's second page faults");
	cc_expect_all(buf + 1024, 2 * PAGE, 0, "split: the hole's memory is unchanged");

	/* A new mapping in the hole. */
	cc_expect_ret(ugpu_vm_bind_userptr(c.dev, c.vm, VA_UP + 2 * PAGE, buf2, PAGE, 0), 0,
		      "split: bind other memory into the hole");
	cc_expect_ret(cc_run_store(&c, 5, VA_UP + 2 * PAGE + 12, 0xc2), 0,
		      "split: store through the new piece");
	cc_expect(buf2[3] == 0xc2 && buf[2 * 1024 + 3] == 0,
		  "split: it lands in the new memory only", "new %#x old %#x", buf2[3],
		  buf[2 * 1024 + 3]);

	/* A BO over the tail of the userptr mapping replaces it there. */
	cc_expect_ret(ugpu_vm_bind_bo(c.dev, c.vm, VA_UP + 3 * PAGE, bo, 0, PAGE, 0), 0,
		      "split: bind a BO over the userptr's tail page");
	cc_expect_ret(cc_run_store(&c, 6, VA_UP + 3 * PAGE + 8, 0xb0), 0,
		      "split: store into the replaced page");
	ret = ugpu_bo_pread(c.dev, bo, 8, got, 4);
	cc_expect(!ret && got[0] == 0xb0, "split: the store is in the BO", "pread %d value %#x",
		  ret, got[0]);
	cc_expect(buf[3 * 1024 + 2] == 0, "split: ... not in the client's memory", "got %#x",
		  buf[3 * 1024 + 2]);
	cc_expect_ret(cc_run_store(&c, 7, VA_UP + 12, 0xa2), 0,
		      "split: the head still reaches the client's memory");
	cc_expect(buf[3] == 0xa2, "split: ... and landed", "got %#x", buf[3]);

	/*
	 * The client may free what no GPU mapping covers any more: the
	 * pieces still bound are unaffected (nothing of the hole is needed).
	 */
	cc_expect_ret(munmap(buf + 1024, PAGE) ? -errno : 0, 0,
		      "split: munmap client memory under the hole");
	cc_expect_ret(cc_run_store(&c, 4, VA_UP + 8, 0xa1), 0,
		      "split: the kept head still works after memory under the hole went away");
	cc_expect(buf[2] == 0xa1, "split: ... and the store landed", "got %#x", buf[2]);
	cc_expect_ret(cc_run_store(&c, 9, VA_UP + 3 * PAGE + 12, 0xb1), 0,
		      "split: so does the BO piece");

	/* Unbind everything in one range spanning all the pieces. */
	cc_expect_ret(ugpu_vm_unbind(c.dev, c.vm, VA_UP, 4 * PAGE), 0,
		      "split: unbind over all pieces");
	cc_expect_ret(cc_run_store(&c, 8, VA_UP + 16, 0xdead), -EFAULT,
		      "split: nothing is mapped there any more");
	cc_expect(buf[4] == 0, "split: ... and nothing was written", "got %#x", buf[4]);
out:
	if (buf)
		munmap(buf, 4 * PAGE);
	if (buf2)
		munmap(buf2, PAGE);
	cc_ctx_close(&c);
}

/* ---- 10. two clients -------------------------------------------------- */

static void scenario_isolation(const char *path)
{
	uint32_t a_vm2, a_bo[2], b_bo, v = 0;
	uint32_t *a_up, *b_up, *shared_vma = NULL;
	void *mem = NULL;
	struct cc_ctx a, b;
	uint64_t fence;
	struct ugpu_cmdbuf cb;
	int ret;

	if (!cc_ctx_open_ok(&a, path, 0, "iso A"))
		return;
	if (!cc_ctx_open_ok(&b, path, 0, "iso B")) {
		cc_ctx_close(&a);
		return;
	}
	/* Three pages, the middle one PROT_NONE: A's and B's in different VMAs. */
	mem = cc_map_anon(3 * PAGE);
	if (mem && mprotect((uint8_t *)mem + PAGE, PAGE, PROT_NONE))
		mem = NULL;
	a_up = mem;
	b_up = mem ? (uint32_t *)((uint8_t *)mem + 2 * PAGE) : NULL;
	if (!mem ||
	    !cc_expect_ret(ugpu_vm_create(a.dev, 0, &a_vm2), 0, "iso A: 2nd VM") ||
	    !cc_expect_ret(ugpu_bo_create(a.dev, PAGE, 0, &a_bo[0]), 0, "iso A: BO") ||
	    !cc_expect_ret(ugpu_bo_create(a.dev, PAGE, 0, &a_bo[1]), 0, "iso A: 2nd BO") ||
	    !cc_expect_ret(ugpu_bo_create(b.dev, PAGE, 0, &b_bo), 0, "iso B: BO"))
		goto out;
	cc_note("iso: A has VMs %u,%u BOs %u,%u; B has VM %u BO %u", a.vm, a_vm2, a_bo[0],
		a_bo[1], b.vm, b_bo);
	cc_expect(a.vm == b.vm && a_bo[0] == b_bo, "iso: ids coincide between the clients",
		  "A vm %u bo %u, B vm %u bo %u", a.vm, a_bo[0], b.vm, b_bo);

	/* Ids only A has. */
	cc_expect_ret(ugpu_bo_pread(b.dev, a_bo[1], 0, &v, 4), -ENOENT,
		      "iso B: pread of A's BO -> ENOENT");
	cc_expect_ret(ugpu_vm_bind_bo(b.dev, b.vm, VA_BO, a_bo[1], 0, PAGE, 0), -ENOENT,
		      "iso B: bind of A's BO -> ENOENT");
	cc_expect_ret(ugpu_vm_bind_bo(b.dev, a_vm2, VA_BO, b_bo, 0, PAGE, 0), -ENOENT,
		      "iso B: bind into A's VM -> ENOENT");
	cc_expect_ret(ugpu_vm_bind_userptr(b.dev, a_vm2, VA_UP, b_up, PAGE, 0), -ENOENT,
		      "iso B: userptr bind into A's VM -> ENOENT");
	cc_expect_ret(ugpu_vm_unbind(b.dev, a_vm2, VA_HOST, PAGE), -ENOENT,
		      "iso B: unbind in A's VM -> ENOENT");
	cc_batch(&b, 0, &cb);
	ugpu_cmd_store_dword(&cb, VA_CTL + CTL_OUT * 4, 0xbad);
	ugpu_cmd_end(&cb);
	cc_expect_ret(ugpu_exec(b.dev, a_vm2, 0, VA_SLOT(0), cb.len * 4, &fence), -ENOENT,
		      "iso B: exec on A's VM -> ENOENT");
	cc_expect_ret(ugpu_bo_destroy(b.dev, a_bo[1]), -ENOENT,
		      "iso B: destroy of A's BO -> ENOENT");
	cc_expect_ret(ugpu_vm_destroy(b.dev, a_vm2), -ENOENT,
		      "iso B: destroy of A's VM -> ENOENT");

	/* The same numbers name each client's own objects. */
	cc_expect_ret(ugpu_vm_bind_bo(a.dev, a.vm, VA_BO, a_bo[0], 0, PAGE, 0), 0,
		      "iso A: bind its BO");
	cc_expect_ret(ugpu_vm_bind_bo(b.dev, b.vm, VA_BO, b_bo, 0, PAGE, 0), 0,
		      "iso B: bind its BO (same ids)");
	cc_expect_ret(ugpu_vm_bind_userptr(a.dev, a.vm, VA_UP, a_up, PAGE, 0), 0,
		      "iso A: bind its memory");
	cc_expect_ret(ugpu_vm_bind_userptr(b.dev, b.vm, VA_UP, b_up, PAGE, 0), 0,
		      "iso B: bind its memory (same VA)");
	cc_expect_ret(cc_run_store(&b, 1, VA_BO, 0xbbbb), 0, "iso B: store into its BO");
	cc_expect_ret(cc_run_store(&b, 2, VA_UP, 0xbbb1), 0, "iso B: store into its memory");
	cc_expect_ret(cc_run_store(&a, 1, VA_UP + 4, 0xaaa1), 0, "iso A: store into its memory");
	ret = ugpu_bo_pread(b.dev, b_bo, 0, &v, 4);
	cc_expect(!ret && v == 0xbbbb, "iso B: its BO has its data", "pread %d value %#x", ret, v);
	ret = ugpu_bo_pread(a.dev, a_bo[0], 0, &v, 4);
	cc_expect(!ret && v == 0, "iso A: its BO with the same id is untouched",
		  "pread %d value %#x", ret, v);
	cc_expect(b_up[0] == 0xbbb1 && a_up[0] == 0, "iso: B's store went to B's memory only",
		  "B %#x A %#x", b_up[0], a_up[0]);
	cc_expect(a_up[1] == 0xaaa1 && b_up[1] == 0, "iso: A's store went to A's memory only",
		  "A %#x B %#x", a_up[1], b_up[1]);
	cc_expect(b.ctl[CTL_OUT] == 0, "iso: B's refused exec wrote nothing", "got %#x",
		  b.ctl[CTL_OUT]);

	/*
	 * Two opens in one process are two clients of one address space:
	 * both may bind memory of the same VMA (two pages of one mapping).
	 */
	shared_vma = cc_map_anon(2 * PAGE);
	if (shared_vma) {
		memset(shared_vma, 0, 2 * PAGE);
		cc_expect_ret(ugpu_vm_bind_userptr(a.dev, a.vm, VA_UP2, shared_vma, PAGE, 0), 0,
			      "iso A: bind a page of a mapping");
		cc_expect_ret(ugpu_vm_bind_userptr(b.dev, b.vm, VA_UP2, shared_vma + 1024, PAGE, 0),
			      0, "iso B: bind the next page of the same mapping");
		cc_expect_ret(cc_run_store(&b, 3, VA_UP2, 0xb2), 0,
			      "iso B: store into its page of the shared mapping");
		cc_expect(shared_vma[1024] == 0xb2 && shared_vma[0] == 0,
			  "iso: ... lands in B's page only", "B %#x A %#x", shared_vma[1024],
			  shared_vma[0]);
	}

	/* Destroying B's objects leaves A's with the same ids alone. */
	cc_expect_ret(ugpu_vm_destroy(b.dev, b.vm), 0, "iso B: destroy its VM");
	cc_expect_ret(ugpu_bo_destroy(b.dev, b_bo), 0, "iso B: destroy its BO");
	cc_expect_ret(cc_run_store(&a, 2, VA_BO, 0xaaaa), 0,
		      "iso A: its VM and BO with the same ids still work");
	ret = ugpu_bo_pread(a.dev, a_bo[0], 0, &v, 4);
	cc_expect(!ret && v == 0xaaaa, "iso A: ... and hold its data", "pread %d value %#x", ret,
		  v);
out:
	cc_ctx_close(&b);
	cc_ctx_close(&a);
	if (mem)
		munmap(mem, 3 * PAGE);
	if (shared_vma)
		munmap(shared_vma, 2 * PAGE);
}

/* ---- main ------------------------------------------------------------- */

static const struct cc_scenario scenarios[] = {
	{ "bind-variants", scenario_bind_variants },
	{ "isolation", scenario_isolation },
};

int main(int argc, char **argv)
{
	signal(SIGPIPE, SIG_IGN);
	return cc_main(argc, argv, scenarios, sizeof(scenarios) / sizeof(scenarios[0]));
}
