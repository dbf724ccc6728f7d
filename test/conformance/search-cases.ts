/**
 * The conformance table: FHIR R4 searches over the official examples (plus the few supplements
 * below), each with the result derived by hand from https://hl7.org/fhir/R4/search.html and the
 * example JSON in ../shared/fixtures/fhir-r4-examples/resources. `why` says which element of
 * which example makes it match, so that a failure reads as a spec statement.
 *
 * Expected entries are 'Type/id'; a leading '+' marks an entry the Bundle must carry with
 * search.mode = include. Without `ordered` the comparison is as sets; with it, the exact order.
 * `{boundary}` in a query is replaced by an instant between loading the examples and the
 * supplements (for _lastUpdated).
 */

export interface ConformanceCase {
  query: string;
  expected: string[];
  why: string;
  ordered?: boolean;
  /** Bundle.total the first page must carry (with _summary=count or _total=accurate). */
  total?: number;
}

/** The types whose official examples are all loaded. */
export const EXAMPLE_TYPES = [
  'Patient', 'Observation', 'Encounter', 'MedicationRequest', 'Appointment', 'Consent', 'DiagnosticReport', 'DocumentReference',
  'ClinicalImpression', 'Composition', 'QuestionnaireResponse', 'Practitioner', 'PractitionerRole', 'Medication',
];

/**
 * Loaded after the examples, because no official example of those types carries meta.tag,
 * meta.security, meta.source, an accented name or a `number` search parameter.
 */
export const SUPPLEMENTS = [
  {
    resourceType: 'Patient', id: 'conf-accent', gender: 'unknown', birthDate: '2000-02-29',
    name: [{ family: 'Müller', given: ['José'] }],
    meta: {
      tag: [{ system: 'http://example.org/tags', code: 'vip' }],
      security: [{ system: 'http://terminology.hl7.org/CodeSystem/v3-Confidentiality', code: 'R' }],
      source: 'http://example.org/source/ehr',
    },
  },
  {
    resourceType: 'Patient', id: 'conf-plain', gender: 'unknown', birthDate: '2000-03-01',
    name: [{ family: 'Muller', given: ['Jose'] }],
    meta: { tag: [{ system: 'http://example.org/tags', code: 'test' }], source: 'http://example.org/other' },
  },
  ...[['ra-low', 0.02], ['ra-mid', 0.25], ['ra-high', 0.7]].map(([id, probability]) => ({
    resourceType: 'RiskAssessment', id, status: 'final', subject: { reference: 'Patient/example' }, prediction: [{ probabilityDecimal: probability }],
  })),
];

/** 'Type/id' for each id in the space-separated list. */
const of = (type: string, ids: string): string[] => ids.split(' ').filter(Boolean).map((id) => `${type}/${id}`);
/** The same, marked as _include/_revinclude entries. */
const inc = (type: string, ids: string): string[] => of(type, ids).map((ref) => `+${ref}`);

const F001_OBSERVATIONS = 'f001 f002 f003 f004 f005 unsat ekg';
const INFANT_OBSERVATIONS = 'bgpanel bloodgroup rhstatus secondsmoke trachcare vomiting';
const VITAL_SIGNS_PROFILED = 'blood-pressure-cancel blood-pressure-dar blood-pressure bmi body-height body-length body-temperature head-circumference heart-rate respiratory-rate satO2 vitals-panel';
const MEDRX_ENCOUNTER_F001 = 'medrx002 medrx0302 medrx0303 medrx0305 medrx0307 medrx0308 medrx0309 medrx0310 medrx0311 medrx0315 medrx0316 medrx0318 medrx0323 medrx0332 medrx0333 medrx0339';
const FEMALE_PATIENTS = 'animal genetics-example1 infant-mom infant-twin-1 mom pat4 proband';

