import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { PUBLIC_URL, startTestApp, type Tenant, type TestApp } from '../helpers/app.js';

/** FHIR search results: totals, paging links, includes, subsetting, search forms, unknown parameters. */

const FHIR = 'application/fhir+json';
const SUBSETTED = { system: 'http://terminology.hl7.org/CodeSystem/v3-ObservationValue', code: 'SUBSETTED' };

let t: TestApp;

before(async () => {
  t = await startTestApp();
});
after(() => t.close());

interface Entry { fullUrl: string; resource: { resourceType: string; id: string; [key: string]: unknown }; search: { mode: string } }
interface Bundle { resourceType: string; type: string; total?: number; link: Array<{ relation: string; url: string }>; entry: Entry[] }

function client(tenant: Tenant) {
  const request = (method: string, path: string, body?: unknown, headers?: Record<string, string>) =>
    t.request(method, path.startsWith('/') ? path : `/v1/fhir/${path}`, { key: tenant.keys.test, body, contentType: FHIR, headers });
  const put = async (resource: { resourceType: string; id: string; [key: string]: unknown }) => {
    const res = await request('PUT', `${resource.resourceType}/${resource.id}`, resource);
    assert.ok(res.status === 200 || res.status === 201, res.body);
  };
  const bundle = async (path: string, headers?: Record<string, string>): Promise<Bundle> => {
    const res = await request('GET', path, undefined, headers);
    assert.equal(res.status, 200, res.body);
    assert.equal(res.json.resourceType, 'Bundle');
    return res.json as Bundle;
  };
  return { request, put, bundle };
}

const link = (bundle: Bundle, relation: string) => bundle.link.find((item) => item.relation === relation)?.url;
const matches = (bundle: Bundle) => bundle.entry.filter((entry) => entry.search.mode === 'match');
const ids = (entries: Entry[]) => entries.map((entry) => `${entry.resource.resourceType}/${entry.resource.id}`);
const path = (url: string) => {
  assert.ok(url.startsWith(`${PUBLIC_URL}/v1/fhir`), url);
  return url.slice(PUBLIC_URL.length);
};

/** Follows `next` links from `first`, returning every page. */
async function allPages(c: ReturnType<typeof client>, first: string): Promise<Bundle[]> {
  const pages = [await c.bundle(first)];
  for (let next = link(pages[0], 'next'); next; next = link(pages[pages.length - 1], 'next')) {
    pages.push(await c.bundle(path(next)));
    assert.ok(pages.length < 100, 'paging terminates');
  }
  return pages;
}

describe('_count and _total', () => {
  let c: ReturnType<typeof client>;
  before(async () => {
    c = client(await t.createTenant());
    for (let i = 0; i < 105; i++) await c.put({ resourceType: 'Patient', id: `count-${String(i).padStart(3, '0')}`, gender: i % 2 ? 'male' : 'female' });
  });

  test('_count defaults to 20 and is lowered to 100', async () => {
    assert.equal(matches(await c.bundle('Patient')).length, 20);
    assert.equal(matches(await c.bundle('Patient?_count=500')).length, 100);
    assert.equal(matches(await c.bundle('Patient?_count=7')).length, 7);
  });

  test('the total is left out unless asked for or free (a first page that holds every match)', async () => {
    assert.equal((await c.bundle('Patient')).total, undefined);
    assert.equal((await c.bundle('Patient?_count=50&gender=male')).total, undefined, 'more than one page');
    assert.equal((await c.bundle('Patient?_id=count-001,count-002')).total, 2, 'one page: counted for free');
    assert.equal((await c.bundle('Patient?_id=count-001,count-002&_total=none')).total, undefined);
  });

  test('_total=accurate counts exactly, _total=estimate counts (exactly below the threshold)', async () => {
    assert.equal((await c.bundle('Patient?_total=accurate')).total, 105);
    assert.equal((await c.bundle('Patient?_total=accurate&gender=male')).total, 52);
    assert.equal((await c.bundle('Patient?_total=estimate&gender=female')).total, 53);
  });

  test('_summary=count and _count=0 answer the total and no entries', async () => {
    for (const query of ['_summary=count', '_count=0']) {
      const bundle = await c.bundle(`Patient?gender=male&${query}`);
      assert.equal(bundle.total, 52, query);
      assert.deepEqual(bundle.entry, [], query);
      assert.equal(link(bundle, 'next'), undefined, query);
    }
  });

  test('bad values are 400 OperationOutcomes', async () => {
    for (const query of ['_total=maybe', '_count=-1', '_summary=all', '_count=1&_count=2']) {
      const res = await c.request('GET', `Patient?${query}`);
      assert.equal(res.status, 400, query);
      assert.equal(res.json.resourceType, 'OperationOutcome');
    }
  });
});

