// SPDX-License-Identifier: MIT
/*
 * The operator's view: device-wide counters (the mount's `stats` file,
 * what `ugpuctl status --json` prints) and one client's own figures (its
 * file under `clients/`, readable by that client's uid and root only).
 * JSON objects of integer fields, one line each.
 */
#include <fcntl.h>
#include <stdio.h>
#include <unistd.h>

#include "gpu/gpu_internal.h"

int gpu_info_stats(struct gpu *g, char *buf, size_t size)
{
	struct ugpu_stats st;
	struct dev_stats ds;

	gpu_get_stats(g, &st);
	dev_get_stats(g->dev, &ds);
	return snprintf(buf, size,
			"{\"backend\":\"%s\",\"engines\":%u,\"clients\":%llu,\"vms\":%llu,"
			"\"bos\":%llu,\"userptrs\":%llu,\"bound_bytes\":%llu,"
			"\"jobs_submitted\":%llu,\"jobs_completed\":%llu,"
			"\"jobs_failed\":%llu,\"jobs_running\":%llu,\"invalidations\":%llu,"
			"\"exec_retries\":%llu,\"gpu_faults\":%llu,\"gpu_hangs\":%llu,"
			"\"engine_resets\":%llu,\"bytes_read\":%llu,\"bytes_written\":%llu}\n",
			g->dev->caps.backend, g->dev->caps.num_engines,
			(unsigned long long)st.clients, (unsigned long long)st.vms,
			(unsigned long long)st.bos, (unsigned long long)st.userptrs,
			(unsigned long long)st.bound_bytes,
			(unsigned long long)st.jobs_submitted,
			(unsigned long long)st.jobs_completed,
			(unsigned long long)st.jobs_failed,
			(unsigned long long)gpu_busy_jobs(g),
			(unsigned long long)st.invalidations,
			(unsigned long long)st.exec_retries, (unsigned long long)ds.faults,
			(unsigned long long)ds.hangs, (unsigned long long)ds.resets,
			(unsigned long long)ds.bytes_read, (unsigned long long)ds.bytes_written);
}

/* The process name, for the operator; "" if it cannot be read. */
static void comm_of(struct gpu_client *cl, char *comm, size_t len)
{
	ssize_t n = -1;
	int fd;

	fd = openat(cl->mm->procfd, "comm", O_RDONLY | O_CLOEXEC);
	if (fd >= 0) {
		n = read(fd, comm, len - 1);
		close(fd);
	}
	if (n < 0)
		n = 0;
	comm[n] = '\0';
	for (ssize_t i = 0; i < n; i++)
		if (comm[i] == '\n' || comm[i] == '"' || comm[i] == '\\' ||
		    (unsigned char)comm[i] < 0x20)
			comm[i] = comm[i] == '\n' ? '\0' : '?';
}

int gpu_info_client(struct gpu_client *cl, char *buf, size_t size)
{
	char comm[32];

	comm_of(cl, comm, sizeof(comm));
	return snprintf(buf, size,
			"{\"pid\":%d,\"comm\":\"%s\",\"active\":%s,\"uid\":%u,\"gid\":%u,\"vms\":%u,\"bos\":%u,"
			"\"userptrs\":%llu,\"bound_bytes\":%llu,\"bo_bytes\":%llu,"
			"\"jobs_submitted\":%llu,\"jobs_completed\":%llu,\"jobs_failed\":%llu,"
			"\"jobs_inflight\":%u,\"invalidations\":%llu,\"exec_retries\":%llu,"
			"\"exited\":%s}\n",
			(int)cl->pid, comm, cl->counted ? "true" : "false", (unsigned)cl->uid, (unsigned)cl->gid, cl->vms.count,
			cl->bos.count, (unsigned long long)cl->nuserptrs,
			(unsigned long long)cl->bound_bytes, (unsigned long long)cl->bo_bytes,
			(unsigned long long)cl->c.jobs_submitted,
			(unsigned long long)cl->c.jobs_completed,
			(unsigned long long)cl->c.jobs_failed, cl->inflight,
			(unsigned long long)__atomic_load_n(&cl->c.invalidations, __ATOMIC_RELAXED),
			(unsigned long long)__atomic_load_n(&cl->c.exec_retries, __ATOMIC_RELAXED),
			cl->mm->exited ? "true" : "false");
}
