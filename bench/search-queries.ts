/**
 * The search benchmark's query mix (issue 4). Each query has:
 *   - `samples`: SQL drawing its runtime values at random from the loaded data (not one hot id);
 *   - `api`: the FHIR search path for one sample;
 *   - `sql`: the bare-SQL equivalent, hand-written against the index tables, that the baseline
 *     route runs for the same sample: what the engine is measured against.
 * $1 is always the partition.
 */
export type Sample = Record<string, string>;

export interface MixQuery {
  name: string;
  samples: string;
  api: (sample: Sample) => string;
  sql: string;
  values: (sample: Sample) => unknown[];
}

const SAMPLES = 200;
const q = encodeURIComponent;
/** Resources `type` whose `param` rows satisfy `condition` (a subquery the planner can drive from the lookup index). */
const matching = (table: string, type: string, param: string, condition: string) =>
  `r.id IN (SELECT resource_id FROM ${table} WHERE partition_id = $1 AND resource_type = '${type}' AND param = '${param}' AND ${condition})`;
const live = (type: string) => `r.partition_id = $1 AND r.resource_type = '${type}' AND NOT r.deleted`;
const sortJoin = (param: string) =>
  `LEFT JOIN search_sort s ON s.partition_id = r.partition_id AND s.resource_type = r.resource_type AND s.resource_id = r.id AND s.param = '${param}'`;
/** A string prefix as a range on the C-collated normalised value, so the lookup index serves it. */
const prefix = (placeholder: string) => `value >= ${placeholder} AND value < ${placeholder} || chr(1114111)`;
const randomRows = (sql: string) => `${sql} ORDER BY random() LIMIT ${SAMPLES}`;