export const STRING_CASES: ConformanceCase[] = [
  { query: 'Patient?family=donald', expected: of('Patient', 'pat1 pat2'), why: 'family "Donald" on pat1 and pat2; string search ignores case' },
  { query: 'Patient?family=Sol', expected: of('Patient', 'infant-mom infant-twin-1 infant-twin-2'), why: 'starts-with: family "Solo" on the three Solo patients' },
  { query: 'Patient?family:exact=Solo', expected: of('Patient', 'infant-mom infant-twin-1 infant-twin-2'), why: ':exact, same case and whole value' },
  { query: 'Patient?family:exact=solo', expected: [], why: ':exact is case-sensitive; the data says "Solo"' },
  { query: 'Patient?name=peter', expected: of('Patient', 'example'), why: 'given "Peter" (official and maiden name of example); "Pieter" (f001) does not start with peter' },
  { query: 'Patient?given=jim', expected: of('Patient', 'example'), why: 'the usual name of example has given "Jim"' },
  { query: 'Patient?name=roel', expected: of('Patient', 'f201'), why: 'name covers every HumanName part: text "Roel" and given "Roelof Olaf" of f201' },
  { query: 'Patient?name:contains=heuvel', expected: of('Patient', 'f001'), why: ':contains matches inside "van de Heuvel"' },
  { query: 'Patient?name:contains=eve', expected: of('Patient', 'genetics-example1 mom'), why: '"Eve Everywoman" on both; no other name part contains "eve"' },
  { query: 'Patient?family=muller', expected: of('Patient', 'conf-accent conf-plain'), why: 'accent-insensitive: "Müller" and "Muller"' },
  { query: 'Patient?given=jose', expected: of('Patient', 'conf-accent conf-plain'), why: 'accent-insensitive: "José" and "Jose"' },
  { query: 'Patient?family:exact=M%C3%BCller', expected: of('Patient', 'conf-accent'), why: ':exact keeps accents: only "Müller"' },
  { query: 'Patient?name=solo&name=leia', expected: of('Patient', 'infant-mom'), why: 'a repeated parameter is AND: "Leia Solo" only (the twins are Jaina and Jacen)' },
  { query: 'Patient?address=amsterdam', expected: of('Patient', 'f001 f201'), why: 'address covers the city; both Dutch patients live in Amsterdam' },
  { query: 'Patient?address-city=pleasant', expected: of('Patient', 'example'), why: 'city "PleasantVille" starts with pleasant' },
  { query: 'Patient?address-postalcode=1024', expected: of('Patient', 'f001'), why: 'postal code "1024 RJ"' },
  { query: 'Patient?address-country=nld', expected: of('Patient', 'f001 f201'), why: 'country "NLD" on both, case-insensitive' },
  { query: 'Patient?address-state=il', expected: of('Patient', 'xds'), why: 'state "Il" (xds); example\'s "Vic" does not match' },
  { query: 'Patient?address:contains=erewhon', expected: of('Patient', 'example'), why: 'line "534 Erewhon St" contains erewhon' },
  { query: 'Practitioner?name=dr', expected: of('Practitioner', 'example f201 f202'), why: 'prefix "Dr" (example) and "Dr." (f201, f202); "Dokter Bronsig" does not start with dr' },
  { query: 'Practitioner?name=gelder', expected: [], why: 'string search is starts-with on each value: text "Juri van Gelder" does not start with gelder' },
  { query: 'Practitioner?name=juri', expected: of('Practitioner', 'f203'), why: 'f203 has only a text name "Juri van Gelder"' },
  { query: 'Practitioner?family=van', expected: of('Practitioner', 'f001 f006'), why: 'families "van den broek" and "van den Berk"; f203\'s name has no family part' },
  { query: 'Practitioner?address-city=den', expected: of('Practitioner', 'f001 f002 f006 f007 f201 f202 f203 f204'), why: '"Den Burg" (f001 f002 f006 f007) and "Den helder" (f201-f204); the rest are in Amsterdam or have no address' },
];

