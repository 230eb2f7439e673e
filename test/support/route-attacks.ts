// Requests that put one tenant's ids wherever an app's routes take a tenant id, built from the
// app's OpenAPI document alone, each paired with the same request carrying a made-up id, so a
// suite can demand the two get the same answer. Bodies are sampled from the routes' schemas.

import { Ajv, type ValidateFunction } from 'ajv';
import addFormatsModule from 'ajv-formats';
import { isUuid, newId } from '../../src/db/ids.js';
import { sample, type JsonSchema, type Operation, type Parameter } from './openapi-cases.js';
import type { OpenApiDocument } from './registered-routes.js';

/** A place in a request that takes a tenant's id: a path parameter, or a uuid in the query or the body. */
export interface IdSlot {
  readonly in: 'path' | 'query' | 'body';
  readonly name: string;
  readonly schema: JsonSchema;
  readonly required: boolean;
}

export interface AttackRequest {
  readonly url: string;
  readonly body: object | undefined;
}

/** One request of the attack, the same request with each attacked value made up, and the problem fields that carried them. */
export interface Attack {
  readonly request: AttackRequest;
  readonly madeUp: AttackRequest;
  readonly fields: readonly string[];
}

/** The values an attack draws on: those only the attacked tenant holds, and the attacker's own. */
export interface AttackValues {
  readonly attacked: readonly string[];
  readonly own: readonly string[];
}

/** Path parameters that name a platform catalog's entry, not a tenant's row, by path, with the reason. */
export type CatalogNames = Readonly<Record<string, Readonly<Record<string, string>>>>;

/** A value put in a slot, and whether it is one of the attacked tenant's. */
interface Filled {
  readonly slot: IdSlot;
  readonly value: string;
  readonly attacked: boolean;
}

/** How a problem's `errors` name a field of each place (Fastify's validation contexts). */
const PROBLEM_FIELD_PREFIX: Record<IdSlot['in'], string> = { path: 'params', query: 'querystring', body: 'body' };

/** Values are sampled from their schemas alone: the attack brings its own ids. */
const NO_KNOWN_VALUES = { valueFor: () => undefined };

const addFormats = addFormatsModule as unknown as (ajv: Ajv) => Ajv;

function takesUuid(schema: JsonSchema): boolean {
  return schema.format === 'uuid' || (schema.anyOf ?? []).some(takesUuid);
}

