// SPDX-License-Identifier: MIT
/*
 * Buffer objects: device-local memory (daemon pages standing in for
 * VRAM on the sim device) and imports of a client's memfd (the same
 * pages the client maps, zero copy). Contents reach the client through
 * pread/pwrite, copied through the client's DMA port in bounded chunks.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include "gpu/gpu_internal.h"
#include "gpu/work.h"
#include "mm/dma_port.h"
#include "mm/pidfd.h"

struct gpu_bo *gpu_bo_get(struct gpu_bo *bo)
{
	bo->refs++;
	return bo;
}

void gpu_bo_put(struct gpu_bo *bo)
{
	struct gpu_client *cl = bo->client;

	if (--bo->refs)
		return;
	munmap(bo->mem, bo->size);
	if (!bo->imported)
		cl->bo_bytes -= bo->size;
	cl->gpu->nbos--;
	free(bo);
}

static int bo_install(struct gpu_client *cl, void *mem, uint64_t size, bool imported,
		      uint32_t *id)
{
	struct gpu_bo *bo = calloc(1, sizeof(*bo));
	int ret;

	if (!bo)
		return -ENOMEM;
	bo->obj.kind = GPU_OBJ_BO;
	bo->client = cl;
	bo->refs = 1;
	bo->size = size;
	bo->mem = mem;
	bo->imported = imported;
	ret = handle_alloc(&cl->bos, bo, &bo->id);
	if (ret) {
		free(bo);
		return ret;
	}
	if (!imported)
		cl->bo_bytes += size;
	cl->gpu->nbos++;
	*id = bo->id;
	return 0;
}

int gpu_bo_create(struct gpu_client *cl, uint64_t size, uint32_t *id)
{
	void *mem;
	int ret;

	if (!size || size & (GPU_PAGE - 1) || size > (1ull << 47))
		return -EINVAL;
	ret = gpu_quota(cl->bo_bytes, size, cl->gpu->limits.max_bo_bytes);
	if (ret)
		return ret;
	/* Lazily allocated, zero-filled: a fresh BO reads as zeroes. */
	mem = mmap(NULL, size, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS |
		   MAP_NORESERVE, -1, 0);
	if (mem == MAP_FAILED)
		return -ENOMEM;
	ret = bo_install(cl, mem, size, false, id);
	if (ret)
		munmap(mem, size);
	return ret;
}

int gpu_bo_import(struct gpu_client *cl, const struct ugpu_bo_import *in, uint32_t *id)
{
	struct stat st;
	void *mem;
	int fd, ret, seals;

	if (in->flags || !in->size || (in->size | in->offset) & (GPU_PAGE - 1))
		return -EINVAL;
	if (in->offset + in->size < in->offset)
		return -EOVERFLOW;
	fd = pidfd_fetch_fd(cl->mm->pidfd, (int)in->fd);
	if (fd < 0)
		return fd == -ESRCH ? -ENODEV : fd;
	/*
	 * Only memory files (no name in any directory), sealed against
	 * shrinking: a file the client could truncate under our mapping
	 * would make the device's accesses SIGBUS the daemon.
	 */
	ret = -EINVAL;
	if (fstat(fd, &st) < 0 || !S_ISREG(st.st_mode) || st.st_nlink != 0)
		goto out;
	seals = fcntl(fd, F_GET_SEALS);
	if (seals < 0 || !(seals & F_SEAL_SHRINK))
		goto out;
	if ((uint64_t)st.st_size < in->offset + in->size)
		goto out;
	mem = mmap(NULL, in->size, PROT_READ | PROT_WRITE, MAP_SHARED, fd, in->offset);
	if (mem == MAP_FAILED) {
		ret = -errno == -EACCES ? -EACCES : -EINVAL;
		goto out;
	}
	ret = bo_install(cl, mem, in->size, true, id);
	if (ret)
		munmap(mem, in->size);
out:
	close(fd);
	return ret;
}

int gpu_bo_destroy(struct gpu_client *cl, uint32_t id)
{
	struct gpu_bo *bo = handle_remove(&cl->bos, id);

	if (!bo)
		return -ENOENT;
	gpu_bo_put(bo);		/* mappings keep it until unbound */
	return 0;
}

/* Above this a copy runs on a worker: the loop must not wait for it. */
#define BO_RW_INLINE	(256u << 10)

struct bo_copy {
	struct work w;
	struct gpu_parked *p;		/* NULL once the request went away */
	struct gpu_client *cl;		/* reference */
	struct gpu_bo *bo;		/* reference */
	struct dma_port *port;		/* reference */
	char *mem;
	uint64_t addr, len;
	bool write;
	int ret;
};

static int copy(struct dma_port *port, char *mem, uint64_t addr, uint64_t len, bool write)
{
	/* pwrite copies client memory into the BO, pread the other way. */
	int ret = write ? dma_port_read(port, addr, mem, len, NULL) :
			  dma_port_write(port, addr, mem, len, NULL);

	return ret ? -EFAULT : 0;
}

static void copy_work(struct work *w)
{
	struct bo_copy *c = container_of(w, struct bo_copy, w);

	c->ret = copy(c->port, c->mem, c->addr, c->len, c->write);
}

static void copy_done(struct work *w)
{
	struct bo_copy *c = container_of(w, struct bo_copy, w);

	if (c->p) {
		c->p->detach = NULL;
		front_req_complete(c->p->req, c->ret);
		gpu_parked_free(c->p);
	}
	dma_port_put(c->port);
	gpu_bo_put(c->bo);
	gpu_client_put(c->cl);
	free(c);
}

static void copy_detach(struct gpu_parked *p)
{
	((struct bo_copy *)p->owner)->p = NULL;
}

int gpu_bo_rw(struct gpu_client *cl, struct ugpu_bo_rw *rw, bool write,
	      struct front_req *req)
{
	struct dma_port *port;
	struct bo_copy *c;
	struct gpu_bo *bo;
	int ret;

	if (rw->extensions || rw->flags || rw->reserved[0] || rw->reserved[1])
		return -EINVAL;
	bo = handle_lookup(&cl->bos, rw->handle);
	if (!bo)
		return -ENOENT;
	if (rw->offset > bo->size || rw->size > bo->size - rw->offset)
		return -EINVAL;
	if (!rw->size)
		return 0;
	ret = gpu_client_port(cl, &port);
	if (ret)
		return ret == -ESRCH ? -EFAULT : ret;
	if (rw->size <= BO_RW_INLINE)
		return copy(port, (char *)bo->mem + rw->offset, rw->data_ptr, rw->size, write);

	c = calloc(1, sizeof(*c));
	if (!c)
		return -ENOMEM;
	ret = gpu_park(cl, req, write ? UGPU_IOCTL_BO_PWRITE : UGPU_IOCTL_BO_PREAD, rw, 0,
		       &c->p);
	if (ret) {
		free(c);
		return ret;
	}
	c->p->owner = c;
	c->p->detach = copy_detach;
	c->cl = gpu_client_get(cl);
	c->bo = gpu_bo_get(bo);
	c->port = dma_port_get(port);
	c->mem = (char *)bo->mem + rw->offset;
	c->addr = rw->data_ptr;
	c->len = rw->size;
	c->write = write;
	c->w.fn = copy_work;
	c->w.done = copy_done;
	work_queue(cl->gpu->workers, &c->w);
	return FRONT_PARKED;
}

void gpu_bo_teardown_all(struct gpu_client *cl)
{
	uint32_t id;

	while ((id = handle_next(&cl->bos, 0)))
		gpu_bo_destroy(cl, id);
}