export const TOKEN_CASES: ConformanceCase[] = [
  { query: 'Patient?gender=female', expected: of('Patient', FEMALE_PATIENTS), why: 'gender = female' },
  { query: 'Patient?identifier=urn:oid:0.1.2.3.4.5.6.7|123456', expected: of('Patient', 'pat2'), why: 'system|code: glossy has 123456 in another system' },
  { query: 'Patient?identifier=123456', expected: of('Patient', 'glossy pat2'), why: 'code alone matches any system; tokens are exact, so 123456789 (f201) does not match' },
  { query: 'Patient?identifier=|AB60001', expected: of('Patient', 'ihe-pcd'), why: '|code matches identifiers without a system: ihe-pcd has none' },
  { query: 'Patient?identifier=|123456', expected: [], why: 'both identifiers with value 123456 have a system' },
  { query: 'Patient?identifier=urn:oid:0.1.2.3.4.5.6.7|', expected: of('Patient', 'pat1 pat2 pat3 pat4'), why: 'system| matches any code in that system' },
  { query: 'Patient?gender:not=male', expected: of('Patient', `${FEMALE_PATIENTS} pat2 ihe-pcd conf-accent conf-plain`), why: ':not includes other codes (pat2 "other", supplements "unknown") and resources without gender (ihe-pcd)' },
  { query: 'Patient?gender:missing=true', expected: of('Patient', 'ihe-pcd'), why: 'ihe-pcd is the only patient without gender' },
  { query: 'Patient?gender:missing=false&family=donald', expected: of('Patient', 'pat1 pat2'), why: 'both Donalds have a gender' },
  { query: 'Patient?birthdate:missing=true', expected: of('Patient', 'dicom ihe-pcd infant-fetal pat1 pat2'), why: 'the five patients without birthDate' },
  { query: 'Patient?identifier:of-type=http://terminology.hl7.org/CodeSystem/v2-0203|SS|444222222', expected: of('Patient', 'genetics-example1 mom'), why: 'identifier typed SS with value 444222222' },
  { query: 'Patient?identifier:of-type=http://terminology.hl7.org/CodeSystem/v2-0203|MR|12345', expected: of('Patient', 'example xcda'), why: 'identifier typed MR with value 12345 (different systems)' },
  { query: 'Patient?active=true', expected: of('Patient', 'animal ch-example dicom example f001 f201 genetics-example1 glossy ihe-pcd mom pat1 pat2 pat3 pat4 proband xcda xds'), why: 'boolean token: active = true' },
  { query: 'Patient?active:not=true', expected: of('Patient', 'infant-fetal infant-mom infant-twin-1 infant-twin-2 newborn conf-accent conf-plain'), why: ':not also matches resources without active' },
  { query: 'Patient?deceased=true', expected: of('Patient', 'pat3 pat4'), why: 'deceased = deceased.exists() and deceased != false: deceasedDateTime (pat3) and deceasedBoolean true (pat4)' },
  { query: 'Patient?_id=pat1,pat3', expected: of('Patient', 'pat1 pat3'), why: '_id, comma is OR' },
  { query: 'Observation?_id=f001&_id=f002', expected: [], why: 'a repeated parameter is AND; no resource has two ids' },
  { query: 'Observation?code=http://loinc.org|15074-8', expected: of('Observation', 'f001 unsat'), why: 'LOINC 15074-8 (glucose) on f001 and unsat' },
  { query: 'Observation?code=8310-5', expected: of('Observation', 'body-temperature f202'), why: 'code alone, any system; f202 has it as its second coding' },
  { query: 'Observation?code=http://loinc.org|8302-2,http://loinc.org|8306-3', expected: of('Observation', 'body-height body-length'), why: 'comma OR; body-length has both codes' },
  { query: 'Observation?code=http://snomed.info/sct|&subject=Patient/f201', expected: of('Observation', 'f202 f203'), why: 'system| : of Roel\'s observations only f202 and f203 carry a SNOMED coding' },
  { query: 'Observation?status:not=final', expected: of('Observation', 'blood-pressure-cancel example-TPMT-haplotype-one example-TPMT-haplotype-two example-haplotype1 example-haplotype2 f202 unsat vp-oyster'), why: 'cancelled, unknown, entered-in-error and preliminary observations' },
  { query: 'Observation?category=vital-signs&code=http://loinc.org|8478-0', expected: of('Observation', 'mbp'), why: 'AND across parameters: map-sitting has the code but category laboratory' },
  { query: 'Observation?combo-code=http://loinc.org|8480-6', expected: of('Observation', 'blood-pressure blood-pressure-cancel blood-pressure-dar'), why: 'combo-code includes component.code: systolic BP component' },
  { query: 'Observation?code:text=blood%20pressure', expected: of('Observation', 'blood-pressure blood-pressure-cancel blood-pressure-dar'), why: ':text searches CodeableConcept.text and Coding.display as a string: "Blood pressure systolic & diastolic"' },
  { query: 'Observation?value-concept=http://snomed.info/sct|10828004', expected: of('Observation', 'example-genetics-1 example-genetics-2 vp-oyster'), why: 'valueCodeableConcept SNOMED 10828004 (Positive)' },
  { query: 'Encounter?class=HH', expected: of('Encounter', 'home'), why: 'class is a Coding: code HH (home health)' },
  { query: 'Observation?_profile=http://hl7.org/fhir/StructureDefinition/vitalsigns', expected: of('Observation', VITAL_SIGNS_PROFILED), why: '_profile: the twelve examples declaring the vitalsigns profile' },
  { query: 'Patient?_tag=http://example.org/tags|vip', expected: of('Patient', 'conf-accent'), why: '_tag system|code' },
  { query: 'Patient?_tag=vip,test', expected: of('Patient', 'conf-accent conf-plain'), why: '_tag code only, comma OR' },
  { query: 'Patient?_security=http://terminology.hl7.org/CodeSystem/v3-Confidentiality|R', expected: of('Patient', 'conf-accent'), why: '_security on meta.security' },
  { query: 'Patient?_source=http://example.org/source/ehr', expected: of('Patient', 'conf-accent'), why: '_source is a uri: exact match on meta.source' },
];

