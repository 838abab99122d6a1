/* AArch32 assembly of the demo guest: the ELF entry (elfloader_start at 0x60000000), the MMU switch-on,
 * the kernel stage's vectors and svc entry (linked at 0xe0000000+), and the scheduler's vectors and IRQ
 * entry with the context save/restore (linked at 0x40003000+). Each piece sits in a section that the
 * linker script places inside its stage's PC range (seed 2.3.2). */
    .syntax unified
    .arm

/* ---- stage 1: elfloader (0x60000000, SVC mode, MMU off, IRQs masked) ---- */
    .section .text.entry, "ax"
    .global elfloader_start
    .type elfloader_start, %function
elfloader_start:
    ldr sp, =boot_stack_top
    bl elfloader_main
    b .
    .ltorg
    .size elfloader_start, . - elfloader_start

    .section .text.elfloader_mmu, "ax"
    .global elfloader_enable_mmu
    .type elfloader_enable_mmu, %function
/* r0 = level-1 table (physical), r1 = kernel entry (virtual). */
elfloader_enable_mmu:
    mov r2, #0
    mcr p15, 0, r2, c2, c0, 2       @ TTBCR: short descriptors, TTBR0 for all addresses
    mcr p15, 0, r0, c2, c0, 0       @ TTBR0
    ldr r2, =0x55555555
    mcr p15, 0, r2, c3, c0, 0       @ DACR: every domain client (AP bits checked)
    mov r2, #0
    mcr p15, 0, r2, c8, c7, 0       @ TLBIALL
    dsb
    isb
    mrc p15, 0, r2, c1, c0, 0
    orr r2, r2, #1                  @ SCTLR.M
    mcr p15, 0, r2, c1, c0, 0
    isb
    bx r1                           @ to 0xe0000000, now mapped to PA 0x60200000
    .ltorg
    .size elfloader_enable_mmu, . - elfloader_enable_mmu

/* ---- stage 2: kernel (VA 0xe0000000+) ---- */
    .section .text.sel4_asm, "ax"
    .balign 32
    .global sel4_vectors
    .type sel4_vectors, %function
sel4_vectors:
    b sel4_fault                    @ reset
    b sel4_fault                    @ undefined
    b sel4_svc_entry                @ svc: the rootserver's system call
    b sel4_fault                    @ prefetch abort
    b sel4_fault                    @ data abort
    b sel4_fault                    @ (hyp)
    b sel4_fault                    @ irq: not expected before the scheduler installs its own vectors
    b sel4_fault                    @ fiq
    .size sel4_vectors, . - sel4_vectors

    .type sel4_svc_entry, %function
sel4_svc_entry:
    push {r0-r3, r12, lr}
    bl sel4_handle_syscall          @ r0 = syscall number
    pop {r0-r3, r12, lr}
    movs pc, lr                     @ back to the rootserver, SPSR restored
    .size sel4_svc_entry, . - sel4_svc_entry

    .global sel4_enter_rootserver
    .type sel4_enter_rootserver, %function
/* r0 = entry (virtual 0x10000), r1 = rootserver stack top. Enters SYS mode with IRQs masked. */
sel4_enter_rootserver:
    cps #0x1f
    mov sp, r1                      @ SYS/USR bank sp
    cps #0x13
    mov r2, #0xdf                   @ SYS mode, I and F masked
    msr spsr_cxsf, r2
    mov lr, r0
    movs pc, lr
    .size sel4_enter_rootserver, . - sel4_enter_rootserver

/* ---- stage 5: scheduler (0x40003000+) ---- */
    .section .text.sched_asm, "ax"
    .balign 32
    .global sched_vectors
    .type sched_vectors, %function
sched_vectors:
    b sched_fault                   @ reset
    b sched_fault                   @ undefined
    b sched_fault                   @ svc
    b sched_fault                   @ prefetch abort
    b sched_fault                   @ data abort
    b sched_fault                   @ (hyp)
    b irq_entry                     @ irq: the virtual timer tick
    b sched_fault                   @ fiq
    .size sched_vectors, . - sched_vectors

/* IRQ from a task (SYS mode). Frame on the IRQ stack, 18 words: r0-r12, sp_usr, lr_usr, pc, spsr, pad. */
    .type irq_entry, %function
irq_entry:
    sub lr, lr, #4                  @ preferred return address
    sub sp, sp, #72
    stmia sp, {r0-r12}
    add r0, sp, #52
    stmia r0, {sp, lr}^             @ the task's banked sp and lr
    str lr, [sp, #60]
    mrs r1, spsr
    str r1, [sp, #64]
    mov r0, sp
    bl vPortTickHandler             @ may replace the frame with the other task's
    b .Lrestore_frame
    .size irq_entry, . - irq_entry

    .global port_restore_context
    .type port_restore_context, %function
/* r0 = frame at the top of the IRQ stack. Called once from scheduler_start to start the first task. */
port_restore_context:
    cpsid if, #0x12                 @ IRQ mode: its sp becomes the IRQ stack
    mov sp, r0
.Lrestore_frame:
    ldr r1, [sp, #64]
    msr spsr_cxsf, r1
    ldr lr, [sp, #60]
    add r0, sp, #52
    ldmia r0, {sp, lr}^
    nop                             @ no banked-register access right after ldm ^
    ldmia sp, {r0-r12}
    add sp, sp, #72
    movs pc, lr
    .size port_restore_context, . - port_restore_context

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