describe('paging links', () => {
  let c: ReturnType<typeof client>;
  before(async () => {
    c = client(await t.createTenant());
    for (let i = 0; i < 12; i++) {
      await c.put({ resourceType: 'Patient', id: `page-${i}`, birthDate: `19${String(50 + (i % 6)).padStart(2, '0')}-01-01`, gender: 'other' });
    }
  });

  test('self and next are absolute and keep every original parameter', async () => {
    const query = '_count=5&gender=other&_sort=-birthdate,_id&_summary=data&_include=Patient:general-practitioner&_total=accurate';
    const first = await c.bundle(`Patient?${query}`);
    const self = new URL(link(first, 'self')!);
    assert.equal(`${self.origin}${self.pathname}`, `${PUBLIC_URL}/v1/fhir/Patient`);
    assert.deepEqual([...self.searchParams].sort(), [...new URLSearchParams(query)].sort());
    const next = new URL(link(first, 'next')!);
    const kept = [...next.searchParams].filter(([key]) => key !== '_cursor');
    assert.deepEqual(kept.sort(), [...new URLSearchParams(query)].sort());
    assert.ok(next.searchParams.get('_cursor'));
    const second = await c.bundle(path(next.href));
    assert.equal(new URL(link(second, 'self')!).searchParams.get('_cursor'), next.searchParams.get('_cursor'), 'self is the page asked for');
    assert.equal(second.total, 12, 'the total on every page');
  });

  test('exactly N full pages: the last full page has no next link (no empty last page)', async () => {
    for (const sort of ['', '&_sort=birthdate', '&_sort=-_lastUpdated', '&_sort=-birthdate,-_id']) {
      const pages = await allPages(c, `Patient?gender=other&_count=4${sort}`);
      assert.deepEqual(pages.map((page) => matches(page).length), [4, 4, 4], sort);
      assert.equal(new Set(pages.flatMap((page) => ids(matches(page)))).size, 12, sort);
    }
  });

  test('a sort order pages without skipping or repeating while others write', async () => {
    const originals = new Set(Array.from({ length: 12 }, (_, i) => `Patient/page-${i}`));
    const seen: string[] = [];
    let page = await c.bundle('Patient?gender=other&_sort=birthdate&_count=3');
    for (let round = 0; ; round++) {
      seen.push(...ids(matches(page)));
      // Between pages: new matches on both sides of the cursor, and updates that change the
      // last-updated time (not the sort value) of rows already seen and rows still to come.
      await c.put({ resourceType: 'Patient', id: `page-new-${round}-a`, birthDate: '1940-01-01', gender: 'other' });
      await c.put({ resourceType: 'Patient', id: `page-new-${round}-b`, birthDate: '2000-01-01', gender: 'other' });
      await c.put({ resourceType: 'Patient', id: `page-${round}`, birthDate: `19${String(50 + (round % 6)).padStart(2, '0')}-01-01`, gender: 'other', active: true });
      await c.put({ resourceType: 'Patient', id: `page-${11 - round}`, birthDate: `19${String(50 + ((11 - round) % 6)).padStart(2, '0')}-01-01`, gender: 'other', active: false });
      const next = link(page, 'next');
      if (!next) break;
      page = await c.bundle(path(next));
    }
    assert.equal(new Set(seen).size, seen.length, 'no row repeated');
    for (const id of originals) assert.ok(seen.includes(id), `${id} not skipped`);
    const birthDates = seen.filter((id) => originals.has(id));
    assert.equal(birthDates.length, 12);
  });

  test('a cursor from another query starts from the first page', async () => {
    const first = await c.bundle('Patient?gender=other&_count=4&_sort=birthdate');
    const cursor = new URL(link(first, 'next')!).searchParams.get('_cursor');
    const other = await c.bundle(`Patient?gender=other&_count=4&_sort=-birthdate&_cursor=${cursor}`);
    assert.deepEqual(ids(matches(other)), ids(matches(await c.bundle('Patient?gender=other&_count=4&_sort=-birthdate'))));
  });
});

