/* SPDX-License-Identifier: GPL-2.0-or-later */
/* The code-and-data-on-one-page workload's loop (bench/riscv/codedata_*.c).
 * cd_work(a0 = rounds, a1 = 64-word table): each round mixes the 16 first words of the
 * table into a checksum (16 loads, ~150 instructions) and stores the checksum into one
 * table word, so one store per ~152 instructions.  cd_data_same sits on the loop's own
 * 4 KiB page (what a literal pool or a global next to code looks like to an emulator);
 * cd_data_apart is the same table on a page of its own.  Returns the checksum. */
    .section .text.codedata, "ax"
    .balign 4096
    .globl cd_work
cd_work:
    li t0, 0x12345
    li t3, 0
1:  mv t4, a1
    li t5, 16
2:  lw t6, 0(t4)
    add t0, t0, t6
    slli t1, t0, 5
    xor t0, t0, t1
    srli t1, t0, 7
    add t0, t0, t1
    addi t4, t4, 4
    addi t5, t5, -1
    bnez t5, 2b
    andi t1, t3, 63
    slli t1, t1, 2
    add t1, t1, a1
    sw t0, 0(t1)
    addi t3, t3, 1
    bne t3, a0, 1b
    mv a0, t0
    ret

    .balign 1024
    .globl cd_data_same
cd_data_same:
    .space 256
    .balign 4096

    .bss
    .balign 4096
    .globl cd_data_apart
cd_data_apart:
    .space 4096