export const DATE_CASES: ConformanceCase[] = [
  { query: 'Patient?birthdate=1974-12-25', expected: of('Patient', 'ch-example example'), why: 'birthDate 1974-12-25 on both' },
  { query: 'Patient?birthdate=1974', expected: of('Patient', 'ch-example example'), why: 'a partial date is a range: the year 1974 contains their birth day' },
  { query: 'Patient?birthdate=2017-05', expected: of('Patient', 'infant-twin-1 infant-twin-2'), why: 'May 2017 contains 2017-05-15' },
  { query: 'Patient?birthdate=2000-02-29', expected: of('Patient', 'conf-accent'), why: 'leap day' },
  { query: 'Patient?birthdate=gt2017-05-15', expected: of('Patient', 'newborn'), why: 'gt: only newborn (2017-09-05) is after the day' },
  { query: 'Patient?birthdate=ge2017-05-15', expected: of('Patient', 'infant-twin-1 infant-twin-2 newborn'), why: 'ge includes the day itself' },
  { query: 'Patient?birthdate=lt1944-11-17', expected: of('Patient', 'glossy xcda'), why: 'lt: 1932-09-24 only' },
  { query: 'Patient?birthdate=le1944-11-17', expected: of('Patient', 'glossy xcda f001'), why: 'le includes f001 born 1944-11-17' },
  { query: 'Patient?birthdate=ne1974-12-25&gender=male', expected: of('Patient', 'f001 f201 glossy infant-twin-2 newborn pat3 xcda xds'), why: 'ne: males with a birthDate other than 1974-12-25 (males without birthDate do not match)' },
  { query: 'Patient?birthdate=sa2017-05-15', expected: of('Patient', 'newborn'), why: 'sa: starts after the day' },
  { query: 'Patient?birthdate=eb1944-11-17', expected: of('Patient', 'glossy xcda'), why: 'eb: ends before the day' },
  { query: 'Patient?birthdate=ap1932-09-24', expected: of('Patient', 'glossy xcda'), why: 'ap: 10% of the ~94 years to now is ~9 years; f001 (1944) is 12 years away' },
  { query: 'Patient?birthdate=ge1982-01&birthdate=lt1982-08', expected: of('Patient', 'pat3'), why: 'AND of two prefixes: pat3 1982-01-23; pat4 (1982-08-02) is not before August' },
  { query: 'Observation?date=2013-04', expected: of('Observation', 'f002 f003 f004 f005 unsat'), why: 'eq: the Period lies wholly in April 2013; f001 has an open end, so it does not' },
  { query: 'Observation?date=2013-04-05&subject=Patient/f001', expected: of('Observation', 'f005'), why: 'eq 2013-04-05: only f005\'s period (10:30 to 10:30 that day) is inside the day' },
  { query: 'Observation?date=lt2013-04-03&subject=Patient/f001', expected: of('Observation', 'f001 f002 f003 f004 unsat'), why: 'lt: periods starting 2013-04-02; f005 starts 04-05, ekg is 2015' },
  { query: 'Observation?date=gt2013-04-05&subject=Patient/f001', expected: of('Observation', 'f001 ekg'), why: 'gt: f001\'s open period reaches past the day; ekg is 2015; the others end on 04-05' },
  { query: 'Observation?date=sa2013-04-02&subject=Patient/f001', expected: of('Observation', 'f005 ekg'), why: 'sa: starts after 2013-04-02 ends' },
  { query: 'Observation?date=eb2013-04-06&subject=Patient/f001', expected: of('Observation', 'f002 f003 f004 f005 unsat'), why: 'eb: ends before 04-06; f001 never ends' },
  { query: 'Observation?date=ne2013-04&subject=Patient/f001', expected: of('Observation', 'f001 ekg'), why: 'ne: not wholly inside April 2013' },
  { query: 'Encounter?date=2013-03', expected: of('Encounter', 'f203'), why: 'period 2013-03-11 to 2013-03-20 lies in March 2013' },
  { query: 'Encounter?date=ge2017', expected: of('Encounter', 'emerg'), why: 'emerg\'s period starts 2017-02-01 and is open' },
  { query: 'Encounter?date=le2015-01-17', expected: of('Encounter', 'f203 home'), why: 'le: home (2015-01-17 06:00Z) and f203 (2013) start on or before the day' },
  { query: 'DiagnosticReport?issued=2012-12-01T11:00:00Z', expected: of('DiagnosticReport', 'f201 ultrasound'), why: 'instant: 2012-12-01T12:00:00+01:00 is 11:00Z' },
  { query: 'DiagnosticReport?issued=gt2016', expected: of('DiagnosticReport', 'gingival-mass'), why: 'gt2016 means after the whole year 2016: example-pgx (2016-10-20) is not' },
  { query: 'DiagnosticReport?date=2008-06-17', expected: of('DiagnosticReport', '102'), why: 'effectiveDateTime 2008-06-17' },
  { query: 'Consent?date=2015-11-18', expected: of('Consent', 'consent-example-Emergency consent-example-Out consent-example-grantor consent-example-notAuthor consent-example-notOrg consent-example-notThem consent-example-notThis consent-example-notTime'), why: 'Consent.dateTime 2015-11-18' },
  { query: 'Consent?period=2016-06-23', expected: of('Consent', 'consent-example-smartonfhir'), why: 'provision.period 07:02Z-07:32Z on 2016-06-23; basic\'s 1964-2016 period is not inside the day' },
  { query: 'Consent?period=lt1965', expected: of('Consent', 'consent-example-basic'), why: 'provision.period starts 1964-01-01' },
  { query: 'ClinicalImpression?date=2014-12-06', expected: of('ClinicalImpression', 'example'), why: 'ClinicalImpression.date 2014-12-06T22:33+11:00 = 11:33Z' },
  { query: 'Composition?date=2012-01-04', expected: of('Composition', 'example'), why: 'Composition.date 2012-01-04T09:10:14Z' },
  { query: 'MedicationRequest?authoredon=2015-03-01', expected: of('MedicationRequest', 'medrx002'), why: 'the others were authored 2015-01-15' },
  { query: 'QuestionnaireResponse?authored=2013-02-19', expected: of('QuestionnaireResponse', '3141 bb'), why: '14:15-05:00 and 14:15+10:00 are both on 2013-02-19 UTC' },
  { query: 'Patient?_lastUpdated=gt{boundary}', expected: of('Patient', 'conf-accent conf-plain'), why: 'only the supplements were written after the boundary' },
  { query: 'Patient?_lastUpdated=le{boundary}&family=donald', expected: of('Patient', 'pat1 pat2'), why: 'the examples were written before the boundary' },
];

