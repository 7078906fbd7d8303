    .section .text.start
    .globl _start
_start:
    la sp, stack_top
    la t0, trap_entry
    csrw stvec, t0
    call main
    li a7, 0x53525354
    li a6, 0
    li a0, 0
    li a1, 0
    ecall
    j .
    .align 4
    .globl trap_entry
trap_entry:
    csrrw sp, sscratch, sp
    bnez sp, 1f
    csrrw sp, sscratch, sp     /* trap from S: keep the S stack */
1:  addi sp, sp, -256
    .irp n,1,3,4,5,6,7,8,9,10,11,12,13,14,15,16,17,18,19,20,21,22,23,24,25,26,27,28,29,30,31
    sd x\n, \n*8(sp)
    .endr
    mv a0, sp
    call trap_c
    .irp n,1,3,4,5,6,7,8,9,10,11,12,13,14,15,16,17,18,19,20,21,22,23,24,25,26,27,28,29,30,31
    ld x\n, \n*8(sp)
    .endr
    addi sp, sp, 256
    sret
    .bss
    .align 12
    .space 16384
    .globl stack_top
stack_top:
