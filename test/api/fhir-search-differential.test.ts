/**
 * Differential property test: random small Patients and Observations, random searches over
 * string, token, date, quantity and reference parameters (prefixes, partial dates, modifiers,
 * comma OR, repeated-parameter AND, a chain), and the SQL engine — through HTTP, every page
 * followed — must return exactly the ids the in-memory oracle (test/helpers/search-oracle.ts)
 * returns. Each run gets a tenant of its own. FC_SEED / FC_RUNS reproduce or widen a run.
 */
import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import fc from 'fast-check';
import { startTestApp, type TestApp } from '../helpers/app.js';
import { searchAllPages } from '../helpers/fhir-search.js';
import { dateRange, evaluate, normalise, type OracleClause, type OracleQuery, type OracleResource } from '../helpers/search-oracle.js';

let t: TestApp;
before(async () => {
  t = await startTestApp();
});
after(() => t?.close());

const FAMILIES = ['Smith', 'Smyth', 'Sméth', 'Ångel', 'Angel', 'Anders'];
const GIVENS = ['Ann', 'Anna', 'Émile', 'Emil', 'Zoë', 'Zoe'];
const SYSTEMS = ['http://loinc.org', 'http://snomed.info/sct'];
const ID_SYSTEMS = ['urn:ids:a', 'urn:ids:b'];
const UCUM = 'http://unitsofmeasure.org';
const PATIENT_SLOTS = 5;

const maybe = <T>(arb: fc.Arbitrary<T>) => fc.option(arb, { nil: undefined });
const two = (n: number) => String(n).padStart(2, '0');

/**
 * Dates of every precision in a narrow window, so that values collide and ranges overlap; with
 * `times`, also dateTimes in UTC or (zoned) in offsets that move them across a UTC day.
 */
function dateArb(years: number[], times: 'none' | 'utc' | 'zoned'): fc.Arbitrary<string> {
  const day = fc.tuple(fc.constantFrom(...years), fc.integer({ min: 1, max: 2 }), fc.integer({ min: 1, max: 3 }));
  const dates = [
    fc.constantFrom(...years).map(String),
    day.map(([y, m]) => `${y}-${two(m)}`),
    day.map(([y, m, d]) => `${y}-${two(m)}-${two(d)}`),
  ];
  if (times === 'none') return fc.oneof(...dates);
  const zone = times === 'zoned' ? fc.constantFrom('Z', '+05:00', '-05:00') : fc.constant('Z');
  return fc.oneof(...dates, fc.tuple(day, fc.constantFrom(0, 12, 23), zone).map(([[y, m, d], h, z]) => `${y}-${two(m)}-${two(d)}T${two(h)}:30:00${z}`));
}

/** k/10 + 0.03: two decimals ending in 3, so no stored value sits on an implicit-precision edge of a 0- or 1-decimal query. */
const storedNumber = fc.integer({ min: 0, max: 60 }).map((k) => Math.round(k * 10 + 3) / 100);

const patientArb = fc.record({
  family: maybe(fc.constantFrom(...FAMILIES)),
  given: fc.subarray(GIVENS, { maxLength: 2 }),
  gender: maybe(fc.constantFrom('male', 'female', 'other')),
  birthDate: maybe(dateArb([1990, 1991], 'none')),
  identifier: fc.array(fc.record({ system: maybe(fc.constantFrom(...ID_SYSTEMS)), value: fc.constantFrom('1', '2', '3') }), { maxLength: 2 }),
});

const observationArb = fc.record({
  coding: fc.array(fc.record({ system: maybe(fc.constantFrom(...SYSTEMS)), code: fc.constantFrom('1', '2', '3') }), { minLength: 1, maxLength: 2 }),
  status: fc.constantFrom('final', 'amended', 'preliminary'),
  // A SampledData value (its origin a quantity) matches no value-quantity search, alone or paired with a code.
  value: maybe(fc.record({ value: storedNumber, code: fc.constantFrom('mg', 'g'), sampled: fc.boolean() })),
  effective: maybe(fc.oneof(
    dateArb([2020], 'zoned'),
    fc.tuple(maybe(dateArb([2020], 'zoned')), maybe(dateArb([2020], 'zoned')))
      .filter(([a, b]) => a !== undefined || b !== undefined)
      .map(([a, b]) => {
        const [start, end] = a && b && dateRange(b).lo < dateRange(a).lo ? [b, a] : [a, b];
        return { ...(start ? { start } : {}), ...(end ? { end } : {}) };
      }),
  )),
  subject: maybe(fc.integer({ min: 0, max: PATIENT_SLOTS - 1 })),
});

type ValueOf<A> = A extends fc.Arbitrary<infer T> ? T : never;
type PatientSpec = ValueOf<typeof patientArb>;
type ObservationSpec = ValueOf<typeof observationArb>;

