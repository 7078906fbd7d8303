/* SPDX-License-Identifier: GPL-2.0-or-later */
/* The RISC-V target description debuggers see (MosaicDebugTarget): GDB's standard
 * features, with register numbers pinned to GDB's own riscv numbering so p/P packets
 * map 1:1 onto this accelerator's register numbers (mosaic/accel.h), except the
 * privilege level, which GDB numbers 65 + 4096. */
#include "cpu.h"
#include <stdarg.h>
#include <stdio.h>

#define GDB_RISCV_NGPR 33          /* x0..x31, pc: the 'g' packet */
#define GDB_RISCV_CSR_LAST (65 + 4095)
#define GDB_RISCV_PRIV 4161        /* the "priv" virtual register */

/* CSRs worth showing in `info registers` on a bare-metal or kernel target.  Others
 * are still reachable with p/P (GDB's $csrNNN names need them in the description). */
static const struct { const char *name; unsigned num; } csrs[] = {
    {"mstatus", 0x300}, {"misa", 0x301}, {"medeleg", 0x302}, {"mideleg", 0x303},
    {"mie", 0x304}, {"mtvec", 0x305}, {"mscratch", 0x340}, {"mepc", 0x341},
    {"mcause", 0x342}, {"mtval", 0x343}, {"mip", 0x344}, {"mhartid", 0xf14},
    {"sstatus", 0x100}, {"sie", 0x104}, {"stvec", 0x105}, {"sscratch", 0x140},
    {"sepc", 0x141}, {"scause", 0x142}, {"stval", 0x143}, {"sip", 0x144},
    {"satp", 0x180},
};

static char xml[16384]; /* filled once by tcg_gdb_target_init (accel create, main thread) */
static size_t xml_len;

static void put(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
static void put(const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    int n = vsnprintf(xml + xml_len, sizeof(xml) - xml_len, fmt, ap);
    va_end(ap);
    if (n > 0)
        xml_len = xml_len + (size_t)n < sizeof(xml) ? xml_len + (size_t)n : sizeof(xml) - 1;
}

void tcg_gdb_target_init(void)
{
    if (xml_len)
        return;
    static const char *const abi[32] = {
        "zero", "ra", "sp", "gp", "tp", "t0", "t1", "t2", "fp", "s1", "a0", "a1", "a2",
        "a3", "a4", "a5", "a6", "a7", "s2", "s3", "s4", "s5", "s6", "s7", "s8", "s9",
        "s10", "s11", "t3", "t4", "t5", "t6"};
    put("<?xml version=\"1.0\"?>\n<!DOCTYPE target SYSTEM \"gdb-target.dtd\">\n"
        "<target version=\"1.0\">\n<architecture>riscv:rv64</architecture>\n"
        "<feature name=\"org.gnu.gdb.riscv.cpu\">\n");
    for (int i = 0; i < 32; i++)
        put("<reg name=\"%s\" bitsize=\"64\" regnum=\"%d\" type=\"%s\"/>\n", abi[i], i,
            i == 1 ? "code_ptr" : (i == 2 || i == 8) ? "data_ptr" : "int");
    put("<reg name=\"pc\" bitsize=\"64\" regnum=\"32\" type=\"code_ptr\"/>\n"
        "</feature>\n<feature name=\"org.gnu.gdb.riscv.fpu\">\n"
        "<union id=\"riscv_double\"><field name=\"float\" type=\"ieee_single\"/>"
        "<field name=\"double\" type=\"ieee_double\"/></union>\n");
    for (int i = 0; i < 32; i++)
        put("<reg name=\"f%d\" bitsize=\"64\" regnum=\"%d\" type=\"riscv_double\"/>\n", i,
            MOSAIC_RISCV_REG_F0 + i);
    put("<reg name=\"fflags\" bitsize=\"32\" regnum=\"%d\" type=\"int\" group=\"float\"/>\n"
        "<reg name=\"frm\" bitsize=\"32\" regnum=\"%d\" type=\"int\" group=\"float\"/>\n"
        "<reg name=\"fcsr\" bitsize=\"32\" regnum=\"%d\" type=\"int\" group=\"float\"/>\n"
        "</feature>\n<feature name=\"org.gnu.gdb.riscv.csr\">\n",
        MOSAIC_RISCV_REG_CSR0 + 1, MOSAIC_RISCV_REG_CSR0 + 2, MOSAIC_RISCV_REG_CSR0 + 3);
    for (size_t i = 0; i < sizeof(csrs) / sizeof(csrs[0]); i++)
        put("<reg name=\"%s\" bitsize=\"64\" regnum=\"%u\" type=\"int\" group=\"system\"/>\n",
            csrs[i].name, MOSAIC_RISCV_REG_CSR0 + csrs[i].num);
    put("</feature>\n<feature name=\"org.gnu.gdb.riscv.virtual\">\n"
        "<reg name=\"priv\" bitsize=\"64\" regnum=\"%d\" type=\"int\" group=\"general\"/>\n"
        "</feature>\n</target>\n", GDB_RISCV_PRIV);
}

static bool regno(uint64_t r, unsigned *accel_regno)
{
    if (r == GDB_RISCV_PRIV) {
        *accel_regno = MOSAIC_REG_PRIV;
        return true;
    }
    if (r > GDB_RISCV_CSR_LAST)
        return false;
    *accel_regno = (unsigned)r;
    return true;
}

static unsigned reg_bytes(unsigned r)
{
    /* fflags, frm, fcsr are 32-bit in the description (as in GDB's own riscv files). */
    return r >= MOSAIC_RISCV_REG_CSR0 + 1 && r <= MOSAIC_RISCV_REG_CSR0 + 3 ? 4 : 8;
}

const MosaicDebugTarget tcg_gdb_target = {
    .size = sizeof(MosaicDebugTarget),
    .gdb_xml = xml,
    .ngeneral = GDB_RISCV_NGPR,
    .pc_regno = MOSAIC_RISCV_REG_PC,
    .regno = regno,
    .reg_bytes = reg_bytes,
};
