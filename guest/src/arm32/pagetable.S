/* AArch32 boot page table: a short-descriptor level-1 table of 4096 1 MiB sections, built at assembly
 * time so the elfloader does not spend ~16k instructions filling it. Identity map: device sections below
 * 1 GiB (GIC 0x08000000, PL011 0x09000000), normal write-back memory for RAM 0x40000000-0x7fffffff,
 * nothing above. Entry 0 (VA 0, the rootserver) and entry 0xe00 (the kernel) are set by the elfloader. */
    .section .data.boot_l1_table, "aw"
    .balign 16384
    .global boot_l1_table
boot_l1_table:
    .word 0                         @ VA 0x00000000: the elfloader maps the rootserver here
    .set section, 1
    .rept 0x3ff
    .word (section << 20) | 0xc16   @ device (TEX=000 C=0 B=1), AP=11, XN
    .set section, section + 1
    .endr
    .rept 0x400
    .word (section << 20) | 0x1c0e  @ normal write-back (TEX=001 C=1 B=1), AP=11
    .set section, section + 1
    .endr
    .fill 0x800, 4, 0               @ 0x80000000 and up: unmapped (0xe00 added by the elfloader)
    .size boot_l1_table, . - boot_l1_table
