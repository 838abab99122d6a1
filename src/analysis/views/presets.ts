// The query console's presets and the new notebook's cells: the seed's analysis queries (methodology
// sections 4.1-4.3), verbatim — they must keep running unchanged against every recording — plus a few
// Bootscope queries over the tables it adds (boot_stages, snapshot pattern results).
import type { QueryPreset } from '../../protocol/messages';
import {
  SEED_BOOT_SEQUENCE_TIMING, SEED_FUNCTION_EXECUTION, SEED_MEMORY_EVOLUTION, SEED_PATTERN_CORRELATION,
} from '../seed-queries';

export const QUERY_PRESETS: readonly QueryPreset[] = [
  { id: 'seed-4.1-timing', label: '4.1 Boot sequence timing', sql: SEED_BOOT_SEQUENCE_TIMING },
  { id: 'seed-4.1-evolution', label: '4.1 Memory evolution tracking', sql: SEED_MEMORY_EVOLUTION },
  { id: 'seed-4.2-functions', label: '4.2 Function execution mapping', sql: SEED_FUNCTION_EXECUTION },
  { id: 'seed-4.3-correlation', label: '4.3 Pattern-instruction correlation', sql: SEED_PATTERN_CORRELATION },
  {
    id: 'stage-visits', label: 'Stage visits (boot_stages)',
    sql: `SELECT ordinal, stage_name, enter_count, first_sequence_number, last_sequence_number, instruction_count, duration_us
FROM boot_stages WHERE session_id = :session ORDER BY ordinal;`,
  },
  {
    id: 'first-mismatch', label: 'Pattern failures per snapshot',
    sql: `SELECT ms.snapshot_id, ms.boot_stage, mr.region_name, mr.match_percentage,
       printf('0x%x', mr.start_address + mr.first_mismatch_offset) AS first_mismatch
FROM memory_snapshots ms JOIN memory_regions mr ON mr.snapshot_id = ms.snapshot_id
WHERE ms.session_id = :session AND mr.expected_pattern IS NOT NULL AND mr.success = 0
ORDER BY ms.sequence_number, mr.region_name;`,
  },
];
