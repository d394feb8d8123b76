/* SPDX-License-Identifier: GPL-2.0 */
/* libbpf's usdt.bpf.h includes <linux/errno.h>, which wants the target's
 * <asm/errno.h>; BPF has no such directory. Every architecture mlwatch
 * builds for uses the generic numbers. */
#include <asm-generic/errno.h>