export const NUMBER_QUANTITY_CASES: ConformanceCase[] = [
  { query: 'RiskAssessment?probability=0.25', expected: of('RiskAssessment', 'ra-mid'), why: 'implicit precision [0.245, 0.255)' },
  { query: 'RiskAssessment?probability=0.7', expected: of('RiskAssessment', 'ra-high'), why: 'implicit precision [0.65, 0.75)' },
  { query: 'RiskAssessment?probability=2e-2', expected: of('RiskAssessment', 'ra-low'), why: 'exponent form, one significant figure: [0.015, 0.025)' },
  { query: 'RiskAssessment?probability=gt0.1', expected: of('RiskAssessment', 'ra-mid ra-high'), why: 'gt' },
  { query: 'RiskAssessment?probability=lt0.5', expected: of('RiskAssessment', 'ra-low ra-mid'), why: 'lt' },
  { query: 'RiskAssessment?probability=ge0.7', expected: of('RiskAssessment', 'ra-high'), why: 'ge includes the value' },
  { query: 'RiskAssessment?probability=ne0.25', expected: of('RiskAssessment', 'ra-low ra-high'), why: 'ne' },
  { query: 'Observation?value-quantity=185', expected: of('Observation', 'example'), why: 'body weight 185 [lb_av]; a bare number ignores units' },
  { query: 'Observation?value-quantity=6.3', expected: of('Observation', 'f001'), why: 'precision [6.25, 6.35): f003 (6.2) is outside' },
  { query: 'Observation?value-quantity=gt100', expected: of('Observation', '656 example f204'), why: '820, 185 and 122' },
  { query: 'Observation?value-quantity=lt1', expected: of('Observation', '1minute-apgar-score bmd herd1'), why: '0, 0.887 and 0.2' },
  { query: 'Observation?value-quantity=ge13&value-quantity=le13', expected: of('Observation', 'gcs-qa glasgow'), why: 'AND of two prefixes: GCS 13' },
  { query: 'Observation?value-quantity=0.2|http://unitsofmeasure.org|%25', expected: of('Observation', 'herd1'), why: 'value|system|code with UCUM %' },
  { query: 'Observation?value-quantity=28|http://snomed.info/sct|258813002', expected: of('Observation', 'f203'), why: 'a non-UCUM system compares system and code as given' },
  { query: 'Observation?value-quantity=28||mmol/L', expected: of('Observation', 'f203'), why: 'value||code matches the code or the unit: f203 has unit "mmol/L" (its code is SNOMED)' },
  { query: 'Observation?value-quantity=250|http://unitsofmeasure.org|mm', expected: of('Observation', 'body-length'), why: 'UCUM canonical: 25 cm = 250 mm' },
  { query: 'Observation?value-quantity=lt0.3|http://unitsofmeasure.org|m', expected: of('Observation', 'body-length'), why: 'UCUM canonical: 25 cm = 0.25 m; head circumference 51.2 cm and body height 66.9 in are larger' },
  { query: 'Observation?value-quantity=72|http://unitsofmeasure.org|g/L', expected: of('Observation', 'f005'), why: 'UCUM canonical: 7.2 g/dL = 72 g/L' },
  { query: 'Observation?value-quantity=7200|http://unitsofmeasure.org|mg/dL', expected: of('Observation', 'f005'), why: 'UCUM canonical: 7.2 g/dL = 7200 mg/dL' },
  { query: 'Observation?component-value-quantity=107', expected: of('Observation', 'blood-pressure blood-pressure-dar'), why: 'systolic component 107' },
  { query: 'Observation?combo-value-quantity=60', expected: of('Observation', 'blood-pressure f205 map-sitting'), why: 'value (map-sitting) or component (diastolic of blood-pressure, eGFR of f205) equal to 60' },
  { query: 'Encounter?length=gt100|http://unitsofmeasure.org|min', expected: of('Encounter', 'f001 f002'), why: '140 min; f003 90, f202 56' },
  { query: 'Encounter?length=ge2|http://unitsofmeasure.org|h', expected: of('Encounter', 'f001 f002'), why: 'UCUM canonical: 140 min > 2 h; 90 min is not' },
];

