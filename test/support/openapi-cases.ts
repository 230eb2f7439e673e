// Malformed requests derived from an operation of /openapi.json: a plausible request built
// from its schemas, then broken one way at a time. Seeded, so every run sends the same cases.

/** The subset of JSON Schema the server's request schemas use. */
export interface JsonSchema {
  type?: string;
  format?: string;
  pattern?: string;
  minLength?: number;
  maxLength?: number;
  minimum?: number;
  maximum?: number;
  enum?: unknown[];
  const?: unknown;
  anyOf?: JsonSchema[];
  properties?: Record<string, JsonSchema>;
  required?: string[];
  additionalProperties?: boolean | JsonSchema;
  items?: JsonSchema;
  minItems?: number;
  minProperties?: number;
  [keyword: string]: unknown;
}

export interface Parameter {
  in: 'path' | 'query' | 'header' | 'cookie';
  name: string;
  required?: boolean;
  schema: JsonSchema;
}

export interface Operation {
  readonly method: string;
  /** OpenAPI form: /v1/tasks/{id}. */
  readonly path: string;
  readonly parameters: Parameter[];
  readonly body: JsonSchema | undefined;
}

export interface FuzzCase {
  readonly label: string;
  readonly method: string;
  readonly url: string;
  readonly headers: Record<string, string>;
  readonly payload?: string;
  /** The request is wrong whatever the server's state: anything but a 4xx is a bug. */
  readonly mustRefuse: boolean;
  /** The URL resolves to another route (dot segments), so this operation's declared answers do not apply. */
  readonly otherRoute?: boolean;
}

/** Values the server holds, so plausible requests reach handlers instead of stopping at a 404. */
export interface KnownValues {
  /** A value for a path parameter, a body field or a query parameter of this name, if one is known. */
  valueFor(name: string, schema: JsonSchema): unknown;
}

/** The server's default TENANTRY_BODY_LIMIT: a body past it must be a 413. */
const BODY_LIMIT_BYTES = 1024 * 1024;

let emails = 0;

/** Text PostgreSQL cannot store: always refused. */
const UNSTORABLE = ['\u0000', 'a\u0000b', '\ud800', 'x\udfff', 'ok\udc00\ud800'];
/** Text that is odd but legal: never a 5xx, may be accepted. */
const ODD = [
  '\u202eevil\u202c',
  'שלום עולם',
  '👩‍👩‍👧‍👦🚀',
  '%00',
  '%FF%FE',
  "' OR 1=1; --",
  "Robert'); DROP TABLE tasks;--",
  '\\',
  '%_\\%',
  '$1::text',
  '${jndi:ldap://x}',
  '<script>alert(1)</script>',
  '\u2028\u2029',
  '\ufeff',
  ' ',
  '',
  'null',
  '__proto__',
  'a'.repeat(64),
];
/** Stand-ins replaced in the JSON text: values JSON.stringify cannot write. */
const DEEP_JSON = '__deep_json__';
const DEEP_NESTING = 50_000;
const INFINITE_NUMBER = '__infinite_number__';

