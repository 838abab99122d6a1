@ A tiny raw firmware for `qemu-system-arm -M virt -bios`: prints one line on the PL011 UART and waits for
@ interrupts forever. Position-independent (adr and a literal pool only), so the same bytes run from the
@ flash at address 0 (-bios) or from RAM. Built and recorded with no ELF in README "A firmware you did not
@ build" and in test/integration/firmware.test.ts.
    .syntax unified
    .arm
    .text
    .global _start
_start:
    ldr     r1, =0x09000000         @ PL011 UART0 data register on -M virt
    adr     r2, message
print:
    ldrb    r0, [r2], #1
    cmp     r0, #0
    beq     idle
    str     r0, [r1]
    b       print
idle:
    wfi
    b       idle
message:
    .asciz  "Hello from a firmware without symbols\r\n"
    .balign 4
    .ltorg