export const COMPOSITE_URI_CASES: ConformanceCase[] = [
  { query: 'Observation?code-value-quantity=http://loinc.org|15074-8$6.3', expected: of('Observation', 'f001'), why: 'code and value on one observation; unsat has the code but no value' },
  { query: 'Observation?code-value-quantity=http://loinc.org|8310-5$lt37|http://unitsofmeasure.org|Cel', expected: of('Observation', 'body-temperature'), why: '36.5 Cel; f202 is 39' },
  { query: 'Observation?component-code-value-quantity=http://loinc.org|8480-6$107', expected: of('Observation', 'blood-pressure blood-pressure-dar'), why: 'systolic component 107' },
  { query: 'Observation?component-code-value-quantity=http://loinc.org|8462-4$60', expected: of('Observation', 'blood-pressure'), why: 'diastolic 60; blood-pressure-dar has no diastolic value' },
  { query: 'Observation?component-code-value-quantity=http://loinc.org|8480-6$60', expected: [], why: 'the pair must come from one component: 60 is the diastolic, not the systolic' },
  { query: 'Observation?combo-code-value-quantity=http://loinc.org|8478-0$gt70', expected: of('Observation', 'mbp'), why: 'mean BP 80; map-sitting is 60' },
  { query: 'Observation?code-value-concept=http://loinc.org|883-9$http://snomed.info/sct|112144000', expected: of('Observation', 'bloodgroup rhstatus'), why: 'blood group code with value A' },
  { query: 'Observation?code-value-string=http://snomed.info/sct|363779003$*1', expected: of('Observation', 'example-TPMT-diplotype'), why: 'valueString "*1/*4" starts with *1; the haplotypes have coded values' },
  { query: 'Observation?code-value-date=http://loinc.org|8665-2$2016-12', expected: of('Observation', 'date-lastmp'), why: 'valueDateTime 2016-12-30' },
  { query: 'DocumentReference?relationship=DocumentReference/example$appends', expected: of('DocumentReference', 'example'), why: 'relatesTo target itself with code appends; components in definition order: relatesto (reference) then relation (token), as R5 keeps them' },
  { query: 'DocumentReference?location=http://example.org/xds/mhd/Binary/07a6483f-732b-461e-86b6-edb665c45510', expected: of('DocumentReference', 'example'), why: 'uri: exact attachment url' },
  { query: 'DocumentReference?location=http://example.org/xds', expected: [], why: 'a uri without modifier is exact' },
  { query: 'DocumentReference?location:below=http://example.org/xds', expected: of('DocumentReference', 'example'), why: ':below: the url is under http://example.org/xds' },
  { query: 'DocumentReference?location:above=http://example.org/xds/mhd/Binary/07a6483f-732b-461e-86b6-edb665c45510/_history/1', expected: of('DocumentReference', 'example'), why: ':above: the stored url is a parent of the given one' },
  { query: 'Observation?_profile:below=http://hl7.org/fhir/StructureDefinition', expected: of('Observation', VITAL_SIGNS_PROFILED), why: ':below on _profile' },
  { query: 'Patient?_source:below=http://example.org/source', expected: of('Patient', 'conf-accent'), why: ':below on _source; conf-plain\'s source is http://example.org/other' },
];

export const REFERENCE_CASES: ConformanceCase[] = [
  { query: 'Observation?subject=Patient/f001', expected: of('Observation', F001_OBSERVATIONS), why: 'Type/id' },
  { query: 'Observation?subject=https://api.test.example/v1/fhir/Patient/f001', expected: of('Observation', F001_OBSERVATIONS), why: 'an absolute URL on the server base is the same reference' },
  { query: 'Observation?patient=Patient/infant', expected: of('Observation', INFANT_OBSERVATIONS), why: 'Patient/infant is not loaded: search must not need the target to exist' },
  { query: 'Observation?subject=infant', expected: of('Observation', INFANT_OBSERVATIONS), why: 'a bare id matches any type with that id' },
  { query: 'Observation?subject:Group=herd1', expected: of('Observation', 'herd1'), why: ':Type modifier; herd1 refers to Group/herd1' },
  { query: 'Observation?subject:Patient=727127', expected: of('Observation', 'example-diplotype1 example-haplotype1 example-haplotype2 example-phenotype'), why: ':Patient with id, target not loaded' },
  { query: 'Observation?based-on:identifier=https://acme.org/identifiers|1234', expected: of('Observation', 'blood-pressure'), why: ':identifier matches Reference.identifier' },
  { query: 'Observation?has-member=Observation/bloodgroup', expected: of('Observation', 'bgpanel'), why: 'hasMember' },
  { query: 'Observation?derived-from=QuestionnaireResponse/gcs', expected: of('Observation', 'gcs-qa'), why: 'derivedFrom' },
  { query: 'Observation?focus=Patient/infant-mom', expected: of('Observation', 'trachcare'), why: 'focus' },
  { query: 'Observation?performer:Practitioner=f005', expected: of('Observation', `${F001_OBSERVATIONS} vp-oyster`), why: 'performer Practitioner/f005' },
  { query: 'QuestionnaireResponse?subject=http://hl7.org/fhir/Patient/1', expected: of('QuestionnaireResponse', 'bb'), why: 'an absolute reference to another server matches by its full URL' },
  { query: 'QuestionnaireResponse?subject=Patient/proband', expected: [], why: 'ussg-fht-answers refers to http://hl7.org/fhir/Patient/proband, another server\'s patient, not ours' },
  { query: 'Encounter?part-of=Encounter/f203', expected: of('Encounter', 'f203'), why: 'f203 is part of itself' },
  { query: 'MedicationRequest?medication=Medication/med0316', expected: of('MedicationRequest', 'medrx002'), why: 'medrx0311 refers to a contained #med0316, which is not Medication/med0316' },
  { query: 'MedicationRequest?encounter=f002', expected: of('MedicationRequest', 'medrx0330'), why: 'bare id' },
  { query: 'Observation?subject=Patient/f001,Patient/f201&code=http://loinc.org|15074-8', expected: of('Observation', 'f001 unsat'), why: 'OR inside, AND across' },
];

