import assert from 'node:assert/strict';
import { readFileSync, readdirSync } from 'node:fs';
import { describe, it } from 'node:test';
import { validateResource, xmlWhitespacePattern, type ValidationIssue } from '../../src/fhir/validate.js';

/** The shared fixtures, read in place (never copied into the repository). */
const EXAMPLES = new URL('../../../shared/fixtures/fhir-r4-examples/resources/', import.meta.url);

function example(file: string): Record<string, unknown> {
  return JSON.parse(readFileSync(new URL(file, EXAMPLES), 'utf8')) as Record<string, unknown>;
}

function find(issues: ValidationIssue[], path: string): ValidationIssue | undefined {
  return issues.find((i) => i.path === path);
}

/** Asserts that no issue repeats any of the submitted values. */
function assertNoValues(issues: ValidationIssue[], values: string[]): void {
  for (const issue of issues) {
    for (const value of values) {
      assert.ok(!issue.message.includes(value), `message leaks ${value}: ${issue.message}`);
      assert.ok(!issue.path.includes(value), `path leaks ${value}: ${issue.path}`);
    }
  }
}

describe('validateResource', () => {
  it('accepts all 204 official R4 examples', () => {
    const files = readdirSync(EXAMPLES).filter((f) => f.endsWith('.json'));
    assert.equal(files.length, 204);
    const failures: string[] = [];
    for (const file of files) {
      const issues = validateResource(example(file));
      if (issues.length > 0) failures.push(`${file}: ${JSON.stringify(issues.slice(0, 3))}`);
    }
    assert.deepEqual(failures, []);
  });

  it('accepts the no-break space and the spaced base64 of DiagnosticReport-gingival-mass', () => {
    const report = example('DiagnosticReport-gingival-mass.json');
    assert.ok(JSON.stringify(report).includes('\u00a0'), 'the fixture contains U+00A0');
    const data = (report.presentedForm as { data: string }[])[0].data;
    assert.ok(data.includes(' '), 'the fixture base64 contains spaces');
    assert.deepEqual(validateResource(report), []);
    assert.deepEqual(validateResource({ resourceType: 'Patient', name: [{ given: ['a\u00a0b'] }] }), []);
  });

  it('applies XML Schema whitespace semantics to patterns', () => {
    const string = new RegExp(xmlWhitespacePattern('^[ \\r\\n\\t\\S]+$'), 'u');
    assert.ok(string.test('a\u00a0b'));
    assert.ok(string.test('tab\there'));
    const code = new RegExp(xmlWhitespacePattern('^[^\\s]+(\\s[^\\s]+)*$'), 'u');
    assert.ok(code.test('a\u00a0b'), 'U+00A0 is not whitespace in XML Schema');
    assert.ok(code.test('a b'));
    assert.ok(!code.test('a  b'));
    assert.ok(!code.test(' a'));
  });

  it('reports broken elements with their paths and without the submitted values', () => {
    const secrets = ['1974-13-45', 'SECRET-GENDER', 'SECRET-FAMILY', 'SECRET-EXTRA', 'not-a-boolean'];
    const issues = validateResource({
      resourceType: 'Patient',
      birthDate: '1974-13-45',
      gender: 'SECRET-GENDER',
      name: { family: 'SECRET-FAMILY' },
      foo: 'SECRET-EXTRA',
      active: 'not-a-boolean',
    });
    assert.deepEqual(find(issues, 'Patient.birthDate'), { path: 'Patient.birthDate', message: 'must match format (date)' });
    assert.deepEqual(find(issues, 'Patient.gender'), { path: 'Patient.gender', message: 'must be one of: male, female, other, unknown' });
    assert.deepEqual(find(issues, 'Patient.name'), { path: 'Patient.name', message: 'must be array' });
    assert.deepEqual(find(issues, 'Patient.foo'), { path: 'Patient.foo', message: 'unexpected property' });
    assert.deepEqual(find(issues, 'Patient.active'), { path: 'Patient.active', message: 'must be boolean' });
    assert.equal(issues.length, 5);
    assertNoValues(issues, secrets);
  });

  it('reports missing required elements and nested paths with indexes', () => {
    const issues = validateResource({ resourceType: 'Observation', status: 'final', subject: { reference: 'Patient/1' }, component: [{ code: { text: 'ok' } }, { valueString: 'x' }] });
    assert.deepEqual(find(issues, 'Observation.code'), { path: 'Observation.code', message: 'is required' });
    assert.deepEqual(find(issues, 'Observation.component[1].code'), { path: 'Observation.component[1].code', message: 'is required' });
  });

  it('validates contained resources and Bundle entries by their own type', () => {
    const contained = validateResource({
      resourceType: 'Patient',
      contained: [{ resourceType: 'Organization', id: 'o', name: ['SECRET-ORG'] }, { resourceType: 'Project', id: 'p' }],
    });
    assert.deepEqual(contained, [
      { path: 'Patient.contained[0].name', message: 'must be string' },
      { path: 'Patient.contained[1].resourceType', message: 'unknown resource type' },
    ]);
    const bundle = validateResource({
      resourceType: 'Bundle',
      type: 'collection',
      entry: [{ resource: { resourceType: 'Observation', status: 'final', code: { text: 'x' }, valueQuantity: { value: 'SECRET-NUMBER' } } }],
    });
    assert.deepEqual(bundle, [{ path: 'Bundle.entry[0].resource.valueQuantity.value', message: 'must be number' }]);
    assertNoValues([...contained, ...bundle], ['SECRET-ORG', 'SECRET-NUMBER']);
  });

  it('checks base64Binary in linear time', () => {
    const valid = validateResource({ resourceType: 'Patient', photo: [{ data: 'SGVs bG8h' }] });
    assert.deepEqual(valid, []);
    const invalid = validateResource({ resourceType: 'Patient', photo: [{ data: 'SGVsb G8h' }] });
    assert.deepEqual(invalid, [{ path: 'Patient.photo[0].data', message: 'must match format (base64Binary)' }]);
    const start = performance.now();
    const hostile = 'QUJD \n'.repeat(20_000) + '!';
    const issues = validateResource({ resourceType: 'Parameters', parameter: [{ name: 'x', valueBase64Binary: hostile }] });
    assert.deepEqual(issues, [{ path: 'Parameters.parameter[0].valueBase64Binary', message: 'must match format (base64Binary)' }]);
    assert.ok(performance.now() - start < 1000, 'no catastrophic backtracking');
  });

  it('rejects unknown and non-R4 resource types, and non-objects', () => {
    assert.deepEqual(validateResource({ resourceType: 'SecretType' }), [{ path: 'Resource.resourceType', message: 'unknown resource type (not an R4 resource)' }]);
    assert.deepEqual(validateResource({ resourceType: 'Bot' }), [{ path: 'Resource.resourceType', message: 'unknown resource type (not an R4 resource)' }]);
    assert.deepEqual(validateResource({ id: 'x' }), [{ path: 'Resource.resourceType', message: 'is required' }]);
    assert.deepEqual(validateResource({ resourceType: 7 }), [{ path: 'Resource.resourceType', message: 'must be string' }]);
    assert.deepEqual(validateResource([]), [{ path: 'Resource', message: 'must be a JSON object' }]);
    assert.deepEqual(validateResource('Patient'), [{ path: 'Resource', message: 'must be a JSON object' }]);
    assert.deepEqual(validateResource(null), [{ path: 'Resource', message: 'must be a JSON object' }]);
    assertNoValues(validateResource({ resourceType: 'SecretType' }), ['SecretType']);
  });

  it('never puts a submitted value in a message, for many kinds of broken data', () => {
    const secret = 'PHI-\u00e9-0123';
    const broken: Record<string, unknown>[] = [
      { resourceType: 'Patient', id: `bad id ${secret}` },
      { resourceType: 'Patient', birthDate: secret },
      { resourceType: 'Patient', gender: secret },
      { resourceType: 'Patient', telecom: [{ system: secret, value: 5 }] },
      { resourceType: 'Patient', meta: { lastUpdated: secret } },
      { resourceType: 'Observation', status: secret, code: { text: 'x' } },
      { resourceType: 'Observation', status: 'final', code: { coding: [{ system: 1, code: [secret] }] } },
      { resourceType: 'Observation', status: 'final', code: { text: 'x' }, valueInteger: secret },
      { resourceType: 'Patient', name: [{ given: secret }] },
      { resourceType: 'Patient', deceasedBoolean: secret },
      { resourceType: 'Patient', photo: [{ data: secret }] },
    ];
    for (const resource of broken) {
      const issues = validateResource(resource);
      assert.ok(issues.length > 0, JSON.stringify(resource));
      for (const issue of issues) {
        assert.ok(issue.path.length > 0);
        assert.ok(!issue.message.includes('PHI-'), issue.message);
        assert.ok(!issue.path.includes('PHI-'), issue.path);
      }
    }
  });

  it('validates quickly once compiled', () => {
    const patient = example('Patient-example.json');
    validateResource(patient);
    const start = performance.now();
    for (let i = 0; i < 1000; i++) validateResource(patient);
    assert.ok(performance.now() - start < 2000);
  });
});