describe('_include and _revinclude on searches', () => {
  let c: ReturnType<typeof client>;
  before(async () => {
    c = client(await t.createTenant());
    await c.put({ resourceType: 'Organization', id: 'org1', name: 'Clinic' });
    await c.put({ resourceType: 'Practitioner', id: 'dr1', name: [{ family: 'Who' }] });
    await c.put({ resourceType: 'PractitionerRole', id: 'role1', practitioner: { reference: 'Practitioner/dr1' }, organization: { reference: 'Organization/org1' } });
    await c.put({ resourceType: 'Patient', id: 'inc-p1', generalPractitioner: [{ reference: 'Practitioner/dr1' }], managingOrganization: { reference: 'Organization/org1' } });
    await c.put({ resourceType: 'Patient', id: 'inc-p2', generalPractitioner: [{ reference: 'Practitioner/dr1' }, { reference: 'Practitioner/missing' }] });
    for (const [id, patient] of [['o1', 'inc-p1'], ['o2', 'inc-p1'], ['o3', 'inc-p2']]) {
      await c.put({ resourceType: 'Observation', id, status: 'final', code: { text: 'x' }, subject: { reference: `Patient/${patient}` }, performer: [{ reference: 'Practitioner/dr1' }] });
    }
  });

  const byMode = (bundle: Bundle, mode: string) => ids(bundle.entry.filter((entry) => entry.search.mode === mode)).sort();

  test('_include adds each referenced resource once, with search.mode include', async () => {
    const bundle = await c.bundle('Patient?_id=inc-p1,inc-p2&_include=Patient:general-practitioner');
    assert.deepEqual(byMode(bundle, 'match'), ['Patient/inc-p1', 'Patient/inc-p2']);
    assert.deepEqual(byMode(bundle, 'include'), ['Practitioner/dr1'], 'once, and a dangling reference adds nothing');
    assert.equal(bundle.total, 2, 'includes are not counted');
  });

  test('Source:param:Target, Source:* and *', async () => {
    assert.deepEqual(byMode(await c.bundle('Patient?_id=inc-p1&_include=Patient:general-practitioner:Organization'), 'include'), []);
    assert.deepEqual(byMode(await c.bundle('Patient?_id=inc-p1&_include=Patient:*'), 'include'), ['Organization/org1', 'Practitioner/dr1']);
    assert.deepEqual(byMode(await c.bundle('Patient?_id=inc-p1&_include=*'), 'include'), ['Organization/org1', 'Practitioner/dr1']);
    assert.deepEqual(byMode(await c.bundle('Patient?_id=inc-p1&_include=Observation:subject'), 'include'), [], 'another Source adds nothing without :iterate');
  });

  test('_revinclude adds the resources that reference the matches', async () => {
    const bundle = await c.bundle('Patient?_id=inc-p1&_revinclude=Observation:subject');
    assert.deepEqual(byMode(bundle, 'include'), ['Observation/o1', 'Observation/o2']);
    assert.deepEqual(byMode(await c.bundle('Practitioner?_id=dr1&_revinclude=*'), 'include'), [
      'Observation/o1', 'Observation/o2', 'Observation/o3', 'Patient/inc-p1', 'Patient/inc-p2', 'PractitionerRole/role1',
    ]);
    assert.deepEqual(byMode(await c.bundle('Patient?_id=inc-p1&_revinclude=Observation:nonexistent'), 'include'), []);
  });

  test(':iterate (and :recurse) follows the included resources, each resource once', async () => {
    const query = 'Observation?_id=o1&_include=Observation:subject&_include:iterate=Patient:organization';
    assert.deepEqual(byMode(await c.bundle(query), 'include'), ['Organization/org1', 'Patient/inc-p1']);
    const recurse = 'Observation?_id=o1&_include=Observation:subject&_include:recurse=Patient:organization';
    assert.deepEqual(byMode(await c.bundle(recurse), 'include'), ['Organization/org1', 'Patient/inc-p1']);
    const without = 'Observation?_id=o1&_include=Observation:subject&_include=Patient:organization';
    assert.deepEqual(byMode(await c.bundle(without), 'include'), ['Patient/inc-p1']);
    // Revinclude then include: the other observations of the patient, and their performer once.
    const mixed = 'Patient?_id=inc-p1&_revinclude:iterate=Observation:subject&_include:iterate=Observation:performer';
    assert.deepEqual(byMode(await c.bundle(mixed), 'include'), ['Observation/o1', 'Observation/o2', 'Practitioner/dr1']);
  });

  test('malformed include values are 400', async () => {
    for (const query of ['_include=Nope:subject', '_include=Patient:name', '_include=Patient:a:b:c', '_revinclude=Nope:subject', '_include:deep=*']) {
      const res = await c.request('GET', `Patient?${query}`);
      assert.equal(res.status, 400, query);
    }
  });
});

