// SPDX-License-Identifier: MIT
/*
 * Syncobjs for the client programs (client_sync.h): the raw
 * SYNCOBJ_CREATE, SYNCOBJ_DESTROY, SYNCOBJ_WAIT, EXEC and VM_BIND
 * ioctls with their struct ugpu_sync arrays.
 */
#include <errno.h>
#include <string.h>
#include <sys/ioctl.h>

#include "tests/helpers/lib/client_sync.h"

int cc_ioctl(struct ugpu *dev, unsigned long cmd, void *arg)
{
	int ret;

	do {
		ret = ioctl(ugpu_fd(dev), cmd, arg);
	} while (ret < 0 && errno == EINTR);
	return ret < 0 ? -errno : ret;
}

int cc_so_create(struct ugpu *dev, uint32_t flags, uint32_t *h)
{
	struct ugpu_syncobj_create c = { .flags = flags };
	int ret = cc_ioctl(dev, UGPU_IOCTL_SYNCOBJ_CREATE, &c);

	if (!ret)
		*h = c.handle;
	return ret;
}

int cc_so_destroy(struct ugpu *dev, uint32_t h)
{
	struct ugpu_syncobj_destroy d = { .handle = h };

	return cc_ioctl(dev, UGPU_IOCTL_SYNCOBJ_DESTROY, &d);
}

int cc_so_wait(struct ugpu *dev, uint32_t h, uint64_t point, int64_t rel_ns)
{
	struct ugpu_syncobj_wait w = { .handle = h, .point = point };

	w.timeout_abs_ns = rel_ns <= 0 ? rel_ns : cc_now_ns() + rel_ns;
	return cc_ioctl(dev, UGPU_IOCTL_SYNCOBJ_WAIT, &w);
}

struct ugpu_sync cc_sync_in(uint32_t h, uint64_t point)
{
	return (struct ugpu_sync){
		.type = point ? UGPU_SYNC_TIMELINE_SYNCOBJ : UGPU_SYNC_SYNCOBJ,
		.handle = h,
		.timeline_value = point,
	};
}

struct ugpu_sync cc_sync_out(uint32_t h, uint64_t point)
{
	struct ugpu_sync s = cc_sync_in(h, point);

	s.flags = UGPU_SYNC_FLAG_SIGNAL;
	return s;
}

int cc_exec_syncs(struct cc_ctx *c, unsigned int slot, struct ugpu_cmdbuf *cb, uint32_t engine,
		  const struct ugpu_sync *syncs, uint32_t n, uint64_t *fence)
{
	struct ugpu_exec e;
	int ret = ugpu_cmd_end(cb);

	if (ret)
		return ret;
	__atomic_thread_fence(__ATOMIC_RELEASE);
	do {
		memset(&e, 0, sizeof(e));
		e.vm_id = c->vm;
		e.engine = engine;
		e.batch_va = VA_SLOT(slot);
		e.batch_len = cb->len * 4;
		e.num_syncs = n;
		e.syncs_ptr = n ? (uintptr_t)syncs : 0;
		ret = cc_ioctl(c->dev, UGPU_IOCTL_EXEC, &e);
	} while (ret == -EAGAIN);
	if (!ret && fence)
		*fence = e.fence;
	return ret;
}

int cc_bind_syncs(struct cc_ctx *c, uint32_t op, uint64_t va, uint32_t bo, uint64_t offset,
		  uint64_t size, const struct ugpu_sync *syncs, uint32_t n)
{
	struct ugpu_vm_bind b = {
		.vm_id = c->vm,
		.num_binds = 1,
		.bind = { .op = op, .va = va, .range = size, .obj_offset = offset,
			  .handle = bo },
		.num_syncs = n,
		.syncs_ptr = n ? (uintptr_t)syncs : 0,
	};

	return cc_ioctl(c->dev, UGPU_IOCTL_VM_BIND, &b);
}