export const CHAIN_HAS_CASES: ConformanceCase[] = [
  { query: 'Observation?patient.birthdate=1944-11-17', expected: of('Observation', F001_OBSERVATIONS), why: 'chain: Patient/f001 was born 1944-11-17' },
  { query: 'Observation?subject:Patient.family=bor', expected: of('Observation', 'f202 f203 f204 f205 f206'), why: 'chain with :Type: Roel Bor (f201)' },
  { query: 'Encounter?subject.identifier=urn:oid:2.16.840.1.113883.2.4.6.3|738472983', expected: of('Encounter', 'f001 f002 f003'), why: 'chain to a token: Patient/f001\'s identifier' },
  { query: 'MedicationRequest?encounter.subject:Patient.family=van', expected: of('MedicationRequest', `${MEDRX_ENCOUNTER_F001} medrx0330`), why: 'two levels: Encounter f001/f002 -> Patient/f001 "van de Heuvel"; Encounter/f201 is Roel Bor\'s' },
  { query: 'Observation?derived-from:Observation.patient.family=chalmers', expected: of('Observation', 'bmi-using-related example-TPMT-diplotype example-genetics-2 example-genetics-3'), why: 'two levels: derived from Observation/example, the TPMT haplotypes or example-genetics-1, whose patient is Chalmers; Observation/bodyheight is not loaded' },
  { query: 'DiagnosticReport?result.subject:Patient.name=donald', expected: of('DiagnosticReport', '102'), why: 'two levels: result Observation/bmd -> Patient/pat2 Donald Duck' },
  { query: 'Observation?patient.name=donald', expected: of('Observation', 'bmd date-lastmp'), why: 'chain: both refer to Patient/pat2 Donald Duck; pat1 has no observations' },
  { query: 'Patient?_has:Observation:patient:code=http://loinc.org|15074-8', expected: of('Patient', 'f001'), why: '_has: f001 and unsat refer to Patient/f001' },
  { query: 'Patient?_has:Observation:subject:status=entered-in-error', expected: of('Patient', 'f201'), why: '_has: f202 is entered-in-error' },
  { query: 'Patient?_has:Encounter:subject:class=HH', expected: of('Patient', 'example'), why: '_has: the home encounter is Patient/example\'s' },
  { query: 'Practitioner?_has:Observation:performer:code=http://loinc.org|11555-0', expected: of('Practitioner', 'f005'), why: '_has on a performer: Observation f002' },
  { query: 'Patient?_has:Observation:patient:code=http://loinc.org|883-9', expected: [], why: 'the blood group observations refer to Patient/infant, which is not loaded' },
  { query: 'Patient?_has:Observation:patient:_has:DiagnosticReport:result:code=http://loinc.org|38269-7', expected: of('Patient', 'pat2'), why: 'nested _has: report 102 has result bmd, whose patient is pat2' },
];