function pointer(...steps: string[]): string {
  return steps.map((step) => step.replace(/~/g, '~0').replace(/\//g, '~1')).join('/');
}

function fill(path: string, values: Record<string, string>): string {
  return path.replace(/\{(\w+)\}/g, (_all, name: string) => encodeURIComponent(values[name]!));
}

/** Every combination of one option per list. */
function combinations<T>(options: T[][]): T[][] {
  return options.reduce<T[][]>((combos, choices) => combos.flatMap((combo) => choices.map((choice) => [...combo, choice])), [[]]);
}

export function pathParameters(operation: Operation): Parameter[] {
  return operation.parameters.filter((parameter) => parameter.in === 'path');
}

/** Whether the handler saw a request: any answer but a 400, or a 400 whose errors name only fields that carried attacked ids. */
export function reachedHandler(status: number, body: unknown, fields: readonly string[]): boolean {
  if (status !== 400) return true;
  const errors = (body as { errors?: { field: string }[] } | undefined)?.errors ?? [];
  return errors.length > 0 && errors.every((error) => fields.includes(error.field));
}

export class RouteAttacks {
  /** One made-up id for the whole run: a UUIDv7 no row has. */
  readonly #madeUpId = newId();
  readonly #ajv: Ajv;
  readonly #validators = new Map<JsonSchema | Operation, ValidateFunction>();

  constructor(
    document: OpenApiDocument,
    private readonly catalogNames: CatalogNames,
  ) {
    this.#ajv = addFormats(new Ajv({ strict: false, allErrors: true }));
    // The document is one schema resource, so a body schema's #/components/schemas/... refs resolve.
    this.#ajv.addSchema(document, 'openapi.json');
  }

  isCatalogName(operation: Operation, parameter: Parameter): boolean {
    return this.catalogNames[operation.path]?.[parameter.name] !== undefined;
  }

  /** Every path parameter but catalog names, and every query parameter and top-level body field that takes a uuid. */
  idSlots(operation: Operation): IdSlot[] {
    const body = operation.body;
    return [
      ...pathParameters(operation)
        .filter((parameter) => !this.isCatalogName(operation, parameter))
        .map((parameter) => ({ in: 'path' as const, name: parameter.name, schema: parameter.schema, required: true })),
      ...operation.parameters
        .filter((parameter) => parameter.in === 'query' && takesUuid(parameter.schema))
        .map((parameter) => ({ in: 'query' as const, name: parameter.name, schema: parameter.schema, required: parameter.required ?? false })),
      ...Object.entries(body?.properties ?? {})
        .filter(([, schema]) => takesUuid(schema))
        .map(([name, schema]) => ({ in: 'body' as const, name, schema, required: body?.required?.includes(name) ?? false })),
    ];
  }

  /** Why a body is not one the operation's schema accepts; empty when it is. */
  schemaRefusals(operation: Operation, body: unknown): string[] {
    const ref = `openapi.json#/${pointer('paths', operation.path, operation.method.toLowerCase(), 'requestBody', 'content', 'application/json', 'schema')}`;
    const validate = this.#validator(operation, { $ref: ref });
    return validate(body) ? [] : [this.#ajv.errorsText(validate.errors)];
  }

  /**
   * A body the route's schema accepts, so a request reaches its handler: its required fields,
   * or every field where the schema asks more than its required list says (if/then/else).
   */
  bodyFor(operation: Operation): object | undefined {
    const schema = operation.body;
    if (!schema) return undefined;
    const minimal = sample(schema, '', NO_KNOWN_VALUES) as object;
    if (this.schemaRefusals(operation, minimal).length === 0) return minimal;
    return sample({ ...schema, required: Object.keys(schema.properties ?? {}) }, '', NO_KNOWN_VALUES) as object;
  }

  /**
   * Every request in which at least one slot holds an attacked value. Required slots take
   * attacked values or the attacker's own (so "my project, your user" goes as deep as the
   * handler goes); each optional slot is attacked on its own, carrying attacked values, beside
   * the required ones and without the base body's other optional ids, so the handler meets the
   * attacked value first.
   */
  idAttacks(operation: Operation, base: object | undefined, values: AttackValues): Attack[] {
    const slots = this.idSlots(operation);
    const optional = slots.filter((slot) => !slot.required);
    const candidates = (slot: IdSlot, withOwn: boolean): Filled[] => [
      ...values.attacked.filter((value) => this.#fits(slot.schema, value)).map((value) => ({ slot, value, attacked: true })),
      ...(withOwn ? values.own.filter((value) => this.#fits(slot.schema, value)).map((value) => ({ slot, value, attacked: false })) : []),
    ];
    const required = slots.filter((slot) => slot.required).map((slot) => candidates(slot, true));
    const withoutOptionalIds = base && Object.fromEntries(Object.entries(base).filter(([name]) => !optional.some((slot) => slot.in === 'body' && slot.name === name)));
    return [undefined, ...optional].flatMap((extra) => {
      const body = extra?.in === 'body' ? withoutOptionalIds : base;
      return combinations(extra ? [...required, candidates(extra, false)] : required)
        .filter((filled) => filled.some((entry) => entry.attacked))
        .map((filled) => ({
          request: this.#requestOf(operation, body, filled, false),
          madeUp: this.#requestOf(operation, body, filled, true),
          fields: filled.filter((entry) => entry.attacked).map(({ slot }) => `${PROBLEM_FIELD_PREFIX[slot.in]}.${slot.name}`),
        }));
    });
  }

  /** Every way to fill a path of catalog names alone with the given names that fit. */
  catalogAttacks(operation: Operation, names: readonly string[]): string[] {
    const options = pathParameters(operation).map((parameter) =>
      names.filter((name) => this.#fits(parameter.schema, name)).map((name) => [parameter.name, name]),
    );
    return combinations(options).map((combo) => fill(operation.path, Object.fromEntries(combo)));
  }

  /**
   * The request carrying these values (or, made up, each attacked one replaced by a made-up
   * one): catalog names in the path take the plainest name their schema accepts, and the body
   * is `base` with the values set.
   */
  #requestOf(operation: Operation, base: object | undefined, filled: Filled[], madeUp: boolean): AttackRequest {
    const valueOf = ({ slot, value, attacked }: Filled) => (madeUp && attacked ? this.#madeUpLike(operation, slot, value) : value);
    const within = (place: IdSlot['in']) => filled.filter(({ slot }) => slot.in === place);
    const path = fill(operation.path, {
      ...Object.fromEntries(
        pathParameters(operation)
          .filter((parameter) => this.isCatalogName(operation, parameter))
          .map((parameter) => [parameter.name, String(sample(parameter.schema, parameter.name, NO_KNOWN_VALUES))]),
      ),
      ...Object.fromEntries(within('path').map((entry) => [entry.slot.name, valueOf(entry)])),
    });
    const query = within('query').map((entry) => `${entry.slot.name}=${encodeURIComponent(valueOf(entry))}`);
    return {
      url: query.length > 0 ? `${path}?${query.join('&')}` : path,
      body: base && { ...base, ...Object.fromEntries(within('body').map((entry) => [entry.slot.name, valueOf(entry)])) },
    };
  }

  #madeUpLike(operation: Operation, slot: IdSlot, value: string): string {
    if (isUuid(value)) return this.#madeUpId;
    throw new Error(`${operation.path}: no made-up value shaped like ${value} for ${slot.in} ${slot.name}; add one here, or list the parameter as a catalog name`);
  }

  #fits(schema: JsonSchema, value: string): boolean {
    return this.#validator(schema, schema)(value);
  }

  #validator(key: JsonSchema | Operation, schema: object): ValidateFunction {
    let validate = this.#validators.get(key);
    if (!validate) this.#validators.set(key, (validate = this.#ajv.compile(schema)));
    return validate;
  }
}
