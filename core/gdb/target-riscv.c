/* The RISC-V target description the stub serves as target.xml: GDB's standard
 * features, with register numbers pinned to GDB's own riscv numbering so p/P packets
 * map 1:1 onto the accelerator's register numbers (mosaic/accel.h). */
#include "gdb/gdb-internal.h"
#include <mosaic/riscv.h>

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

static char *build_xml(void)
{
    GString *x = g_string_new("<?xml version=\"1.0\"?>\n"
                              "<!DOCTYPE target SYSTEM \"gdb-target.dtd\">\n"
                              "<target version=\"1.0\">\n"
                              "<architecture>riscv:rv64</architecture>\n"
                              "<feature name=\"org.gnu.gdb.riscv.cpu\">\n");
    static const char *const abi[32] = {
        "zero", "ra", "sp", "gp", "tp", "t0", "t1", "t2", "fp", "s1", "a0", "a1", "a2",
        "a3", "a4", "a5", "a6", "a7", "s2", "s3", "s4", "s5", "s6", "s7", "s8", "s9",
        "s10", "s11", "t3", "t4", "t5", "t6"};
    for (int i = 0; i < 32; i++)
        g_string_append_printf(x, "<reg name=\"%s\" bitsize=\"64\" regnum=\"%d\" type=\"%s\"/>\n",
                               abi[i], i, i == 1 ? "code_ptr" : (i == 2 || i == 8) ? "data_ptr" : "int");
    g_string_append(x, "<reg name=\"pc\" bitsize=\"64\" regnum=\"32\" type=\"code_ptr\"/>\n"
                       "</feature>\n<feature name=\"org.gnu.gdb.riscv.fpu\">\n"
                       "<union id=\"riscv_double\"><field name=\"float\" type=\"ieee_single\"/>"
                       "<field name=\"double\" type=\"ieee_double\"/></union>\n");
    for (int i = 0; i < 32; i++)
        g_string_append_printf(x, "<reg name=\"f%d\" bitsize=\"64\" regnum=\"%d\" type=\"riscv_double\"/>\n",
                               i, MOSAIC_RISCV_REG_F0 + i);
    g_string_append_printf(x, "<reg name=\"fflags\" bitsize=\"32\" regnum=\"%d\" type=\"int\" group=\"float\"/>\n"
                              "<reg name=\"frm\" bitsize=\"32\" regnum=\"%d\" type=\"int\" group=\"float\"/>\n"
                              "<reg name=\"fcsr\" bitsize=\"32\" regnum=\"%d\" type=\"int\" group=\"float\"/>\n"
                              "</feature>\n<feature name=\"org.gnu.gdb.riscv.csr\">\n",
                           MOSAIC_RISCV_REG_CSR0 + 1, MOSAIC_RISCV_REG_CSR0 + 2, MOSAIC_RISCV_REG_CSR0 + 3);
    for (gsize i = 0; i < G_N_ELEMENTS(csrs); i++)
        g_string_append_printf(x, "<reg name=\"%s\" bitsize=\"64\" regnum=\"%u\" type=\"int\" group=\"system\"/>\n",
                               csrs[i].name, MOSAIC_RISCV_REG_CSR0 + csrs[i].num);
    g_string_append_printf(x, "</feature>\n<feature name=\"org.gnu.gdb.riscv.virtual\">\n"
                              "<reg name=\"priv\" bitsize=\"64\" regnum=\"%d\" type=\"int\" group=\"general\"/>\n"
                              "</feature>\n</target>\n", GDB_RISCV_PRIV);
    return g_string_free(x, FALSE);
}

const char *gdb_riscv_target_xml(void)
{
    static char *xml;
    if (!xml)
        xml = build_xml(); /* main loop thread only; kept for the process lifetime */
    return xml;
}

gboolean gdb_riscv_regno(uint64_t r, unsigned *accel_regno)
{
    if (r == GDB_RISCV_PRIV) {
        *accel_regno = MOSAIC_REG_PRIV;
        return TRUE;
    }
    if (r > GDB_RISCV_CSR_LAST)
        return FALSE;
    *accel_regno = (unsigned)r;
    return TRUE;
}

unsigned gdb_riscv_reg_bytes(unsigned r)
{
    /* fflags, frm, fcsr are 32-bit in the description (as in GDB's own riscv files). */
    return r >= MOSAIC_RISCV_REG_CSR0 + 1 && r <= MOSAIC_RISCV_REG_CSR0 + 3 ? 4 : 8;
}