describe('_summary and _elements', () => {
  let c: ReturnType<typeof client>;
  const observation = {
    resourceType: 'Observation', id: 'sum1', status: 'final', code: { text: 'Glucose' }, subject: { reference: 'Patient/x' },
    valueQuantity: { value: 5.4, unit: 'mmol/L' }, note: [{ text: 'fasting' }], interpretation: [{ text: 'normal' }],
    text: { status: 'generated', div: '<div xmlns="http://www.w3.org/1999/xhtml">Glucose</div>' },
  };
  before(async () => {
    c = client(await t.createTenant());
    await c.put(observation);
  });

  const only = async (query: string) => {
    const bundle = await c.bundle(`Observation?_id=sum1&${query}`);
    assert.equal(bundle.entry.length, 1);
    return bundle.entry[0].resource as unknown as Record<string, unknown> & { meta: { tag: Array<{ system: string; code: string }> } };
  };
  const keys = (resource: Record<string, unknown>) => Object.keys(resource).sort();
  const subsetted = (resource: { meta: { tag: Array<{ system: string; code: string }> } }) =>
    resource.meta.tag.some((tag) => tag.system === SUBSETTED.system && tag.code === SUBSETTED.code);

  test('_summary=true keeps the summary elements and tags the resource SUBSETTED', async () => {
    const resource = await only('_summary=true');
    assert.deepEqual(keys(resource), ['code', 'id', 'meta', 'resourceType', 'status', 'subject', 'valueQuantity']);
    assert.ok(subsetted(resource));
    assert.ok(resource.meta.tag.some((tag) => tag.system === 'https://clinikapi.com/tenant'), 'other tags stay');
  });

  test('_summary=text, data and false', async () => {
    assert.deepEqual(keys(await only('_summary=text')), ['code', 'id', 'meta', 'resourceType', 'status', 'text']);
    const data = await only('_summary=data');
    assert.equal(data.text, undefined);
    assert.deepEqual(data.note, observation.note);
    assert.ok(subsetted(data));
    const full = await only('_summary=false');
    assert.ok(!subsetted(full));
    assert.deepEqual(full.text, observation.text);
  });

  test('_elements keeps id, meta, the listed elements (choices by base name) and the mandatory ones', async () => {
    const resource = await only('_elements=value,note');
    assert.deepEqual(keys(resource), ['code', 'id', 'meta', 'note', 'resourceType', 'status', 'valueQuantity']);
    assert.ok(subsetted(resource));
    assert.equal((await c.request('GET', 'Observation?_elements=Observation.value')).status, 400);
  });

  test('_contained and _containedType are clearly unsupported', async () => {
    for (const query of ['_contained=true', '_containedType=contained']) {
      const res = await c.request('GET', `Observation?${query}`);
      assert.equal(res.status, 400);
      assert.equal(res.json.resourceType, 'OperationOutcome');
      assert.match(res.json.issue[0].diagnostics, /not supported/);
    }
  });
});