export const SORT_CASES: ConformanceCase[] = [
  { query: 'Patient?gender=female&_sort=birthdate', ordered: true, expected: of('Patient', 'proband genetics-example1 mom pat4 infant-mom animal infant-twin-1'), why: '1966, 1973 (tie broken by id), 1982, 1995, 2010, 2017' },
  { query: 'Patient?gender=female&_sort=-birthdate,_id', ordered: true, expected: of('Patient', 'infant-twin-1 animal infant-mom pat4 genetics-example1 mom proband'), why: 'descending, then _id for the 1973-05-31 tie' },
  { query: 'Patient?family=Notsowell,Levin&_sort=family,-birthdate,_id', ordered: true, expected: of('Patient', 'glossy xcda pat4 pat3'), why: 'Levin before Notsowell; the Levins tie on birthDate, so _id decides; pat4 (1982-08) before pat3 (1982-01)' },
  { query: 'Patient?_id=pat1,pat2,pat3,pat4&_sort=-_id', ordered: true, expected: of('Patient', 'pat4 pat3 pat2 pat1'), why: 'descending _id' },
  { query: 'Practitioner?_id=f002,f003,f004,f005&_sort=family', ordered: true, expected: of('Practitioner', 'f005 f004 f003 f002'), why: 'Anne, Briet, Versteegh, Voigt' },
  { query: 'Observation?patient=example&date=ge2014&date=lt2018-03&_sort=-date,_id', ordered: true, expected: of('Observation', 'clinical-gender eye-color example alcohol-type gcs-qa glasgow satO2'), why: '2018-02-01, 2016-05-18, 2016-03-28, three at 2014-12-11T04:44:16Z (by id), 2014-12-05' },
  { query: 'Encounter?subject=Patient/f001&_sort=-length,_id', ordered: true, expected: of('Encounter', 'f001 f002 f003'), why: 'quantity sort: 140, 140 (by id), 90 min' },
  { query: 'Patient?_tag=vip,test&_sort=-_lastUpdated', ordered: true, expected: of('Patient', 'conf-plain conf-accent'), why: 'conf-plain was written after conf-accent' },
  { query: 'DiagnosticReport?_sort=issued,_id', ordered: true, expected: of('DiagnosticReport', '102 f201 ultrasound pap example-pgx gingival-mass'), why: '2008, 2012-12-01 twice (by id), 2013, 2016, 2017' },
];

export const INCLUDE_CASES: ConformanceCase[] = [
  { query: 'Observation?_id=f001&_include=Observation:patient', expected: [...of('Observation', 'f001'), ...inc('Patient', 'f001')], why: '_include the patient' },
  { query: 'Observation?_id=bgpanel&_include=Observation:patient', expected: of('Observation', 'bgpanel'), why: 'the target Patient/infant is not loaded: nothing to include, no error' },
  { query: 'Observation?_id=f001&_include=*', expected: [...of('Observation', 'f001'), ...inc('Patient', 'f001'), ...inc('Practitioner', 'f005')], why: '* follows every reference parameter: subject/patient and performer' },
  { query: 'MedicationRequest?_id=medrx002&_include=MedicationRequest:medication&_include=MedicationRequest:requester', expected: [...of('MedicationRequest', 'medrx002'), ...inc('Medication', 'med0316'), ...inc('Practitioner', 'f007')], why: 'two includes' },
  { query: 'Observation?_id=example-phenotype&_include=Observation:derived-from', expected: [...of('Observation', 'example-phenotype'), ...inc('Observation', 'example-diplotype1')], why: 'one level only without :iterate' },
  { query: 'Observation?_id=example-phenotype&_include:iterate=Observation:derived-from', expected: [...of('Observation', 'example-phenotype'), ...inc('Observation', 'example-diplotype1 example-haplotype1 example-haplotype2')], why: ':iterate follows diplotype1 to its haplotypes (their MolecularSequences are not loaded)' },
  { query: 'Patient?_id=f201&_revinclude=Observation:subject', expected: [...of('Patient', 'f201'), ...inc('Observation', 'f202 f203 f204 f205 f206')], why: '_revinclude' },
  { query: 'Patient?_id=f201&_revinclude=Encounter:subject&_revinclude=QuestionnaireResponse:subject', expected: [...of('Patient', 'f201'), ...inc('Encounter', 'f201 f202 f203'), ...inc('QuestionnaireResponse', 'f201')], why: 'two revincludes' },
  { query: 'Observation?_id=bloodgroup&_revinclude=Observation:has-member', expected: [...of('Observation', 'bloodgroup'), ...inc('Observation', 'bgpanel')], why: 'revinclude of the same type' },
  { query: 'Encounter?_id=f001&_revinclude=MedicationRequest:encounter&_include:iterate=MedicationRequest:medication', expected: [...of('Encounter', 'f001'), ...inc('MedicationRequest', MEDRX_ENCOUNTER_F001), ...inc('Medication', 'med0316')], why: 'iterate applies to revincluded requests; only medrx002 refers to a stored Medication (the rest are contained)' },
];

export const COUNT_CASES: ConformanceCase[] = [
  { query: 'Observation?subject=Patient/f001&_summary=count', expected: [], total: 7, why: '_summary=count: total only, no entries' },
  { query: 'Observation?subject=Patient/f001&_total=accurate&_count=2', expected: of('Observation', F001_OBSERVATIONS), total: 7, why: '_total=accurate on the first of four pages' },
  { query: 'MedicationRequest?status=on-hold&_summary=count', expected: [], total: 5, why: 'five on-hold requests' },
];

export const CASES: ConformanceCase[] = [
  ...STRING_CASES, ...TOKEN_CASES, ...DATE_CASES, ...NUMBER_QUANTITY_CASES, ...COMPOSITE_URI_CASES,
  ...REFERENCE_CASES, ...CHAIN_HAS_CASES, ...SORT_CASES, ...INCLUDE_CASES, ...COUNT_CASES,
];
