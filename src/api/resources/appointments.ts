import { invalidIssue, validationError, type Issue } from '../../errors.js';
import { conceptText, conceptTextField, DATE_TIME_SCHEMA, element, known, PERIOD_SCHEMA, pickDefined, reference, setOrDelete, text } from '../fields.js';
import { dateRangeFilters, type FhirObject, type FieldMapping, type Json, type JsonSchema, type SimplifiedResource } from '../simplified-resource.js';

/** /v1/appointments ↔ FHIR Appointment (contract §3.8). */

const STATUSES = ['proposed', 'pending', 'booked', 'arrived', 'fulfilled', 'cancelled', 'noshow', 'checked-in', 'waitlist'];
const APPOINTMENT_TYPE_SYSTEM = 'http://terminology.hl7.org/CodeSystem/v2-0276';
/** v2-0276 codes an appointmentType may name (any case: the older page sends ROUTINE, FOLLOWUP); other types are kept as text. */
const APPOINTMENT_TYPES: Record<string, string> = {
  CHECKUP: 'A routine check-up, such as an annual physical',
  EMERGENCY: 'Emergency appointment',
  FOLLOWUP: 'A follow up visit from a previous appointment',
  ROUTINE: 'Routine appointment - default if not valued',
  WALKIN: 'A previously unscheduled walk-in visit',
};

/** A FHIR instant (Appointment.start and end): a full date and time with seconds and a zone. */
const INSTANT_SCHEMA: JsonSchema = {
  type: 'string',
  format: 'date-time-utc',
  pattern: '^\\d{4}-(0[1-9]|1[0-2])-(0[1-9]|[12]\\d|3[01])T([01]\\d|2[0-3]):[0-5]\\d:([0-5]\\d|60)(\\.\\d{1,9})?(Z|[+-]((0\\d|1[0-3]):[0-5]\\d|14:00))$',
};

const actorId = (participant: FhirObject, type: string): string | undefined => {
  const ref: string | undefined = participant.actor?.reference;
  return ref?.startsWith(`${type}/`) ? ref.slice(type.length + 1) : undefined;
};

/**
 * The first participant whose actor is a `type`: changing the id replaces its actor and keeps its
 * type, required and status; a new participant has `status: accepted` (participant.status is 1..1).
 */
function participantId(type: 'Patient' | 'Practitioner', options: Partial<FieldMapping> = {}): FieldMapping {
  return {
    schema: { type: 'string', format: 'reference-id' },
    write: (resource, value) => {
      const participants: FhirObject[] = [...(resource.participant ?? [])];
      const index = participants.findIndex((participant) => actorId(participant, type) !== undefined);
      const actor = { reference: `${type}/${String(value)}` };
      if (value === undefined) {
        if (index >= 0) participants.splice(index, 1);
      } else if (index >= 0) {
        participants[index] = { ...participants[index], actor };
      } else {
        participants.push({ actor, status: 'accepted' });
      }
      setOrDelete(resource, 'participant', participants);
    },
    read: (resource) => {
      for (const participant of (resource.participant ?? []) as FhirObject[]) {
        const id = actorId(participant, type);
        if (id !== undefined) return id;
      }
      return undefined;
    },
    ...options,
  };
}

/**
 * A string or `{text}`; a v2-0276 code also gets that coding. Read back as `{text}`, the shape the
 * reference app reads (`appointmentType?.text`); the text, else the coding's display or code.
 */
const appointmentType: FieldMapping = {
  schema: { anyOf: [text(100), { type: 'object', additionalProperties: false, required: ['text'], properties: { text: text(100) } }] },
  write: (resource, value) => {
    if (value === undefined) return setOrDelete(resource, 'appointmentType', undefined);
    const typeText = typeof value === 'string' ? value : String((value as FhirObject).text);
    const code = typeText.toUpperCase();
    const display = known(APPOINTMENT_TYPES, code);
    resource.appointmentType = display ? { coding: [{ system: APPOINTMENT_TYPE_SYSTEM, code, display }], text: typeText } : { text: typeText };
  },
  read: (resource) => {
    const typeText = conceptText(resource.appointmentType);
    return typeText === undefined ? undefined : { text: typeText };
  },
};