describe('search forms', () => {
  let c: ReturnType<typeof client>;
  let tenant: Tenant;
  before(async () => {
    tenant = await t.createTenant();
    c = client(tenant);
    await c.put({ resourceType: 'Patient', id: 'form-p1', gender: 'female', name: [{ family: 'Formby' }] });
    await c.put({ resourceType: 'Patient', id: 'form-p2', gender: 'male', name: [{ family: 'Formby' }] });
    await c.put({ resourceType: 'Observation', id: 'cmp1', status: 'final', code: { text: 'a' }, subject: { reference: 'Patient/form-p1' } });
    await c.put({ resourceType: 'Observation', id: 'cmp2', status: 'final', code: { text: 'a' }, performer: [{ reference: 'Patient/form-p1' }] });
    await c.put({ resourceType: 'Observation', id: 'cmp3', status: 'amended', code: { text: 'a' }, subject: { reference: 'Patient/form-p2' } });
  });

  const form = (url: string, body: string) =>
    t.request('POST', url, { key: tenant.keys.test, raw: body, contentType: 'application/x-www-form-urlencoded' });

  test('POST _search takes a form body, merged with the URL parameters', async () => {
    const res = await form('/v1/fhir/Patient/_search?family=Formby', 'gender=female&_count=5');
    assert.equal(res.status, 200, res.body);
    assert.deepEqual(ids(matches(res.json)), ['Patient/form-p1']);
    const self = new URL(link(res.json, 'self')!);
    assert.equal(self.pathname, '/v1/fhir/Patient');
    assert.equal(self.searchParams.get('gender'), 'female', 'the self link is the GET form of the search');
    const bad = await form('/v1/fhir/Patient/_search', 'birthdate=notadate');
    assert.equal(bad.status, 400);
    const json = await t.request('POST', '/v1/fhir/Patient/_search', { key: tenant.keys.test, body: { gender: { a: 1 } } });
    assert.equal(json.status, 415);
    const proto = await form('/v1/fhir/Patient/_search', '__proto__=x&gender=male');
    assert.equal(proto.status, 200, proto.body);
  });

  test('form bodies are refused elsewhere', async () => {
    const res = await form('/v1/fhir/Patient', 'gender=female');
    assert.equal(res.status, 415);
  });

  test('the Patient compartment ORs its parameters (Observation: subject or performer)', async () => {
    const bundle = await c.bundle('Patient/form-p1/Observation');
    assert.deepEqual(ids(matches(bundle)).sort(), ['Observation/cmp1', 'Observation/cmp2']);
    assert.equal(link(bundle, 'self'), `${PUBLIC_URL}/v1/fhir/Patient/form-p1/Observation`);
    assert.deepEqual(ids(matches(await c.bundle('Patient/form-p1/Observation?_id=cmp2,cmp3'))), ['Observation/cmp2']);
    assert.deepEqual(ids(matches(await c.bundle('Patient/form-p2/Observation?status=final'))), []);
    const outside = await c.request('GET', 'Patient/form-p1/Organization');
    assert.equal(outside.status, 400);
  });
});

describe('system search', () => {
  let c: ReturnType<typeof client>;
  before(async () => {
    c = client(await t.createTenant());
    // Interleaved writes: the _lastUpdated order alternates between the types.
    for (let i = 0; i < 7; i++) {
      await c.put({ resourceType: 'Patient', id: `sys-p${i}`, gender: 'unknown' });
      await c.put({ resourceType: 'Observation', id: `sys-o${i}`, status: 'final', code: { text: 'x' }, subject: { reference: `Patient/sys-p${i}` } });
      if (i < 2) await c.put({ resourceType: 'Organization', id: `sys-g${i}`, name: 'Org' });
    }
  });

  test('pages across types in _lastUpdated order, every row once, no empty last page', async () => {
    for (const [sort, count] of [['', 4], ['&_sort=-_lastUpdated', 4], ['', 16], ['', 3]] as const) {
      const pages = await allPages(c, `/v1/fhir?_type=Patient,Observation,Organization&_count=${count}${sort}`);
      const all = pages.flatMap((page) => matches(page));
      assert.equal(all.length, 16, `${sort} ${count}`);
      assert.equal(new Set(ids(all)).size, 16);
      assert.ok(pages.every((page) => matches(page).length > 0), 'no empty page');
      const times = all.map((entry) => (entry.resource.meta as { lastUpdated: string }).lastUpdated);
      const sorted = [...times].sort();
      assert.deepEqual(times, sort ? sorted.reverse() : sorted, `${sort} ${count}: ordered`);
    }
  });

  test('common parameters only; links keep _type; totals add up', async () => {
    const first = await c.bundle('/v1/fhir?_type=Patient,Observation&_count=5&_total=accurate&_id=sys-p1,sys-o1,sys-o2');
    assert.deepEqual(ids(matches(first)).sort(), ['Observation/sys-o1', 'Observation/sys-o2', 'Patient/sys-p1']);
    assert.equal(first.total, 3);
    assert.equal(new URL(link(first, 'self')!).searchParams.get('_type'), 'Patient,Observation');
    const paged = await c.bundle('/v1/fhir?_type=Patient,Observation&_count=5&_total=accurate');
    assert.equal(paged.total, 14);
    const second = await c.bundle(path(link(paged, 'next')!));
    assert.equal(second.total, 14);
    assert.equal(new URL(link(second, 'self')!).searchParams.get('_type'), 'Patient,Observation');
    const specific = await c.bundle('/v1/fhir?_type=Patient,Observation&gender=unknown&_count=1');
    assert.ok(specific.entry.some((entry) => entry.search.mode === 'outcome'), 'a type-specific parameter is ignored with a warning');
    assert.equal((await c.request('GET', '/v1/fhir?_type=Patient&gender=unknown', undefined, { prefer: 'handling=strict' })).status, 400);
    const included = await c.bundle('/v1/fhir?_type=Observation&_id=sys-o3&_include=Observation:subject');
    assert.deepEqual(ids(included.entry.filter((entry) => entry.search.mode === 'include')), ['Patient/sys-p3']);
  });

  test('bad system searches are 400', async () => {
    for (const query of ['', '?_type=Nope', '?_type=Patient&_sort=_id', '?_type=Patient&_count=x']) {
      const res = await c.request('GET', `/v1/fhir${query}`);
      assert.equal(res.status, 400, query);
      assert.equal(res.json.resourceType, 'OperationOutcome');
    }
  });
});

