/* SPDX-License-Identifier: GPL-2.0-or-later */
/* accel-kvm: what the GDB stub needs to know about an x86-64 vCPU: the target
 * description (GDB's amd64 layout: org.gnu.gdb.i386.core and .sse, so GDB's own x86-64
 * support takes it), the 'g' packet (rax..gs, registers 0-23 of mosaic/x86.h, eflags and
 * selectors 32 bits wide as in GDB's description), and the numbers of the rest. */
#include <mosaic/debug.h>
#include "kvm-internal.h"

static const char xml[] =
    "<?xml version=\"1.0\"?>\n<!DOCTYPE target SYSTEM \"gdb-target.dtd\">\n"
    "<target version=\"1.0\">\n<architecture>i386:x86-64</architecture>\n"
    "<feature name=\"org.gnu.gdb.i386.core\">\n"
    "<reg name=\"rax\" bitsize=\"64\" type=\"int64\" regnum=\"0\"/>\n"
    "<reg name=\"rbx\" bitsize=\"64\" type=\"int64\"/>\n"
    "<reg name=\"rcx\" bitsize=\"64\" type=\"int64\"/>\n"
    "<reg name=\"rdx\" bitsize=\"64\" type=\"int64\"/>\n"
    "<reg name=\"rsi\" bitsize=\"64\" type=\"int64\"/>\n"
    "<reg name=\"rdi\" bitsize=\"64\" type=\"int64\"/>\n"
    "<reg name=\"rbp\" bitsize=\"64\" type=\"data_ptr\"/>\n"
    "<reg name=\"rsp\" bitsize=\"64\" type=\"data_ptr\"/>\n"
    "<reg name=\"r8\" bitsize=\"64\" type=\"int64\"/>\n"
    "<reg name=\"r9\" bitsize=\"64\" type=\"int64\"/>\n"
    "<reg name=\"r10\" bitsize=\"64\" type=\"int64\"/>\n"
    "<reg name=\"r11\" bitsize=\"64\" type=\"int64\"/>\n"
    "<reg name=\"r12\" bitsize=\"64\" type=\"int64\"/>\n"
    "<reg name=\"r13\" bitsize=\"64\" type=\"int64\"/>\n"
    "<reg name=\"r14\" bitsize=\"64\" type=\"int64\"/>\n"
    "<reg name=\"r15\" bitsize=\"64\" type=\"int64\"/>\n"
    "<reg name=\"rip\" bitsize=\"64\" type=\"code_ptr\"/>\n"
    "<reg name=\"eflags\" bitsize=\"32\" type=\"int32\"/>\n"
    "<reg name=\"cs\" bitsize=\"32\" type=\"int32\"/>\n"
    "<reg name=\"ss\" bitsize=\"32\" type=\"int32\"/>\n"
    "<reg name=\"ds\" bitsize=\"32\" type=\"int32\"/>\n"
    "<reg name=\"es\" bitsize=\"32\" type=\"int32\"/>\n"
    "<reg name=\"fs\" bitsize=\"32\" type=\"int32\"/>\n"
    "<reg name=\"gs\" bitsize=\"32\" type=\"int32\"/>\n"
    "<reg name=\"st0\" bitsize=\"80\" type=\"i387_ext\"/>\n"
    "<reg name=\"st1\" bitsize=\"80\" type=\"i387_ext\"/>\n"
    "<reg name=\"st2\" bitsize=\"80\" type=\"i387_ext\"/>\n"
    "<reg name=\"st3\" bitsize=\"80\" type=\"i387_ext\"/>\n"
    "<reg name=\"st4\" bitsize=\"80\" type=\"i387_ext\"/>\n"
    "<reg name=\"st5\" bitsize=\"80\" type=\"i387_ext\"/>\n"
    "<reg name=\"st6\" bitsize=\"80\" type=\"i387_ext\"/>\n"
    "<reg name=\"st7\" bitsize=\"80\" type=\"i387_ext\"/>\n"
    "<reg name=\"fctrl\" bitsize=\"32\" type=\"int\" group=\"float\"/>\n"
    "<reg name=\"fstat\" bitsize=\"32\" type=\"int\" group=\"float\"/>\n"
    "<reg name=\"ftag\" bitsize=\"32\" type=\"int\" group=\"float\"/>\n"
    "<reg name=\"fiseg\" bitsize=\"32\" type=\"int\" group=\"float\"/>\n"
    "<reg name=\"fioff\" bitsize=\"32\" type=\"int\" group=\"float\"/>\n"
    "<reg name=\"foseg\" bitsize=\"32\" type=\"int\" group=\"float\"/>\n"
    "<reg name=\"fooff\" bitsize=\"32\" type=\"int\" group=\"float\"/>\n"
    "<reg name=\"fop\" bitsize=\"32\" type=\"int\" group=\"float\"/>\n"
    "</feature>\n<feature name=\"org.gnu.gdb.i386.sse\">\n"
    "<vector id=\"v2u64\" type=\"uint64\" count=\"2\"/>\n"
    "<reg name=\"xmm0\" bitsize=\"128\" type=\"v2u64\" regnum=\"40\"/>\n"
    "<reg name=\"xmm1\" bitsize=\"128\" type=\"v2u64\"/>\n"
    "<reg name=\"xmm2\" bitsize=\"128\" type=\"v2u64\"/>\n"
    "<reg name=\"xmm3\" bitsize=\"128\" type=\"v2u64\"/>\n"
    "<reg name=\"xmm4\" bitsize=\"128\" type=\"v2u64\"/>\n"
    "<reg name=\"xmm5\" bitsize=\"128\" type=\"v2u64\"/>\n"
    "<reg name=\"xmm6\" bitsize=\"128\" type=\"v2u64\"/>\n"
    "<reg name=\"xmm7\" bitsize=\"128\" type=\"v2u64\"/>\n"
    "<reg name=\"xmm8\" bitsize=\"128\" type=\"v2u64\"/>\n"
    "<reg name=\"xmm9\" bitsize=\"128\" type=\"v2u64\"/>\n"
    "<reg name=\"xmm10\" bitsize=\"128\" type=\"v2u64\"/>\n"
    "<reg name=\"xmm11\" bitsize=\"128\" type=\"v2u64\"/>\n"
    "<reg name=\"xmm12\" bitsize=\"128\" type=\"v2u64\"/>\n"
    "<reg name=\"xmm13\" bitsize=\"128\" type=\"v2u64\"/>\n"
    "<reg name=\"xmm14\" bitsize=\"128\" type=\"v2u64\"/>\n"
    "<reg name=\"xmm15\" bitsize=\"128\" type=\"v2u64\"/>\n"
    "<reg name=\"mxcsr\" bitsize=\"32\" type=\"int\" group=\"vector\"/>\n"
    "</feature>\n</target>\n";

/* GDB's numbers are ours (mosaic/x86.h); st0-7 and xmm0-15, wider than 8 bytes, go
 * through the byte access (regs.c: kvm_regs_get_bytes). */
static bool regno(uint64_t r, unsigned *accel_regno)
{
    if (r > MOSAIC_X86_REG_MXCSR)
        return false;
    *accel_regno = (unsigned)r;
    return true;
}

static unsigned reg_bytes(unsigned r)
{
    if (r <= MOSAIC_X86_REG_RIP)
        return 8;
    if (r >= 24 && r <= 31)
        return 10;
    if (r >= 40 && r <= 55)
        return 16;
    return 4;
}

const MosaicDebugTarget kvm_gdb_target = {
    .size = sizeof(MosaicDebugTarget),
    .gdb_xml = xml,
    .ngeneral = MOSAIC_X86_REG_GS + 1,
    .pc_regno = MOSAIC_X86_REG_RIP,
    .regno = regno,
    .reg_bytes = reg_bytes,
};
