/* AArch64 assembly of the demo guest: the ELF entry (elfloader_start at 0x60000000, entered at EL2 on
 * `virt,virtualization=on`), the EL2 MMU switch-on, the kernel stage's EL2 vectors with the hvc entry
 * and the eret to EL1 (linked at 0xe0000000+), and the scheduler's EL1 vectors and IRQ entry with the
 * context save/restore (linked at 0x40003000+). Each piece sits in a section that the linker script
 * places inside its stage's PC range (seed 2.3.2). */

/* ---- stage 1: elfloader (0x60000000, EL2, MMU off, DAIF masked) ---- */
    .section .text.entry, "ax"
    .global elfloader_start
    .type elfloader_start, %function
elfloader_start:
    ldr x0, =boot_stack_top
    mov sp, x0
    bl elfloader_main
    b .
    .ltorg
    .size elfloader_start, . - elfloader_start

    .section .text.elfloader_mmu, "ax"
    .global elfloader_enable_mmu
    .type elfloader_enable_mmu, %function
/* x0 = level-1 table (physical), x1 = kernel entry (virtual). EL2 translation regime. */
elfloader_enable_mmu:
    mov x2, #0xff                   // MAIR attr0 normal write-back, attr1 device-nGnRnE
    msr mair_el2, x2
    ldr x2, =0x80803520             // T0SZ=32 (4 GiB, walk starts at level 1), WB walks, ISH, 4K
    msr tcr_el2, x2
    msr ttbr0_el2, x0
    dsb sy
    tlbi alle2
    dsb sy
    isb
    ldr x2, =0x30c50831             // SCTLR_EL2 RES1 bits + M
    msr sctlr_el2, x2
    isb
    br x1                           // to 0xe0000000, now mapped to PA 0x60200000
    .ltorg
    .size elfloader_enable_mmu, . - elfloader_enable_mmu

/* One 128-byte vector slot that branches to `target`. */
.macro vector target
    .balign 128
    b \target
.endm

/* ---- stage 2: kernel at EL2 (VA 0xe0000000+) ---- */
    .section .text.sel4_asm, "ax"
    .global sel4_enter_rootserver
    .type sel4_enter_rootserver, %function
/* x0 = entry (virtual 0x10000), x1 = EL1 stack top. Drops to EL1h with DAIF masked. */
sel4_enter_rootserver:
    msr sp_el1, x1
    msr elr_el2, x0
    mov x2, #0x3c5                  // EL1h, D A I F masked
    msr spsr_el2, x2
    eret
    .size sel4_enter_rootserver, . - sel4_enter_rootserver

/* hvc from EL1: save the caller-saved registers, let C print, return after the hvc. */
    .type sel4_hvc_entry, %function
