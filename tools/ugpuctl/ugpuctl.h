/* SPDX-License-Identifier: MIT */
/*
 * What ugpuctl's commands share between main.c (argument parsing, the
 * one-shot commands) and top.c (the refreshing view): the exit codes and
 * one way of telling the operator why the daemon could not be read.
 */
#ifndef UGPUCTL_UGPUCTL_H
#define UGPUCTL_UGPUCTL_H

#include "device.h"

#define EXIT_OK		0
#define EXIT_FAIL	1	/* ugpud unreachable, or it answered nonsense */
#define EXIT_USAGE	2

/**
 * ctl_report - explain on stderr why reading @what from the daemon failed
 * @d:    the device
 * @what: what was being read ("stats", "clients")
 * @err:  the negative errno
 *
 * Return: EXIT_FAIL, for `return ctl_report(...)`.
 */
int ctl_report(const struct ctl_dev *d, const char *what, int err);

/**
 * ctl_top - the refreshing view of `ugpuctl top`
 * @d:           the device
 * @interval_ms: time between frames
 * @count:       frames to draw, 0 for no end
 *
 * Clears the screen before each frame when stdout is a terminal; else
 * prints the frames one after another, separated by a blank line.
 * Return: an exit code.
 */
int ctl_top(const struct ctl_dev *d, unsigned int interval_ms, unsigned long count);

#endif
