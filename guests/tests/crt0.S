/* Entry of every bare-metal test: hart 0 runs the test, other harts park in WFI.
 * Traps go to trap_entry, which saves all registers in a frame on the stack and calls
 * trap_dispatch(frame) in harness.c; the frame (possibly modified) is restored and
 * mret returns to frame->mepc. */
    .section .text.start, "ax"
    .globl _start
_start:
    /* Keep the boot arguments for tests that check them (reset.c). */
    mv t5, a0
    mv t6, a1
    .option push
    .option norelax
    la gp, __global_pointer$
    .option pop
    csrr t0, mhartid
    bnez t0, park
    la sp, __stack_top
    /* One PMP entry granting S and U everything (QEMU refuses mret to a lower
     * mode while no PMP rule exists). */
    li t0, -1
    csrw pmpaddr0, t0
    li t0, 0x1f
    csrw pmpcfg0, t0
    la t0, trap_entry
    csrw mtvec, t0
    la t0, __bss_start
    la t1, __bss_end
1:  bgeu t0, t1, 2f
    sd zero, 0(t0)
    addi t0, t0, 8
    j 1b
2:  la t0, boot_a0
    sd t5, 0(t0)
    la t0, boot_a1
    sd t6, 0(t0)
    call test_main
    call test_exit
/* Secondary harts: own stack, mtvec, then sleep until hart 0 posts a function in
 * hart_entry[hartid] and sends a software interrupt (msip). */
park:
    la sp, __stack_top_harts
    li t1, 4096
    mul t1, t1, t0
    sub sp, sp, t1
    la t1, trap_entry
    csrw mtvec, t1
    li t1, 8
    csrw mie, t1
    mv s0, t0
1:  wfi
    la t1, hart_entry
    slli t2, s0, 3
    add t1, t1, t2
    ld t2, 0(t1)
    beqz t2, 1b
    sd zero, 0(t1)
    /* acknowledge the IPI: clear our msip */
    li t1, 0x2000000
    slli t3, s0, 2
    add t1, t1, t3
    sw zero, 0(t1)
    mv a0, s0
    jalr t2
    mv t0, s0
    j 1b

    .data
    .balign 8
    .globl boot_a0, boot_a1
boot_a0: .dword 0
boot_a1: .dword 0

    .text
    .balign 4
    .globl trap_entry
trap_entry:
    addi sp, sp, -272
    sd x1, 8(sp)
    sd x3, 24(sp)
    sd x4, 32(sp)
    sd x5, 40(sp)
    sd x6, 48(sp)
    sd x7, 56(sp)
    sd x8, 64(sp)
    sd x9, 72(sp)
    sd x10, 80(sp)
    sd x11, 88(sp)
    sd x12, 96(sp)
    sd x13, 104(sp)
    sd x14, 112(sp)
    sd x15, 120(sp)
    sd x16, 128(sp)
    sd x17, 136(sp)
    sd x18, 144(sp)
    sd x19, 152(sp)
    sd x20, 160(sp)
    sd x21, 168(sp)
    sd x22, 176(sp)
    sd x23, 184(sp)
    sd x24, 192(sp)
    sd x25, 200(sp)
    sd x26, 208(sp)
    sd x27, 216(sp)
    sd x28, 224(sp)
    sd x29, 232(sp)
    sd x30, 240(sp)
    sd x31, 248(sp)
    addi t0, sp, 272
    sd t0, 16(sp)
    csrr t0, mepc
    sd t0, 256(sp)
    .option push
    .option norelax
    la gp, __global_pointer$
    .option pop
    mv a0, sp
    call trap_dispatch
    ld t0, 256(sp)
    csrw mepc, t0
    ld x1, 8(sp)
    ld x3, 24(sp)
    ld x4, 32(sp)
    ld x5, 40(sp)
    ld x6, 48(sp)
    ld x7, 56(sp)
    ld x8, 64(sp)
    ld x9, 72(sp)
    ld x10, 80(sp)
    ld x11, 88(sp)
    ld x12, 96(sp)
    ld x13, 104(sp)
    ld x14, 112(sp)
    ld x15, 120(sp)
    ld x16, 128(sp)
    ld x17, 136(sp)
    ld x18, 144(sp)
    ld x19, 152(sp)
    ld x20, 160(sp)
    ld x21, 168(sp)
    ld x22, 176(sp)
    ld x23, 184(sp)
    ld x24, 192(sp)
    ld x25, 200(sp)
    ld x26, 208(sp)
    ld x27, 216(sp)
    ld x28, 224(sp)
    ld x29, 232(sp)
    ld x30, 240(sp)
    ld x31, 248(sp)
    addi sp, sp, 272
    mret