function patientResource(spec: PatientSpec, index: number): OracleResource {
  return {
    resourceType: 'Patient',
    id: `p${index}`,
    ...(spec.family || spec.given.length ? { name: [{ ...(spec.family ? { family: spec.family } : {}), ...(spec.given.length ? { given: spec.given } : {}) }] } : {}),
    ...(spec.gender ? { gender: spec.gender } : {}),
    ...(spec.birthDate ? { birthDate: spec.birthDate } : {}),
    ...(spec.identifier.length ? { identifier: spec.identifier.map((i) => ({ ...(i.system ? { system: i.system } : {}), value: i.value })) } : {}),
  };
}

/** Subjects may point at a patient slot that was not generated: search must not need the target. */
function observationResource(spec: ObservationSpec, index: number): OracleResource {
  return {
    resourceType: 'Observation',
    id: `o${index}`,
    status: spec.status,
    code: { coding: spec.coding.map((c) => ({ ...(c.system ? { system: c.system } : {}), code: c.code })) },
    ...(spec.value && !spec.value.sampled ? { valueQuantity: { value: spec.value.value, unit: spec.value.code, system: UCUM, code: spec.value.code } } : {}),
    ...(spec.value?.sampled ? { valueSampledData: { origin: { value: spec.value.value, system: UCUM, code: spec.value.code }, period: 1, dimensions: 1, data: '1 2' } } : {}),
    ...(typeof spec.effective === 'string' ? { effectiveDateTime: spec.effective } : {}),
    ...(typeof spec.effective === 'object' ? { effectivePeriod: spec.effective } : {}),
    ...(spec.subject !== undefined ? { subject: { reference: `Patient/p${spec.subject}` } } : {}),
  };
}

/** A prefix of a name, with its case or accents changed or not (the default string match ignores both). */
const namePrefixArb = fc.tuple(fc.constantFrom(...FAMILIES, ...GIVENS), fc.integer({ min: 1, max: 6 }), fc.constantFrom('as-is', 'lower', 'upper', 'plain'))
  .map(([name, length, form]) => {
    const prefix = name.slice(0, length);
    return form === 'lower' ? prefix.toLowerCase() : form === 'upper' ? prefix.toUpperCase() : form === 'plain' ? normalise(prefix) : prefix;
  });
const orValues = <T extends string>(arb: fc.Arbitrary<T>) => fc.array(arb, { minLength: 1, maxLength: 2 });
const tokenValueArb = (systems: string[], codes: string[]) => fc.oneof(
  fc.constantFrom(...codes),
  fc.tuple(fc.constantFrom(...systems), fc.constantFrom(...codes)).map(([s, c]) => `${s}|${c}`),
  fc.constantFrom(...codes).map((c) => `|${c}`),
  fc.constantFrom(...systems).map((s) => `${s}|`),
);
const datePrefix = fc.constantFrom('', 'eq', 'ne', 'gt', 'lt', 'ge', 'le', 'sa', 'eb');
const quantityValueArb = fc.tuple(
  fc.constantFrom('', 'eq', 'ne', 'gt', 'lt', 'ge', 'le'),
  fc.oneof(fc.integer({ min: 0, max: 6 }).map(String), fc.integer({ min: 0, max: 60 }).map((k) => (k / 10).toFixed(1)), storedNumber.map((n) => n.toFixed(2))),
  fc.constantFrom('', `|${UCUM}|mg`, `|${UCUM}|g`),
).map(([prefix, number, unit]) => `${prefix}${number}${unit}`);
const referenceValueArb = fc.integer({ min: 0, max: PATIENT_SLOTS - 1 }).chain((i) => fc.constantFrom(`Patient/p${i}`, `p${i}`));
const missingArb = (param: string) => fc.boolean().map((b): OracleClause => ({ param, modifier: 'missing', values: [String(b)] }));

const patientClauseArb: fc.Arbitrary<OracleClause> = fc.oneof(
  fc.tuple(fc.constantFrom('name', 'family', 'given'), orValues(namePrefixArb)).map(([param, values]) => ({ param, values })),
  fc.tuple(fc.constantFrom('family', 'given'), fc.constantFrom(...FAMILIES, ...GIVENS), fc.boolean()).map(([param, name, lower]) => ({ param, modifier: 'exact', values: [lower ? name.toLowerCase() : name] })),
  fc.tuple(fc.constantFrom(...FAMILIES, ...GIVENS), fc.nat(4)).map(([name, start]) => ({ param: 'name', modifier: 'contains', values: [name.slice(start % name.length, (start % name.length) + 2)] })),
  orValues(fc.constantFrom('male', 'female', 'other', 'unknown')).map((values) => ({ param: 'gender', values })),
  fc.constantFrom('male', 'female').map((value) => ({ param: 'gender', modifier: 'not', values: [value] })),
  orValues(tokenValueArb(ID_SYSTEMS, ['1', '2', '3'])).map((values) => ({ param: 'identifier', values })),
  { arbitrary: orValues(fc.tuple(datePrefix, dateArb([1989, 1990, 1991], 'utc')).map(([p, d]) => `${p}${d}`)).map((values) => ({ param: 'birthdate', values })), weight: 4 },
  missingArb('birthdate'),
  missingArb('gender'),
);

