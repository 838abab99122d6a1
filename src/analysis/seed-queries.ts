// The seed methodology's analysis queries (sections 4.1-4.3), verbatim: every recording must answer them
// unchanged, from Bootscope, the sqlite3 CLI and Python alike. Tests run each one against a real recording;
// the query console, notebooks, the HTML report and the benchmark all take them from here.

/** Seed 4.1 "Boot Sequence Timing" (its `?` is the session id). */
export const SEED_BOOT_SEQUENCE_TIMING = `SELECT boot_stage, 
       MIN(timestamp) as start_time,
       MAX(timestamp) as end_time,
       COUNT(*) as instruction_count
FROM instruction_traces
WHERE session_id = ?
GROUP BY boot_stage
ORDER BY MIN(sequence_number);`;

/** Seed 4.1 "Memory Evolution Tracking". */
export const SEED_MEMORY_EVOLUTION = `SELECT ms.timestamp, mr.region_name,
       (mr.pattern_matches * 100.0 / (mr.size / 4)) as match_percentage
FROM memory_snapshots ms
JOIN memory_regions mr ON ms.snapshot_id = mr.snapshot_id
WHERE mr.expected_pattern IS NOT NULL
ORDER BY ms.timestamp, mr.region_name;`;

/** Seed 4.2 "Function Execution Mapping". */
export const SEED_FUNCTION_EXECUTION = `SELECT function_name, COUNT(*) as execution_count,
       COUNT(DISTINCT boot_stage) as active_stages,
       MIN(pc_address) as start_addr,
       MAX(pc_address) as end_addr
FROM instruction_traces
WHERE function_name != 'unknown'
GROUP BY function_name
ORDER BY execution_count DESC;`;

/** Seed 4.3 "Pattern-Instruction Correlation". */
export const SEED_PATTERN_CORRELATION = `SELECT it.timestamp, it.pc_address, it.disassembly,
       mr.region_name, mr.pattern_matches
FROM instruction_traces it
JOIN memory_snapshots ms ON it.timestamp = ms.timestamp
JOIN memory_regions mr ON ms.snapshot_id = mr.snapshot_id
WHERE it.function_name LIKE '%Memory%Pattern%'
ORDER BY it.sequence_number;`;

export interface SeedQuery {
  id: string;
  /** The seed's section and heading. */
  title: string;
  sql: string;
  /** Positional parameters the query takes: 4.1 timing takes the session id. */
  takesSessionId: boolean;
}

export const SEED_QUERIES: readonly SeedQuery[] = [
  { id: 'seed-4.1-timing', title: '4.1 Boot Sequence Timing', sql: SEED_BOOT_SEQUENCE_TIMING, takesSessionId: true },
  { id: 'seed-4.1-evolution', title: '4.1 Memory Evolution Tracking', sql: SEED_MEMORY_EVOLUTION, takesSessionId: false },
  { id: 'seed-4.2-functions', title: '4.2 Function Execution Mapping', sql: SEED_FUNCTION_EXECUTION, takesSessionId: false },
  { id: 'seed-4.3-correlation', title: '4.3 Pattern-Instruction Correlation', sql: SEED_PATTERN_CORRELATION, takesSessionId: false },
];
