/* Shared definitions of the Bootscope demo guest: the memory map every stage agrees on, the PL011 and
 * GICv2 registers of QEMU's `virt` board, the seed's painted regions (seed 2.3.3), and the small
 * architecture helpers (system registers) the C stages need. See guest/README.md for the full map. */
#ifndef DEMO_H
#define DEMO_H

#include <stdint.h>

/* ---- memory map (README "Memory map") ---- */
#define KERNEL_VA        0xe0000000u  /* seL4 boot stage runs here (seed 2.3.2 seL4_boot) ...        */
#define KERNEL_PA        0x60200000u  /* ... backed by this RAM, where the elfloader copies it.       */
#define ROOTSERVER_VA    0x00010000u  /* rootserver_start (seed 2.3.2) ...                            */
#define LOWMAP_PA        0x60400000u  /* ... VA 0 maps here, so VA 0x10000 -> PA 0x60410000.          */
#define CAMKES_ENTRY     0x40000000u  /* camkes_init, identity mapped (guest RAM base)                */

/* ---- QEMU virt devices ---- */
#define UART0_BASE       0x09000000u  /* PL011 */
#define UART_DR          (*(volatile uint32_t *)(UART0_BASE + 0x00))
#define UART_CR          (*(volatile uint32_t *)(UART0_BASE + 0x30))
#define GICD_BASE        0x08000000u  /* GICv2 distributor */
#define GICC_BASE        0x08010000u  /* GICv2 CPU interface */
#define GICD_CTLR        (*(volatile uint32_t *)(GICD_BASE + 0x000))
#define GICD_ISENABLER0  (*(volatile uint32_t *)(GICD_BASE + 0x100))
#define GICD_IPRIORITYR6 (*(volatile uint32_t *)(GICD_BASE + 0x418)) /* priorities of IDs 24..27 */
#define GICC_CTLR        (*(volatile uint32_t *)(GICC_BASE + 0x000))
#define GICC_PMR         (*(volatile uint32_t *)(GICC_BASE + 0x004))
#define GICC_IAR         (*(volatile uint32_t *)(GICC_BASE + 0x00c))
#define GICC_EOIR        (*(volatile uint32_t *)(GICC_BASE + 0x010))
/* Virtual timer PPI: virt wires CNTV to PPI 11, i.e. GIC interrupt ID 27. */
#define TIMER_IRQ        27u
/* 2 ms of counter time at virt's CNTFRQ of 62.5 MHz. Short enough that a task switch happens within a
 * few instructions when the recorder single-steps at a few thousand instructions per second. */
#define TICK_COUNTS      125000u
/* Task switches before the scheduler stops the timer and returns to boot_done. */
#define SWITCHES_BEFORE_DONE 6u

/* ---- the seed's painted regions (seed 2.3.3) ---- */
#define STACK_REGION     0x41000000u
#define STACK_SIZE       0x1000u
#define STACK_PATTERN    0xDEADBEEFu
#define DATA_REGION      0x41200000u
#define DATA_SIZE        0x1000u
#define DATA_PATTERN     0x12345678u
#define HEAP_REGION      0x41400000u
#define HEAP_SIZE        0x1000u
#define HEAP_PATTERN     0xCAFEBABEu
#define PATTERN_REGION   0x42000000u
#define PATTERN_SIZE     0x4000u
#define PATTERN_PATTERN  0x55AA55AAu

/* Corrupted build: task B gets a 64-byte stack placed right above the painted stack region, and its
 * 256-byte scratch buffer runs 48 words down into 0x41000f40..0x41000fff. */
#define CORRUPT_TASKB_STACK_TOP (STACK_REGION + STACK_SIZE + 0x40u)

/* UART output, inlined into every caller on purpose: a shared puts would live in one stage's PC range
 * and make the stage detector flip to that stage for every line printed (seed 2.3.2 is PC based). */
static inline __attribute__((always_inline)) void uart_puts(const char *s)
{
    for (; *s; s++) {
        if (*s == '\n') UART_DR = '\r'; /* CRLF, so a raw -nographic terminal shows clean lines */
        UART_DR = (uint32_t)(unsigned char)*s;
    }
}

#if defined(__aarch64__)
#define SYSREG_WRITE(reg, v) __asm__ volatile("msr " #reg ", %0" : : "r"((uint64_t)(v)) : "memory")
#define SYSREG_READ(reg) ({ uint64_t v_; __asm__ volatile("mrs %0, " #reg : "=r"(v_)); v_; })
#define ISB() __asm__ volatile("isb" : : : "memory")
static inline void irq_disable(void) { __asm__ volatile("msr daifset, #2" : : : "memory"); }
static inline void irq_enable(void) { __asm__ volatile("msr daifclr, #2" : : : "memory"); }
static inline void timer_set(uint32_t counts) { SYSREG_WRITE(cntv_tval_el0, counts); }
static inline void timer_ctl(uint32_t ctl) { SYSREG_WRITE(cntv_ctl_el0, ctl); ISB(); }
typedef uint64_t reg_t;
/* Exception frame saved by the IRQ entry (aarch64/start.S): x0..x30, sp_el0, elr_el1, spsr_el1. */
#define FRAME_WORDS 34
#define FRAME_SP    31
#define FRAME_PC    32
#define FRAME_PSR   33
#define TASK_PSR    0x004u   /* EL1t: tasks run on SP_EL0 with IRQs enabled */
#define PSR_IRQ_MASKED 0x080u /* SPSR_EL1.I (DAIF bit 7) */
#define DONE_PSR    0x3c5u   /* EL1h, DAIF masked */
#else
#define ISB() __asm__ volatile("isb" : : : "memory")
static inline void irq_disable(void) { __asm__ volatile("cpsid i" : : : "memory"); }
static inline void irq_enable(void) { __asm__ volatile("cpsie i" : : : "memory"); }
static inline void timer_set(uint32_t counts) { __asm__ volatile("mcr p15, 0, %0, c14, c3, 0" : : "r"(counts)); }
static inline void timer_ctl(uint32_t ctl) { __asm__ volatile("mcr p15, 0, %0, c14, c3, 1" : : "r"(ctl)); ISB(); }
typedef uint32_t reg_t;
/* Exception frame saved by the IRQ entry (arm32/start.S): r0..r12, sp_usr, lr_usr, pc, spsr, and one
 * pad word so the IRQ stack stays 8-byte aligned (AAPCS). */
#define FRAME_WORDS 18
#define FRAME_SP    13
#define FRAME_PC    15
#define FRAME_PSR   16
#define TASK_PSR    0x01fu   /* SYS mode (user register bank), IRQs enabled */
#define PSR_IRQ_MASKED 0x080u /* CPSR.I */
#define DONE_PSR    0x0dfu   /* SYS mode, IRQ and FIQ masked */
#endif

#endif
