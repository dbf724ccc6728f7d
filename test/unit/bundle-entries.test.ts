import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import type { Resource } from '@medplum/fhirtypes';
import { ApiError } from '../../src/errors.js';
import { loadDefinitions } from '../../src/fhir/definitions/index.js';
import { parseBundle, parseEntry } from '../../src/fhir/bundle/entries.js';
import { rewriteReferences } from '../../src/fhir/bundle/references.js';

loadDefinitions();
// eslint-disable-next-line @typescript-eslint/no-explicit-any
type Json = Record<string, any>;
const BASE = 'https://api.example/v1/fhir';

const rejects = (fn: () => unknown, message: RegExp) =>
  assert.throws(fn, (error: unknown) => error instanceof ApiError && error.status === 400 && message.test(error.message));

describe('bundle entries', () => {
  test('parses POST, PUT, DELETE, read and search requests', () => {
    const patient = { resourceType: 'Patient' };
    assert.deepEqual(parseEntry({ fullUrl: 'urn:uuid:1', resource: patient, request: { method: 'POST', url: 'Patient' } }, BASE), { method: 'POST', type: 'Patient', resource: patient, fullUrl: 'urn:uuid:1' });
    assert.deepEqual(parseEntry({ resource: { ...patient, id: 'p1' }, request: { method: 'PUT', url: `${BASE}/Patient/p1`, ifMatch: 'W/"2"' } }, BASE), {
      method: 'PUT', type: 'Patient', id: 'p1', resource: { ...patient, id: 'p1' }, ifMatch: 2,
    });
    assert.deepEqual(parseEntry({ request: { method: 'DELETE', url: 'Patient/p1' } }, BASE), { method: 'DELETE', type: 'Patient', id: 'p1' });
    assert.deepEqual(parseEntry({ request: { method: 'GET', url: 'Patient/p1' } }, BASE), { method: 'GET', type: 'Patient', id: 'p1' });
    // Through JSON: the query record has a null prototype.
    assert.deepEqual(JSON.parse(JSON.stringify(parseEntry({ request: { method: 'GET', url: 'Observation?code=a&code=b&_count=5&__proto__=x' } }, BASE))), {
      method: 'GET', type: 'Observation', query: JSON.parse('{"code":["a","b"],"_count":"5","__proto__":"x"}'),
    });
  });

  test('refuses conditional requests, mismatched types and ids, and unknown methods with 400', () => {
    rejects(() => parseEntry({ resource: { resourceType: 'Patient' }, request: { method: 'POST', url: 'Patient', ifNoneExist: 'identifier=x' } }, BASE), /Conditional create/);
    rejects(() => parseEntry({ resource: { resourceType: 'Patient' }, request: { method: 'PUT', url: 'Patient?identifier=x' } }, BASE), /Conditional update/);
    rejects(() => parseEntry({ request: { method: 'DELETE', url: 'Patient?identifier=x' } }, BASE), /Conditional delete/);
    rejects(() => parseEntry({ resource: { resourceType: 'Patient' }, request: { method: 'POST', url: 'Observation' } }, BASE), /does not match/);
    rejects(() => parseEntry({ resource: { resourceType: 'Patient', id: 'a' }, request: { method: 'PUT', url: 'Patient/b' } }, BASE), /id does not match/);
    rejects(() => parseEntry({ request: { method: 'PATCH', url: 'Patient/a' } }, BASE), /method/);
    rejects(() => parseEntry({ request: { method: 'GET', url: 'NotAType/a' } }, BASE), /resource type/);
    rejects(() => parseEntry({ resource: { resourceType: 'Patient' } }, BASE), /entry.request/);
    rejects(() => parseBundle({ resourceType: 'Bundle', type: 'collection', entry: [] }), /batch or transaction/);
    rejects(() => parseBundle({ resourceType: 'Patient' }), /must be a Bundle/);
  });
});

describe('urn reference rewriting', () => {
  const targets = new Map([['urn:uuid:p', 'Patient/123'], ['urn:oid:1.2.3', 'Organization/456']]);

  test('rewrites every reference and uri equal to a local fullUrl, deep in arrays, and nothing else', () => {
    const observation = {
      resourceType: 'Observation',
      subject: { reference: 'urn:uuid:p', display: 'urn:uuid:p-not-exact' },
      performer: [{ reference: 'urn:oid:1.2.3' }, { reference: 'Practitioner/7' }, { reference: '#contained' }],
      derivedFrom: [{ extension: [{ url: 'x', valueUri: 'urn:uuid:p' }] }],
      ...JSON.parse('{"__proto__":{"reference":"urn:uuid:p"}}'),
    } as unknown as Resource;
    const rewritten = rewriteReferences(observation, targets) as unknown as Json;
    assert.equal(rewritten.subject.reference, 'Patient/123');
    assert.equal(rewritten.subject.display, 'urn:uuid:p-not-exact');
    assert.deepEqual(rewritten.performer.map((p: { reference: string }) => p.reference), ['Organization/456', 'Practitioner/7', '#contained']);
    assert.equal(rewritten.derivedFrom[0].extension[0].valueUri, 'Patient/123');
    assert.deepEqual(Object.getOwnPropertyDescriptor(rewritten, '__proto__')?.value, { reference: 'Patient/123' }, 'a __proto__ key stays an own data property');
    assert.equal((observation as unknown as Json).subject.reference, 'urn:uuid:p', 'the input is not modified');
  });

  test('refuses unresolved urn references and conditional references', () => {
    rejects(() => rewriteReferences({ resourceType: 'Observation', subject: { reference: 'urn:uuid:missing' } } as Resource, targets), /not the fullUrl/);
    rejects(() => rewriteReferences({ resourceType: 'Observation', subject: { reference: 'Patient?identifier=x|1' } } as Resource, targets), /Conditional references/);
  });
});
