// SPDX-License-Identifier: MIT
/*
 * CRC32C (Castagnoli) for the CHECKSUM command: the SSE4.2 crc32
 * instruction where the CPU has it, else a byte-wise table. The caller
 * keeps the running value pre-inverted (start at 0xffffffff, invert at
 * the end), so a range can be summed in chunks.
 */
#include <pthread.h>
#include <string.h>

#include "dev/sim_internal.h"

#define POLY	0x82f63b78u	/* reflected 0x1edc6f41 */

static uint32_t table[256];
static pthread_once_t table_once = PTHREAD_ONCE_INIT;

static void table_init(void)
{
	for (uint32_t i = 0; i < 256; i++) {
		uint32_t c = i;

		for (int k = 0; k < 8; k++)
			c = c & 1 ? (c >> 1) ^ POLY : c >> 1;
		table[i] = c;
	}
}

static uint32_t crc_sw(uint32_t crc, const uint8_t *p, uint64_t len)
{
	pthread_once(&table_once, table_init);
	while (len--)
		crc = table[(crc ^ *p++) & 0xff] ^ (crc >> 8);
	return crc;
}

#if defined(__x86_64__)
__attribute__((target("sse4.2")))
static uint32_t crc_hw(uint32_t crc, const uint8_t *p, uint64_t len)
{
	uint64_t c = crc, w;

	while (len && ((uintptr_t)p & 7)) {
		c = __builtin_ia32_crc32qi((uint32_t)c, *p++);
		len--;
	}
	for (; len >= 8; len -= 8, p += 8) {
		memcpy(&w, p, 8);
		c = __builtin_ia32_crc32di(c, w);
	}
	while (len--)
		c = __builtin_ia32_crc32qi((uint32_t)c, *p++);
	return (uint32_t)c;
}
#endif

uint32_t sim_crc32c(uint32_t crc, const void *buf, uint64_t len)
{
#if defined(__x86_64__)
	if (__builtin_cpu_supports("sse4.2"))
		return crc_hw(crc, buf, len);
#endif
	return crc_sw(crc, buf, len);
}