describe('unknown parameters', () => {
  let c: ReturnType<typeof client>;
  before(async () => {
    c = client(await t.createTenant());
    await c.put({ resourceType: 'Patient', id: 'u1', gender: 'female' });
  });

  test('are ignored with an OperationOutcome warning entry by default', async () => {
    const bundle = await c.bundle('Patient?gender=female&nickname=Bob&_filter=x');
    assert.deepEqual(ids(matches(bundle)), ['Patient/u1']);
    const outcome = bundle.entry.find((entry) => entry.search.mode === 'outcome');
    assert.ok(outcome);
    assert.equal(outcome.resource.resourceType, 'OperationOutcome');
    const issue = (outcome.resource.issue as Array<{ severity: string; diagnostics: string }>)[0];
    assert.equal(issue.severity, 'warning');
    assert.match(issue.diagnostics, /"nickname"/);
    assert.ok(!bundle.entry.some((entry) => entry.search.mode === 'outcome' && entry.resource.id), 'the outcome is not a stored resource');
  });

  test('are 400 under Prefer: handling=strict, without echoing values', async () => {
    const res = await c.request('GET', 'Patient?gender=female&nickname=Bob', undefined, { prefer: 'return=minimal, handling=strict' });
    assert.equal(res.status, 400);
    assert.equal(res.json.resourceType, 'OperationOutcome');
    assert.ok(!res.body.includes('Bob'));
    const lenient = await c.request('GET', 'Patient?gender=female&nickname=Bob', undefined, { prefer: 'handling=lenient' });
    assert.equal(lenient.status, 200);
  });
});

describe('/v1/metadata', () => {
  test('lists every search parameter per type with its type and documentation, and the include lists', async () => {
    const res = await t.request('GET', '/v1/metadata');
    assert.equal(res.status, 200);
    const resources = res.json.rest[0].resource as Array<{ type: string; searchParam: Array<{ name: string; type: string; documentation?: string }>; searchInclude: string[]; searchRevInclude: string[] }>;
    const observation = resources.find((resource) => resource.type === 'Observation')!;
    const params = new Map(observation.searchParam.map((param) => [param.name, param]));
    for (const name of ['_id', '_lastUpdated', '_tag', '_profile', '_security', '_source', 'code', 'subject', 'value-quantity', 'component-code-value-quantity']) {
      assert.ok(params.has(name), name);
    }
    assert.equal(params.get('value-quantity')!.type, 'quantity');
    assert.equal(params.get('component-code-value-quantity')!.type, 'composite');
    assert.match(params.get('subject')!.documentation ?? '', /subject/i);
    assert.ok(observation.searchInclude.includes('Observation:subject'));
    assert.ok(observation.searchInclude.includes('*'));
    assert.ok(observation.searchRevInclude.includes('DiagnosticReport:result'));
    const patient = resources.find((resource) => resource.type === 'Patient')!;
    assert.ok(patient.searchParam.length > 20);
    assert.ok(resources.length > 140);
  });
});
