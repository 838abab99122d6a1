/* Stage 5, "scheduler" (seed 2.3.2 scheduler_start: 0x40003000-0x40004000). A two-task preemptive
 * scheduler in the spirit of FreeRTOS's port layer: the virtual timer (PPI 27 through the GICv2) ticks
 * every TICK_COUNTS, each tick saves the running task's frame into its TCB and restores the other one
 * (vTaskSwitchContext). After SWITCHES_BEFORE_DONE switches the tick stops the timer and returns into
 * boot_done with interrupts masked instead of into a task. */
#include "demo.h"

struct task_control_block {
    reg_t frame[FRAME_WORDS];
};

static struct task_control_block tasks[2];
static unsigned current_task;
static unsigned switch_count;
volatile uint32_t ulTaskACount, ulTaskBCount;

extern uint8_t sched_vectors[], task_a_stack_top[];
/* The IRQ stack (start.S): IRQ_STACK_BYTES below irq_stack_top. */
extern reg_t irq_stack[];
#define IRQ_STACK_BYTES 4096u
#if !CORRUPT_STACK
extern uint8_t task_b_stack_top[];
#endif
/* start.S: loads `frame` (placed at the top of the IRQ stack) and returns from exception into it. */
extern void port_restore_context(reg_t *frame) __attribute__((noreturn));

void vTaskA(void) __attribute__((noreturn));
void vTaskB(void) __attribute__((noreturn));
void boot_done(void) __attribute__((noreturn));

void scheduler_start(void) __attribute__((noreturn, section(".text.scheduler_start")));
void scheduler_start(void)
{
    uart_puts("[sched] start: tasks A and B, tick 2 ms\n");
    tasks[0].frame[FRAME_PC] = (reg_t)(uintptr_t)vTaskA;
    tasks[0].frame[FRAME_SP] = (reg_t)(uintptr_t)task_a_stack_top;
    tasks[0].frame[FRAME_PSR] = TASK_PSR;
    tasks[1].frame[FRAME_PC] = (reg_t)(uintptr_t)vTaskB;
#if CORRUPT_STACK
    /* The bug under study: task B's stack is configured far too small and sits right above the
     * painted stack region, so its first deep frame runs down into 0x41000fxx. */
    tasks[1].frame[FRAME_SP] = CORRUPT_TASKB_STACK_TOP;
#else
    tasks[1].frame[FRAME_SP] = (reg_t)(uintptr_t)task_b_stack_top;
#endif
    /* B starts with IRQs masked and unmasks them after its critical section. The tick is 2 ms of wall
     * time, which under single-stepping is only a few instructions: if B started unmasked, whether it
     * reached its own irq_disable() before the next tick would depend on how fast the host steps, and
     * so would what a recording shows. Masked from its first instruction, B always does the same work. */
    tasks[1].frame[FRAME_PSR] = TASK_PSR | PSR_IRQ_MASKED;
    current_task = 0;

#if defined(__aarch64__)
    SYSREG_WRITE(vbar_el1, sched_vectors);
#else
    __asm__ volatile("mcr p15, 0, %0, c12, c0, 0" : : "r"(sched_vectors) : "memory"); /* VBAR */
#endif
    ISB();
    GICD_IPRIORITYR6 = 0xa0u << 24;     /* ID 27 */
    GICD_ISENABLER0 = 1u << TIMER_IRQ;
    GICD_CTLR = 1;
    GICC_PMR = 0xf0;
    GICC_CTLR = 1;
    timer_set(TICK_COUNTS);
    timer_ctl(1);                       /* ENABLE, IMASK clear */
    uart_puts("[sched] start task A\n");

    reg_t *frame = &irq_stack[IRQ_STACK_BYTES / sizeof(reg_t) - FRAME_WORDS];
    for (unsigned i = 0; i < FRAME_WORDS; i++) frame[i] = tasks[0].frame[i];
    port_restore_context(frame);
}

/* Saves the interrupted task's frame, switches to the other task and loads its frame in place. */
void vTaskSwitchContext(reg_t *frame)
{
    reg_t *from = tasks[current_task].frame;
    for (unsigned i = 0; i < FRAME_WORDS; i++) from[i] = frame[i];
    current_task ^= 1u;
    reg_t *to = tasks[current_task].frame;
    for (unsigned i = 0; i < FRAME_WORDS; i++) frame[i] = to[i];
    uart_puts(current_task ? "[sched] switch A->B\n" : "[sched] switch B->A\n");
}

/* C part of the IRQ vector (start.S `irq_entry`); `frame` is the interrupted context on the IRQ stack. */
void vPortTickHandler(reg_t *frame)
{
    uint32_t iar = GICC_IAR;
    if ((iar & 0x3ffu) == TIMER_IRQ) {
        if (switch_count == SWITCHES_BEFORE_DONE) {
            timer_ctl(0);
            frame[FRAME_PC] = (reg_t)(uintptr_t)boot_done;
            frame[FRAME_PSR] = DONE_PSR;
            frame[FRAME_SP] = (reg_t)(uintptr_t)task_a_stack_top;
        } else {
            switch_count++;
            vTaskSwitchContext(frame);
            /* Re-armed last, so each task gets a full tick even when single-stepping is slow. */
            timer_set(TICK_COUNTS);
        }
    }
    if ((iar & 0x3ffu) != 1023u) GICC_EOIR = iar;
}

void vTaskA(void)
{
    for (;;) {
        ulTaskACount++;
        __asm__ volatile("wfi");
    }
}

void vTaskB(void)
{
    /* A task-local buffer: 256 bytes, filled in a critical section so the extent of what it writes does
     * not depend on where a tick lands. In the corrupted build it is 4x B's whole stack. */
    volatile uint32_t scratch[64] __attribute__((unused));
    irq_disable();
    for (unsigned i = 0; i < 64; i++) scratch[i] = 0x0b0b0000u | i;
    irq_enable();
    for (;;) {
        ulTaskBCount++;
        __asm__ volatile("wfi");
    }
}

void boot_done(void)
{
    uart_puts("[done]\n");
    for (;;) __asm__ volatile("wfi");
}

/* Any exception other than the tick while the scheduler's vectors are installed. */
void sched_fault(void) __attribute__((noreturn));
void sched_fault(void)
{
    uart_puts("[sched] unexpected exception\n");
    for (;;) __asm__ volatile("wfi");
}