/** mulberry32: small, fast and the same on every machine. */
export function seededRandom(seed: number): () => number {
  let state = seed >>> 0;
  return () => {
    state = (state + 0x6d2b79f5) >>> 0;
    let t = state;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

function pick<T>(random: () => number, values: readonly T[], count: number): T[] {
  const pool = [...values];
  const chosen: T[] = [];
  while (chosen.length < count && pool.length > 0) chosen.push(pool.splice(Math.floor(random() * pool.length), 1)[0]!);
  return chosen;
}

/** The JSON types a schema admits; empty when it admits anything. */
function admittedTypes(schema: JsonSchema): Set<string> {
  if (schema.anyOf) return new Set(schema.anyOf.flatMap((branch) => [...admittedTypes(branch)]));
  if (schema.type) return new Set(schema.type === 'integer' ? ['integer', 'number'] : [schema.type]);
  if (schema.const !== undefined) return new Set([typeof schema.const]);
  return new Set();
}

const OTHER_TYPES: [string, unknown][] = [
  ['string', 'a string'],
  ['number', 12.5],
  ['integer', 7],
  ['boolean', true],
  ['null', null],
  ['array', ['x']],
  ['object', { x: 1 }],
];

function wrongValue(schema: JsonSchema): unknown {
  const admitted = admittedTypes(schema);
  if (admitted.size === 0) return undefined;
  return OTHER_TYPES.find(([type]) => !admitted.has(type) && !(type === 'integer' && admitted.has('number')))?.[1];
}

/** A plausible value for a schema: known ids where the name says what it is, else the simplest valid shape. */
export function sample(schema: JsonSchema, name: string, known: KnownValues): unknown {
  const given = known.valueFor(name, schema);
  if (given !== undefined) return given;
  if (schema.const !== undefined) return schema.const;
  if (schema.enum) return schema.enum[0];
  if (schema.anyOf) return sample(schema.anyOf.find((branch) => branch.type !== 'null') ?? schema.anyOf[0]!, name, known);
  switch (schema.type) {
    case 'string': {
      if (schema.format === 'uuid') return '01900000-0000-7000-8000-000000000001';
      if (schema.format === 'date-time') return new Date(Date.now() - 3_600_000).toISOString();
      if (schema.format === 'email') return `fuzz-${++emails}@example.test`;
      const candidates = ['fuzz', 'fuzz_value', 'fuzz value'].map((text) => text.padEnd(schema.minLength ?? 0, 'z'));
      const pattern = schema.pattern ? new RegExp(schema.pattern, 'u') : undefined;
      return candidates.find((text) => !pattern || pattern.test(text)) ?? candidates[0];
    }
    case 'integer':
    case 'number':
      return Math.max(schema.minimum ?? 1, Math.min(1, schema.maximum ?? 1));
    case 'boolean':
      return true;
    case 'array':
      return schema.items ? Array.from({ length: Math.max(1, schema.minItems ?? 1) }, () => sample(schema.items!, name, known)) : [];
    case 'object': {
      const properties = Object.entries(schema.properties ?? {});
      const wanted = properties.filter(([key]) => schema.required?.includes(key));
      if (wanted.length === 0 && (schema.minProperties ?? 0) > 0 && properties[0]) wanted.push(properties[0]);
      return Object.fromEntries(wanted.map(([key, property]) => [key, sample(property, key, known)]));
    }
    default:
      return true; // any JSON
  }
}

type Path = (string | number)[];

interface Slot {
  readonly path: Path;
  readonly schema: JsonSchema;
  readonly required: boolean;
}

/** Every field of a body schema, nested objects and the first item of arrays included. */
function slots(schema: JsonSchema, path: Path = []): Slot[] {
  const found: Slot[] = [];
  for (const [key, property] of Object.entries(schema.properties ?? {})) {
    const at = [...path, key];
    found.push({ path: at, schema: property, required: schema.required?.includes(key) ?? false });
    if (property.type === 'object') found.push(...slots(property, at));
    if (property.type === 'array' && property.items) {
      found.push({ path: [...at, 0], schema: property.items, required: true });
      if (property.items.type === 'object') found.push(...slots(property.items, [...at, 0]));
    }
  }
  return found;
}

/** The closed objects of a body (additionalProperties false), where an extra field must be refused. */
function closedObjects(schema: JsonSchema, path: Path = []): Path[] {
  if (schema.type === 'array' && schema.items) return closedObjects(schema.items, [...path, 0]);
  if (schema.type !== 'object') return [];
  const nested = Object.entries(schema.properties ?? {}).flatMap(([key, property]) => closedObjects(property, [...path, key]));
  return schema.additionalProperties === false ? [path, ...nested] : nested;
}

function withValue(base: unknown, path: Path, value: unknown, remove = false): unknown {
  const copy = structuredClone(base) as Record<string | number, unknown>;
  let target = copy;
  for (const step of path.slice(0, -1)) {
    if (typeof target[step] !== 'object' || target[step] === null) target[step] = typeof step === 'number' ? [] : {};
    target = target[step] as Record<string | number, unknown>;
  }
  const last = path[path.length - 1]!;
  if (remove) delete target[last];
  else target[last] = value;
  return copy;
}

function bodyText(body: unknown): string {
  return JSON.stringify(body)
    .replace(`"${DEEP_JSON}"`, '['.repeat(DEEP_NESTING) + ']'.repeat(DEEP_NESTING))
    .replace(`"${INFINITE_NUMBER}"`, '1e999');
}

/** Percent-encodes for a URL; a lone surrogate has no UTF-8 form, so it goes as its CESU-8 bytes. */
function encode(text: string): string {
  try {
    return encodeURIComponent(text);
  } catch {
    return [...text].map((char) => (/[\ud800-\udfff]/.test(char) ? '%ED%A0%80' : encodeURIComponent(char))).join('');
  }
}

const BAD_CURSORS = [
  'not-base64!',
  Buffer.from('[1,2,3]').toString('base64url'),
  Buffer.from(JSON.stringify(['2024-13-01T00:00:00.000000Z', '01900000-0000-7000-8000-000000000001', 'desc'])).toString('base64url'),
  Buffer.from(JSON.stringify(['2024-02-30T00:00:00.000000Z', '01900000-0000-7000-8000-000000000001', 'desc'])).toString('base64url'),
  Buffer.from(JSON.stringify(['2024-02-03T25:00:00.000000Z', '01900000-0000-7000-8000-000000000001', 'desc'])).toString('base64url'),
  Buffer.from(JSON.stringify(['2024-02-03T10:00:00.000000Z', "'; DROP TABLE tasks;--", 'desc'])).toString('base64url'),
];

const FOREIGN_MEDIA_TYPES = ['text/plain', 'application/x-www-form-urlencoded', 'multipart/form-data; boundary=x', 'application/xml', 'application/octet-stream'];

/**
 * The cases for one operation. `headers` authenticate it; `random` picks which odd strings
 * each field gets, so the set is fixed per seed and still varies between fields.
 */
export function casesFor(operation: Operation, known: KnownValues, headers: Record<string, string>, random: () => number): FuzzCase[] {
  const cases: FuzzCase[] = [];
  const pathValues = Object.fromEntries(
    operation.parameters.filter((p) => p.in === 'path').map((p) => [p.name, encode(String(sample(p.schema, p.name, known)))]),
  );
  const url = (params: Record<string, string> = {}, query = '') =>
    operation.path.replace(/\{(\w+)\}/g, (_all, name: string) => params[name] ?? pathValues[name]!) + (query ? `?${query}` : '');
  const base = operation.body ? sample(operation.body, '', known) : undefined;
  const send = (
    label: string,
    mustRefuse: boolean,
    request: { url?: string; body?: unknown; raw?: string; noBody?: boolean; headers?: Record<string, string>; otherRoute?: boolean },
  ) => {
    const body = request.body ?? base;
    const payload = request.noBody ? undefined : (request.raw ?? (body === undefined ? undefined : bodyText(body)));
    cases.push({
      label: `${operation.method} ${operation.path}: ${label}`,
      method: operation.method,
      url: request.url ?? url(),
      headers: { ...headers, ...(payload === undefined ? {} : { 'content-type': 'application/json' }), ...request.headers },
      ...(payload === undefined ? {} : { payload }),
      mustRefuse,
      ...(request.otherRoute ? { otherRoute: true } : {}),
    });
  };

  for (const parameter of operation.parameters.filter((p) => p.in === 'path')) {
    const bad = ['not-a-uuid', '%00', 'a%00b', '%FF%FE', 'a'.repeat(101), '%2F..%2Fadmin', ...pick(random, UNSTORABLE, 1).map(encode)];
    for (const value of bad) send(`path ${parameter.name}=${value.slice(0, 24)}`, true, { url: url({ [parameter.name]: value }) });
    // Dot segments are resolved before routing (/v1/projects/../members is /v1/members): any answer but a 5xx.
    send(`path ${parameter.name}=..`, false, { url: url({ [parameter.name]: '..' }), otherRoute: true });
  }

  for (const parameter of operation.parameters.filter((p) => p.in === 'query')) {
    const { name, schema } = parameter;
    const set = (value: string) => `${name}=${value}`;
    send(`query ${name} holds a NUL`, true, { url: url({}, set('a%00')) });
    send(`query ${name} is repeated`, true, { url: url({}, `${set('1')}&${set('2')}`) });
    if (schema.maxLength !== undefined) send(`query ${name} over maxLength`, true, { url: url({}, set('q'.repeat(schema.maxLength + 1))) });
    send(`query ${name} of 1 MiB`, true, { url: url({}, set('q'.repeat(BODY_LIMIT_BYTES + 16))) });
    if (schema.type === 'integer') for (const value of ['abc', '1.5', '-1', '1e309', '99999999999999999999']) send(`query ${name}=${value}`, true, { url: url({}, set(value)) });
    if (schema.anyOf || schema.enum || schema.format) send(`query ${name} not one of its values`, true, { url: url({}, set('nope%20nope')) });
    if (name === 'cursor') for (const cursor of BAD_CURSORS) send(`query cursor=${cursor.slice(0, 16)}`, true, { url: url({}, set(encode(cursor))) });
    for (const odd of pick(random, ODD, 3)) send(`query ${name}=${JSON.stringify(odd).slice(0, 24)}`, false, { url: url({}, set(encode(odd))) });
  }
  send('an unknown query parameter', operation.parameters.some((p) => p.in === 'query'), { url: url({}, 'zz_fuzz=1') });

  if (!operation.body) return cases;
  const schema = operation.body;
  send('an empty body', true, { raw: '' });
  // A logout may send no body at all: the bearer token alone says which session ends.
  send('no body at all', operation.path !== '/v1/auth/logout', { noBody: true });
  send('malformed JSON', true, { raw: '{"a":' });
  send('an array instead of an object', true, { raw: JSON.stringify([base]) });
  send('null instead of an object', true, { raw: 'null' });
  send('a string instead of an object', true, { raw: '"fuzz"' });
  send('a body over the size limit', true, { raw: JSON.stringify({ padding: 'p'.repeat(BODY_LIMIT_BYTES) }) });
  for (const mediaType of FOREIGN_MEDIA_TYPES) send(`content type ${mediaType}`, true, { headers: { 'content-type': mediaType } });
  for (const path of closedObjects(schema)) send(`an extra field at ${path.join('.') || 'the root'}`, true, { body: withValue(base, [...path, 'zz_fuzz'], 1) });

  let hugeSent = false;
  for (const slot of slots(schema)) {
    const where = slot.path.join('.');
    if (slot.required) send(`${where} missing`, true, { body: withValue(base, slot.path, undefined, true) });
    const wrong = wrongValue(slot.schema);
    if (wrong !== undefined) send(`${where} of the wrong type`, true, { body: withValue(base, slot.path, wrong) });
    const admitted = admittedTypes(slot.schema);
    if (admitted.has('string') || admitted.size === 0) {
      for (const bad of pick(random, UNSTORABLE, 2)) send(`${where}=${JSON.stringify(bad)}`, true, { body: withValue(base, slot.path, bad) });
      for (const odd of pick(random, ODD, 3)) send(`${where}=${JSON.stringify(odd).slice(0, 24)}`, false, { body: withValue(base, slot.path, odd) });
      const maxLength = slot.schema.maxLength ?? slot.schema.anyOf?.find((branch) => branch.maxLength !== undefined)?.maxLength;
      if (maxLength !== undefined) send(`${where} over maxLength`, true, { body: withValue(base, slot.path, 'm'.repeat(maxLength + 1)) });
      if (!hugeSent) send(`${where} of 1 MiB`, true, { body: withValue(base, slot.path, 'h'.repeat(BODY_LIMIT_BYTES + 16)) });
      hugeSent = true;
    }
    if (admitted.has('number')) {
      for (const number of [-1, 1e308, 0.000001, 2 ** 63]) send(`${where}=${number}`, false, { body: withValue(base, slot.path, number) });
      send(`${where}=1e999 (Infinity once parsed)`, false, { body: withValue(base, slot.path, INFINITE_NUMBER) });
    }
    if (admitted.size === 0) {
      send(`${where} nested ${DEEP_NESTING} deep`, true, { body: withValue(base, slot.path, DEEP_JSON) });
      send(`${where} with a NUL in a key`, true, { body: withValue(base, slot.path, { 'a\u0000': 1 }) });
    }
  }
  return cases;
}

/** Every operation of an OpenAPI document. */
export function operationsOf(document: { paths: Record<string, Record<string, { parameters?: Parameter[]; requestBody?: { content: Record<string, { schema: JsonSchema }> } }>> }): Operation[] {
  return Object.entries(document.paths).flatMap(([path, methods]) =>
    Object.entries(methods).map(([method, operation]) => ({
      method: method.toUpperCase(),
      path,
      parameters: operation.parameters ?? [],
      body: operation.requestBody?.content['application/json']?.schema,
    })),
  );
}