const start = element('start', INSTANT_SCHEMA);
const end = element('end', INSTANT_SCHEMA);
const minutesDuration = element('minutesDuration', { type: 'integer', minimum: 1, maximum: 1440 });
/** Statuses that may have no start and end yet (R4 invariant app-3). */
const UNSCHEDULED_STATUSES = ['proposed', 'cancelled', 'waitlist'];

/**
 * `end` follows `start` + `minutesDuration` whenever both are known and the request gives no
 * `end` ("used when end is absent"), so moving the start moves the end. Then R4's rules on the
 * times: start and end go together (app-2), only proposed, cancelled and waitlist appointments
 * may lack them (app-3), and the end is not before the start.
 */
function finishTimes(resource: FhirObject, written: ReadonlySet<string>): void {
  if (!written.has('end') && typeof resource.start === 'string' && typeof resource.minutesDuration === 'number') {
    resource.end = new Date(Date.parse(resource.start) + resource.minutesDuration * 60_000).toISOString().replace('.000Z', 'Z');
  }
  const issues: Issue[] = [];
  if (resource.start !== undefined && resource.end === undefined) issues.push(invalidIssue('end', 'Required with start (or give minutesDuration)'));
  if (resource.end !== undefined && resource.start === undefined) issues.push(invalidIssue('start', 'Required with end'));
  if (resource.start === undefined && !UNSCHEDULED_STATUSES.includes(resource.status)) {
    issues.push(invalidIssue('start', `Required unless status is ${UNSCHEDULED_STATUSES.join(', ')}`));
  }
  if (resource.start !== undefined && resource.end !== undefined && Date.parse(resource.end) < Date.parse(resource.start)) {
    issues.push(invalidIssue('end', 'Must not be before start'));
  }
  if (issues.length > 0) throw validationError(issues);
}

const periodOf = (period: FhirObject | undefined) => (period ? pickDefined({ start: period.start, end: period.end }) : {});

const requestedPeriod: FieldMapping = {
  schema: { type: 'array', maxItems: 20, items: { ...PERIOD_SCHEMA, minProperties: 1 } },
  write: (resource, value) => setOrDelete(resource, 'requestedPeriod', (value as FhirObject[] | undefined)?.map(periodOf)),
  read: (resource) => {
    const periods = (resource.requestedPeriod as FhirObject[] | undefined)?.map(periodOf).filter((period) => Object.keys(period).length > 0);
    return periods?.length ? (periods as Json[]) : undefined;
  },
};

export const appointments: SimplifiedResource = {
  path: 'appointments',
  fhirType: 'Appointment',
  required: ['status', 'patientId'],
  fields: {
    status: element('status', { type: 'string', enum: STATUSES }),
    patientId: participantId('Patient', { createOnly: true }),
    practitionerId: participantId('Practitioner'),
    start,
    end,
    minutesDuration,
    appointmentType,
    serviceType: conceptTextField('serviceType', 200, true),
    serviceCategory: conceptTextField('serviceCategory', 200, true),
    specialty: conceptTextField('specialty', 200, true),
    reasonCode: conceptTextField('reasonCode', 500, true),
    priority: element('priority', { type: 'integer', minimum: 0, maximum: 9 }),
    description: element('description', text(2000)),
    comment: element('comment', text(2000)),
    patientInstruction: element('patientInstruction', text(2000)),
    cancelationReason: conceptTextField('cancelationReason', 500),
    basedOnId: reference('basedOn', 'ServiceRequest', { list: true }),
    requestedPeriod,
    created: element('created', DATE_TIME_SCHEMA),
  },
  initial: () => ({ created: new Date().toISOString() }),
  filters: {
    patientId: { param: 'patient', valuePrefix: 'Patient/' },
    practitionerId: { param: 'practitioner', valuePrefix: 'Practitioner/' },
    status: { param: 'status' },
    ...dateRangeFilters('date'),
  },
  finish: finishTimes,
  sorts: { start: 'date', status: 'status', updatedAt: '_lastUpdated' },
  include: true,
};