const observationClauseArb: fc.Arbitrary<OracleClause> = fc.oneof(
  orValues(tokenValueArb(SYSTEMS, ['1', '2', '3'])).map((values) => ({ param: 'code', values })),
  fc.constantFrom('1', '2').map((value) => ({ param: 'code', modifier: 'not', values: [value] })),
  orValues(fc.constantFrom('final', 'amended', 'preliminary')).map((values) => ({ param: 'status', values })),
  { arbitrary: orValues(quantityValueArb).map((values) => ({ param: 'value-quantity', values })), weight: 4 },
  { arbitrary: orValues(fc.tuple(datePrefix, dateArb([2020], 'zoned')).map(([p, d]) => `${p}${d}`)).map((values) => ({ param: 'date', values })), weight: 6 },
  orValues(referenceValueArb).map((values) => ({ param: 'subject', values })),
  orValues(referenceValueArb).map((values) => ({ param: 'patient', values })),
  orValues(namePrefixArb).map((values): OracleClause => ({ param: 'subject', modifier: 'Patient', values: [], chain: { param: 'family', values } })),
  missingArb('value-quantity'),
);

/** One code and one value comparison, which the engine searches as code-value-quantity (plan.ts, COMPOSITE_PAIRS), maybe with one more clause. */
const codeAndValueArb: fc.Arbitrary<OracleQuery> = fc
  .tuple(tokenValueArb(SYSTEMS, ['1', '2', '3']), quantityValueArb, fc.option(observationClauseArb, { nil: undefined }))
  .map(([code, value, more]) => ({ type: 'Observation', clauses: [{ param: 'code', values: [code] }, { param: 'value-quantity', values: [value] }, ...(more ? [more] : [])] }));

const queryArb: fc.Arbitrary<OracleQuery> = fc.oneof(
  fc.array(patientClauseArb, { minLength: 1, maxLength: 2 }).map((clauses) => ({ type: 'Patient', clauses })),
  fc.array(observationClauseArb, { minLength: 1, maxLength: 2 }).map((clauses) => ({ type: 'Observation', clauses })),
  codeAndValueArb,
);

/** The query as a URL after /v1/fhir/: each value is encoded, commas separate alternatives. */
function toUrl(query: OracleQuery): string {
  const parts = query.clauses.map((c) => {
    const name = c.chain ? `${c.param}:${c.modifier}.${c.chain.param}` : `${c.param}${c.modifier ? `:${c.modifier}` : ''}`;
    return `${name}=${(c.chain ?? c).values.map(encodeURIComponent).join(',')}`;
  });
  return `${query.type}?${parts.join('&')}&_count=100`;
}

test('the SQL engine returns exactly what the in-memory oracle returns', { timeout: 600_000 }, async () => {
  const scenario = fc.record({
    patients: fc.array(patientArb, { maxLength: PATIENT_SLOTS - 1 }),
    observations: fc.array(observationArb, { maxLength: 8 }),
    queries: fc.array(queryArb, { minLength: 6, maxLength: 12 }),
  });
  await fc.assert(
    fc.asyncProperty(scenario, async ({ patients, observations, queries }) => {
      const resources = [...patients.map(patientResource), ...observations.map(observationResource)];
      const tenant = await t.createTenant();
      for (const resource of resources) {
        const res = await t.request('PUT', `/v1/fhir/${resource.resourceType}/${resource.id}`, { key: tenant.keys.test, body: resource, contentType: 'application/fhir+json' });
        assert.equal(res.status, 201, res.body);
      }
      for (const query of queries) {
        const url = toUrl(query);
        const { entries } = await searchAllPages(t, tenant.keys.test, url);
        const engine = entries.map((ref) => ref.slice(ref.indexOf('/') + 1)).sort();
        assert.deepEqual(engine, evaluate(resources, query).sort(), `${url} over ${JSON.stringify(resources)}`);
      }
    }),
    { numRuns: Number(process.env.FC_RUNS ?? 40), ...(process.env.FC_SEED ? { seed: Number(process.env.FC_SEED) } : {}), interruptAfterTimeLimit: 480_000 },
  );
});
