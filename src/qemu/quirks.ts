// Every QEMU-version-dependent behaviour of the gdbstub and monitor, in one place (the cortex-debug lesson:
// one file per server kind's quirks). Callers ask `quirksFor(version).someQuirk`, never compare versions.
// "verified on 7.2" = observed against Debian's QEMU 7.2.22 (see test/integration/qemu-quirks.test.ts);
// other versions follow QEMU's gdbstub/gdbstub.c history as cited.
import { compareQemuVersions, type QemuVersion } from './version';

export interface QemuQuirks {
  /**
   * A gdb client that connects to a *running* VM makes QEMU stop it (gdb_chr_event CHR_EVENT_OPENED →
   * vm_stop(RUN_STATE_PAUSED)) and QEMU then sends an unsolicited `T02thread:...;` stop reply before any
   * request. A client must read (or expect) that packet. Connecting during -S "prelaunch" sends nothing.
   * Verified on 7.2 (QMP also emits STOP and query-status becomes "paused").
   */
  sendsT02OnConnectToRunningVm: boolean;
  /**
   * `?` (handle_target_halt) calls gdb_breakpoint_remove_all(): every Z0/Z1/Z2 breakpoint and watchpoint
   * set so far is gone. Send `?` only once, right after connecting, before inserting breakpoints. Still
   * true in current QEMU.
   */
  questionMarkDeletesBreakpoints: boolean;
  /**
   * From 8.1 (`allow_stop_reply`), `?` answers with a stop reply only once per stop; a second `?` gets
   * no reply at all, so a client waiting for one hangs. 7.2 answers every `?`.
   */
  questionMarkRepliesOnlyOncePerStop: boolean;
  /**
   * qSupported advertises ReverseStep+/ReverseContinue+ only when QEMU replays a record
   * (gdb_can_reverse(): replay_mode == REPLAY_MODE_PLAY, i.e. `-icount ...,rr=replay`); `bs`/`bc` are
   * refused otherwise.
   */
  reverseDebuggingOnlyWhenReplaying: boolean;
  /**
   * Before 8.2 (gdb_has_xml, removed by "gdbstub: Remove gdb_has_xml variable"), `p`/`P` answer an empty
   * packet (unsupported) until the client has read `qXfer:features:read:target.xml`. Verified on 7.2:
   * `p0` → "" before the read, "00000000" after it.
   */
  pRequiresTargetXml: boolean;
  /** QEMU's gdbstub never implemented QStartNoAckMode (answers ""): every packet is acked with `+`. Verified on 7.2. */
  hasNoAckMode: boolean;
  /** `qqemu.sstepbits` / `Qqemu.sstep=N` select single-step flags (ENABLE=1,NOIRQ=2,NOTIMER=4); default 0x7. Verified on 7.2. */
  hasSstepBits: boolean;
  /** `Qqemu.PhyMemMode:1` makes m/M use guest-physical addresses (system emulation only). Verified on 7.2. */
  hasPhyMemMode: boolean;
  /** The gdbstub's PacketSize in qSupported (MAX_PACKET_LENGTH = 4096 = 0x1000). Verified on 7.2. */
  maxPacketSize: number;
}

const V8_1 = { major: 8, minor: 1, micro: 0 };
const V8_2 = { major: 8, minor: 2, micro: 0 };

export function quirksFor(version: Pick<QemuVersion, 'major' | 'minor' | 'micro'>): QemuQuirks {
  return {
    sendsT02OnConnectToRunningVm: true,
    questionMarkDeletesBreakpoints: true,
    questionMarkRepliesOnlyOncePerStop: compareQemuVersions(version, V8_1) >= 0,
    reverseDebuggingOnlyWhenReplaying: true,
    pRequiresTargetXml: compareQemuVersions(version, V8_2) < 0,
    hasNoAckMode: false,
    hasSstepBits: true,
    hasPhyMemMode: true,
    maxPacketSize: 0x1000,
  };
}
