/* Stage 1, "elfloader" (seed 2.3.2: 0x60000000-0x61000000). Runs at its load address with the MMU off,
 * like seL4's elfloader: copies the kernel and rootserver images from where QEMU loaded them (their
 * LMA, right behind this code) to the RAM that will back their virtual addresses, installs those two
 * mappings, turns the MMU on and jumps to the kernel's virtual entry 0xe0000000. */
#include "demo.h"

/* Linker script symbols: load address and size of each relocated stage. */
extern reg_t __sel4_lma[], __sel4_size[], __rootserver_lma[], __rootserver_size[];
extern void sel4_boot(void);
/* Jumps to `entry` with the MMU on (start.S); never returns. */
extern void elfloader_enable_mmu(void *l1_table, void (*entry)(void)) __attribute__((noreturn));

static __attribute__((noinline)) void copy_stage(uintptr_t dst, const reg_t *src, uintptr_t bytes)
{
    /* Register-sized copy (the linker script pads both stages to 8 bytes): about 1k instructions. */
    volatile reg_t *d = (volatile reg_t *)dst;
    for (uintptr_t i = 0; i < bytes / sizeof(reg_t); i++) d[i] = src[i];
}

#if defined(__aarch64__)
/* 4 KiB granule, T0SZ=32: one level-1 table (four 1 GiB entries) and two level-2 tables of 2 MiB blocks. */
uint64_t boot_l1_table[512] __attribute__((aligned(4096), section(".bss.pagetables")));
static uint64_t l2_low[512] __attribute__((aligned(4096), section(".bss.pagetables")));
static uint64_t l2_high[512] __attribute__((aligned(4096), section(".bss.pagetables")));

#define PTE_TABLE   0x3ull
/* Block, AttrIndx 0 (MAIR 0xff normal write-back), inner shareable, access flag. */
#define PTE_NORMAL  0x701ull
/* Block, AttrIndx 1 (MAIR 0x00 device-nGnRnE), access flag, never executable. */
#define PTE_DEVICE  (0x405ull | (1ull << 53) | (1ull << 54))

static __attribute__((noinline)) void install_mappings(void)
{
    boot_l1_table[0] = (uint64_t)(uintptr_t)l2_low | PTE_TABLE;           /* 0x00000000-0x3fffffff */
    boot_l1_table[1] = 0x40000000ull | PTE_NORMAL;                        /* RAM, identity, 1 GiB  */
    boot_l1_table[3] = (uint64_t)(uintptr_t)l2_high | PTE_TABLE;          /* 0xc0000000-0xffffffff */
    l2_low[0] = LOWMAP_PA | PTE_NORMAL;                                    /* VA 0 -> rootserver   */
    l2_low[GICD_BASE >> 21] = GICD_BASE | PTE_DEVICE;                      /* GIC, identity        */
    l2_low[UART0_BASE >> 21] = UART0_BASE | PTE_DEVICE;                    /* PL011, identity      */
    l2_high[(KERNEL_VA - 0xc0000000u) >> 21] = KERNEL_PA | PTE_NORMAL;    /* VA 0xe0000000 -> PA  */
}
#else
/* Short-descriptor level-1 table, prebuilt in pagetable.S with identity 1 MiB sections (devices below
 * 1 GiB, normal memory for RAM); the elfloader adds the two non-identity sections. */
extern uint32_t boot_l1_table[4096];
/* Section, normal write-back (TEX=001 C=1 B=1), AP=11, domain 0. */
#define SECTION_NORMAL 0x1c0eu

static __attribute__((noinline)) void install_mappings(void)
{
    boot_l1_table[ROOTSERVER_VA >> 20] = LOWMAP_PA | SECTION_NORMAL;
    boot_l1_table[KERNEL_VA >> 20] = KERNEL_PA | SECTION_NORMAL;
}
#endif

void elfloader_main(void) __attribute__((noreturn));
void elfloader_main(void)
{
    UART_CR = 0x301; /* UARTEN | TXE | RXE */
#if defined(__aarch64__)
    uart_puts(SYSREG_READ(CurrentEL) == 8 ? "[elfloader] start (EL2)\n" : "[elfloader] start (not EL2)\n");
#else
    uart_puts("[elfloader] start\n");
#endif
    copy_stage(KERNEL_PA, __sel4_lma, (uintptr_t)__sel4_size);
    copy_stage(LOWMAP_PA + ROOTSERVER_VA, __rootserver_lma, (uintptr_t)__rootserver_size);
    uart_puts("[elfloader] copied kernel to 0x60200000, rootserver to 0x60410000\n");
    install_mappings();
    uart_puts("[elfloader] mmu on, jumping to 0xe0000000\n");
    elfloader_enable_mmu(boot_l1_table, sel4_boot);
}