export const QUERIES: MixQuery[] = [
  {
    name: 'Observation?patient&code&date=ge&_sort=-date',
    samples: randomRows(`SELECT p.target_id AS patient, c.code, to_char(d.low - interval '2 years', 'YYYY-MM-DD') AS since
      FROM search_reference p
      JOIN search_token c ON c.partition_id = p.partition_id AND c.resource_type = p.resource_type AND c.resource_id = p.resource_id AND c.param = 'code' AND c.system = 'http://loinc.org'
      JOIN search_date d ON d.partition_id = p.partition_id AND d.resource_type = p.resource_type AND d.resource_id = p.resource_id AND d.param = 'date'
      WHERE p.partition_id = $1 AND p.resource_type = 'Observation' AND p.param = 'patient'`),
    api: (s) => `/v1/fhir/Observation?patient=${q(s.patient)}&code=${q(`http://loinc.org|${s.code}`)}&date=ge${s.since}&_sort=-date`,
    sql: `SELECT r.content FROM resources r ${sortJoin('date')}
      WHERE ${live('Observation')} AND ${matching('search_reference', 'Observation', 'patient', 'target_id = $2')}
        AND ${matching('search_token', 'Observation', 'code', "code = $3 AND system = 'http://loinc.org'")}
        AND ${matching('search_date', 'Observation', 'date', 'high >= $4::timestamptz')}
      ORDER BY s.desc_date DESC NULLS LAST, r.id LIMIT 21`,
    values: (s) => [s.patient, s.code, s.since],
  },
  {
    name: 'Encounter?patient&_sort=-date',
    samples: randomRows("SELECT target_id AS patient FROM search_reference WHERE partition_id = $1 AND resource_type = 'Encounter' AND param = 'patient'"),
    api: (s) => `/v1/fhir/Encounter?patient=${q(s.patient)}&_sort=-date`,
    sql: `SELECT r.content FROM resources r ${sortJoin('date')}
      WHERE ${live('Encounter')} AND ${matching('search_reference', 'Encounter', 'patient', 'target_id = $2')}
      ORDER BY s.desc_date DESC NULLS LAST, r.id LIMIT 21`,
    values: (s) => [s.patient],
  },
  {
    name: 'Patient?name&birthdate',
    samples: randomRows(`SELECT n.value AS name, to_char(d.low, 'YYYY-MM-DD') AS birthdate
      FROM search_string n
      JOIN search_date d ON d.partition_id = n.partition_id AND d.resource_type = n.resource_type AND d.resource_id = n.resource_id AND d.param = 'birthdate'
      WHERE n.partition_id = $1 AND n.resource_type = 'Patient' AND n.param = 'family'`),
    api: (s) => `/v1/fhir/Patient?name=${q(s.name)}&birthdate=${s.birthdate}`,
    sql: `SELECT r.content FROM resources r
      WHERE ${live('Patient')} AND ${matching('search_string', 'Patient', 'name', prefix('$2'))}
        AND ${matching('search_date', 'Patient', 'birthdate', "low >= $3::timestamptz AND high < $3::timestamptz + interval '1 day'")}
      ORDER BY r.last_updated, r.id LIMIT 21`,
    values: (s) => [s.name, s.birthdate],
  },
  {
    name: 'Observation?code&value-quantity=gt',
    samples: randomRows(`SELECT c.code, q.value::text AS value
      FROM search_token c
      JOIN search_quantity q ON q.partition_id = c.partition_id AND q.resource_type = c.resource_type AND q.resource_id = c.resource_id AND q.param = 'value-quantity'
      WHERE c.partition_id = $1 AND c.resource_type = 'Observation' AND c.param = 'code' AND c.system = 'http://loinc.org'`),
    api: (s) => `/v1/fhir/Observation?code=${q(s.code)}&value-quantity=gt${q(s.value)}`,
    sql: `SELECT r.content FROM resources r
      WHERE ${live('Observation')} AND ${matching('search_token', 'Observation', 'code', 'code = $2')}
        AND ${matching('search_quantity', 'Observation', 'value-quantity', 'value > $3::numeric')}
      ORDER BY r.last_updated, r.id LIMIT 21`,
    values: (s) => [s.code, s.value],
  },
  {
    name: 'MedicationRequest?patient&_include=medication',
    samples: randomRows("SELECT target_id AS patient FROM search_reference WHERE partition_id = $1 AND resource_type = 'MedicationRequest' AND param = 'patient'"),
    api: (s) => `/v1/fhir/MedicationRequest?patient=${q(s.patient)}&_include=MedicationRequest:medication`,
    sql: `WITH page AS (
        SELECT r.id, r.content, r.last_updated FROM resources r
        WHERE ${live('MedicationRequest')} AND ${matching('search_reference', 'MedicationRequest', 'patient', 'target_id = $2')}
        ORDER BY r.last_updated, r.id LIMIT 21)
      SELECT content FROM (SELECT content, last_updated, id FROM page ORDER BY last_updated, id) AS matches
      UNION ALL
      SELECT m.content FROM resources m WHERE m.partition_id = $1 AND m.resource_type = 'Medication' AND NOT m.deleted AND m.id IN (
        SELECT target_id FROM search_reference WHERE partition_id = $1 AND resource_type = 'MedicationRequest' AND param = 'medication' AND resource_id IN (SELECT id FROM page))`,
    values: (s) => [s.patient],
  },
  {
    name: 'Observation?subject:Patient.name (chain)',
    samples: randomRows("SELECT value AS name FROM search_string WHERE partition_id = $1 AND resource_type = 'Patient' AND param = 'family'"),
    api: (s) => `/v1/fhir/Observation?subject:Patient.name=${q(s.name)}`,
    sql: `SELECT r.content FROM resources r
      WHERE ${live('Observation')} AND ${matching('search_reference', 'Observation', 'subject', `target_type = 'Patient' AND target_id IN (
        SELECT resource_id FROM search_string WHERE partition_id = $1 AND resource_type = 'Patient' AND param = 'name' AND ${prefix('$2')})`)}
      ORDER BY r.last_updated, r.id LIMIT 21`,
    values: (s) => [s.name],
  },
  {
    name: 'Patient?_has:Observation:patient:code',
    samples: randomRows("SELECT code FROM search_token WHERE partition_id = $1 AND resource_type = 'Observation' AND param = 'code' AND system = 'http://loinc.org'"),
    api: (s) => `/v1/fhir/Patient?_has:Observation:patient:code=${q(s.code)}`,
    sql: `SELECT r.content FROM resources r
      WHERE ${live('Patient')} AND r.id IN (
        SELECT target_id FROM search_reference WHERE partition_id = $1 AND resource_type = 'Observation' AND param = 'patient' AND target_type = 'Patient'
          AND resource_id IN (SELECT resource_id FROM search_token WHERE partition_id = $1 AND resource_type = 'Observation' AND param = 'code' AND code = $2))
      ORDER BY r.last_updated, r.id LIMIT 21`,
    values: (s) => [s.code],
  },
  {
    // A whole category newest first: the parameter sort that times out elsewhere.
    name: 'Observation?category&_sort=-date',
    samples: randomRows("SELECT code AS category FROM search_token WHERE partition_id = $1 AND resource_type = 'Observation' AND param = 'category'"),
    api: (s) => `/v1/fhir/Observation?category=${q(s.category)}&_sort=-date`,
    sql: `SELECT r.content FROM resources r ${sortJoin('date')}
      WHERE ${live('Observation')} AND ${matching('search_token', 'Observation', 'category', 'code = $2')}
      ORDER BY s.desc_date DESC NULLS LAST, r.id DESC LIMIT 21`,
    values: (s) => [s.category],
  },
  {
    name: 'Observation?_sort=-_lastUpdated',
    samples: 'SELECT 1 AS broad',
    api: () => '/v1/fhir/Observation?_sort=-_lastUpdated',
    sql: `SELECT r.content FROM resources r WHERE ${live('Observation')} ORDER BY r.last_updated DESC, r.id DESC LIMIT 21`,
    values: () => [],
  },
];