sel4_hvc_entry:
    sub sp, sp, #176
    stp x0, x1, [sp, #0]
    stp x2, x3, [sp, #16]
    stp x4, x5, [sp, #32]
    stp x6, x7, [sp, #48]
    stp x8, x9, [sp, #64]
    stp x10, x11, [sp, #80]
    stp x12, x13, [sp, #96]
    stp x14, x15, [sp, #112]
    stp x16, x17, [sp, #128]
    stp x18, x29, [sp, #144]
    str x30, [sp, #160]
    bl sel4_handle_syscall          // x0 = syscall number
    ldp x0, x1, [sp, #0]
    ldp x2, x3, [sp, #16]
    ldp x4, x5, [sp, #32]
    ldp x6, x7, [sp, #48]
    ldp x8, x9, [sp, #64]
    ldp x10, x11, [sp, #80]
    ldp x12, x13, [sp, #96]
    ldp x14, x15, [sp, #112]
    ldp x16, x17, [sp, #128]
    ldp x18, x29, [sp, #144]
    ldr x30, [sp, #160]
    add sp, sp, #176
    eret                            // ELR_EL2 already points after the hvc
    .size sel4_hvc_entry, . - sel4_hvc_entry

    .section .text.sel4_vectors, "ax"
    .balign 2048
    .global sel4_vectors
    .type sel4_vectors, %function
sel4_vectors:
    vector sel4_fault               // current EL, SP0: sync
    vector sel4_fault               //   irq
    vector sel4_fault               //   fiq
    vector sel4_fault               //   serror
    vector sel4_fault               // current EL, SPx: sync
    vector sel4_fault               //   irq
    vector sel4_fault               //   fiq
    vector sel4_fault               //   serror
    vector sel4_hvc_entry           // lower EL, AArch64: sync (the rootserver's hvc)
    vector sel4_fault               //   irq
    vector sel4_fault               //   fiq
    vector sel4_fault               //   serror
    /* Lower EL AArch32 slots (0x600-0x780) are left out: EL1 is AArch64 (HCR_EL2.RW). */
    .size sel4_vectors, . - sel4_vectors

/* ---- stage 5: scheduler at EL1 (0x40003000+) ---- */
    .section .text.sched_asm, "ax"
/* IRQ from a task (EL1t). Frame on the IRQ stack (SP_EL1), 34 doublewords:
 * x0-x30, sp_el0, elr_el1, spsr_el1. */
    .type irq_entry, %function
irq_entry:
    sub sp, sp, #272
    stp x0, x1, [sp, #0]
    stp x2, x3, [sp, #16]
    stp x4, x5, [sp, #32]
    stp x6, x7, [sp, #48]
    stp x8, x9, [sp, #64]
    stp x10, x11, [sp, #80]
    stp x12, x13, [sp, #96]
    stp x14, x15, [sp, #112]
    stp x16, x17, [sp, #128]
    stp x18, x19, [sp, #144]
    stp x20, x21, [sp, #160]
    stp x22, x23, [sp, #176]
    stp x24, x25, [sp, #192]
    stp x26, x27, [sp, #208]
    stp x28, x29, [sp, #224]
    mrs x1, sp_el0
    stp x30, x1, [sp, #240]
    mrs x2, elr_el1
    mrs x3, spsr_el1
    stp x2, x3, [sp, #256]
    mov x0, sp
    bl vPortTickHandler             // may replace the frame with the other task's
    mov x0, sp
    b port_restore_context
    .size irq_entry, . - irq_entry

    .global port_restore_context
    .type port_restore_context, %function
/* x0 = frame at the top of the IRQ stack. Also called once from scheduler_start (EL1h, DAIF masked). */
port_restore_context:
    mov sp, x0
    ldp x30, x1, [sp, #240]
    msr sp_el0, x1
    ldp x2, x3, [sp, #256]
    msr elr_el1, x2
    msr spsr_el1, x3
    ldp x0, x1, [sp, #0]
    ldp x2, x3, [sp, #16]
    ldp x4, x5, [sp, #32]
    ldp x6, x7, [sp, #48]
    ldp x8, x9, [sp, #64]
    ldp x10, x11, [sp, #80]
    ldp x12, x13, [sp, #96]
    ldp x14, x15, [sp, #112]
    ldp x16, x17, [sp, #128]
    ldp x18, x19, [sp, #144]
    ldp x20, x21, [sp, #160]
    ldp x22, x23, [sp, #176]
    ldp x24, x25, [sp, #192]
    ldp x26, x27, [sp, #208]
    ldp x28, x29, [sp, #224]
    add sp, sp, #272
    eret
    .size port_restore_context, . - port_restore_context

    .section .text.sched_vectors, "ax"
    .balign 2048
    .global sched_vectors
    .type sched_vectors, %function
sched_vectors:
    vector sched_fault              // current EL, SP0: sync
    vector irq_entry                //   irq: the tick, taken from a task (EL1t)
    vector sched_fault              //   fiq
    vector sched_fault              //   serror
    vector sched_fault              // current EL, SPx: sync
    vector sched_fault              //   irq (never unmasked at EL1h)
    vector sched_fault              //   fiq
    vector sched_fault              //   serror
    /* Lower-EL slots (0x400-0x780) are left out: nothing runs below EL1. */
    .size sched_vectors, . - sched_vectors

/* ---- stacks (zeroed RAM, NOLOAD) ---- */
    .section .bss.boot_stacks, "aw", %nobits
    .balign 16
    .space 4096
    .global boot_stack_top
boot_stack_top:
    .space 4096
    .global rootserver_stack_top
rootserver_stack_top:

    .section .bss.freertos_stacks, "aw", %nobits
    .balign 16
    .global irq_stack
irq_stack:
    .space 4096
    .global irq_stack_top
irq_stack_top:
    .space 4096
    .global task_a_stack_top
task_a_stack_top:
    .space 4096
    .global task_b_stack_top
task_b_stack_top:
