// SPDX-License-Identifier: MIT
/*
 * ctl_client: the smallest real ugpu client, for the ugpuctl tests. With
 * raw ioctls of uapi/ugpu.h (no libugpu) it opens the device named by
 * argv[1], registers as a client without a userfaultfd (CLIENT_INIT with
 * uffd = UGPU_NONE), creates one VM and one 4 KiB BO, prints
 * "ready <pid>" and then waits: on "close" it closes the device and
 * answers "closed"; on "exit" or end of stdin it exits (the device closes
 * with it). Errors print "err <step> <errno>" and exit 1.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/ioctl.h>
#include <unistd.h>

#include "uapi/ugpu.h"

static int xioctl(int fd, unsigned long cmd, void *arg)
{
	int ret;

	do {
		ret = ioctl(fd, cmd, arg);
	} while (ret < 0 && errno == EINTR);
	return ret;
}

static int fail(const char *step)
{
	printf("err %s %d\n", step, errno);
	fflush(stdout);
	return 1;
}

int main(int argc, char **argv)
{
	struct ugpu_client_init init = { .uffd = UGPU_NONE };
	struct ugpu_vm_create vm = { 0 };
	struct ugpu_bo_create bo = { .size = 4096 };
	char line[64];
	int fd;

	if (argc != 2) {
		fprintf(stderr, "usage: ctl_client DEVICE\n");
		return 2;
	}
	fd = open(argv[1], O_RDWR | O_CLOEXEC);
	if (fd < 0)
		return fail("open");
	if (xioctl(fd, UGPU_IOCTL_CLIENT_INIT, &init))
		return fail("client_init");
	if (xioctl(fd, UGPU_IOCTL_VM_CREATE, &vm))
		return fail("vm_create");
	if (xioctl(fd, UGPU_IOCTL_BO_CREATE, &bo))
		return fail("bo_create");
	printf("ready %d\n", (int)getpid());
	fflush(stdout);

	while (fgets(line, sizeof(line), stdin)) {
		if (!strcmp(line, "close\n") && fd >= 0) {
			close(fd);
			fd = -1;
			printf("closed\n");
			fflush(stdout);
		} else if (!strcmp(line, "exit\n")) {
			break;
		}
	}
	return 0;
}
