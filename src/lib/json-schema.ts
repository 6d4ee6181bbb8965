// JSON Schema (draft-07, as every file in schemas/) validation with ajv, so the schema file itself
// is what the CLI enforces (no second copy of the rules to drift). ajv's strict mode refuses a
// schema keyword it does not know: a rule that is not checked must not look checked. Its errors are
// turned into one problem per field, at paths such as `users[2].name`, in words for an operator.
// ajv is loaded and its instance made on the first validation, not at module load: every
// `streamctl` command loads this module (the sync command is part of the program), few validate.
import type { default as AjvClass, ErrorObject, ValidateFunction } from 'ajv';

export type JsonSchema = { [keyword: string]: unknown };

/** One problem with a value, at a path such as `users[2].name` (`(root)` for the whole value). */
export interface SchemaProblem {
  path: string;
  message: string;
}

// allErrors: report every problem at once (an operator fixes a file in one go); verbose: the
// failing value and schema, for the messages below. `format` is documentation in our schemas.
let ajvInstance: AjvClass | undefined;
function ajv(): AjvClass {
  if (!ajvInstance) {
    const Ajv = (require('ajv') as { default: typeof AjvClass }).default;
    ajvInstance = new Ajv({ allErrors: true, verbose: true, strict: true, validateFormats: false });
  }
  return ajvInstance;
}
const compiled = new WeakMap<JsonSchema, ValidateFunction>();

function typeOf(value: unknown): string {
  if (value === null) return 'null';
  if (Array.isArray(value)) return 'array';
  if (typeof value === 'number') return Number.isInteger(value) ? 'integer' : 'number';
  return typeof value;
}

const show = (v: unknown) => JSON.stringify(v)?.slice(0, 60) ?? String(v);
const join = (path: string, key: string | number) =>
  typeof key === 'number'
    ? `${path}[${key}]`
    : /^[A-Za-z_][A-Za-z0-9_]*$/.test(key)
      ? path
        ? `${path}.${key}`
        : key
      : `${path}[${JSON.stringify(key)}]`;

/** ajv's JSON Pointer (`/users/2/name`) as `users[2].name`. */
function pathOf(pointer: string): string {
  if (pointer === '') return '';
  return pointer
    .slice(1)
    .split('/')
    .map((part) => part.replace(/~1/g, '/').replace(/~0/g, '~'))
    .reduce<string>((path, part) => join(path, /^(0|[1-9][0-9]*)$/.test(part) ? Number(part) : part), '');
}

function problemOf(e: ErrorObject): SchemaProblem {
  const path = pathOf(e.instancePath);
  const at = path || '(root)';
  const parent = (e.parentSchema ?? {}) as JsonSchema;
  const p = e.params as Record<string, unknown>;
  switch (e.keyword) {
    case 'type':
      return { path: at, message: `expected ${[p.type].flat().join(' or ')}, got ${typeOf(e.data)}` };
    case 'required':
      return { path: at, message: `"${String(p.missingProperty)}" is required` };
    case 'additionalProperties':
      return {
        path: join(path, String(p.additionalProperty)),
        message: `unknown field (expected one of ${Object.keys(parent.properties ?? {}).join(', ')})`,
      };
    case 'enum':
      return { path: at, message: `${show(e.data)} is not one of ${(p.allowedValues as unknown[]).map(show).join(', ')}` };
    case 'const':
      return { path: at, message: `must be ${show(p.allowedValue)}` };
    case 'pattern':
      return {
        path: at,
        message: `${show(e.data)} is invalid: expected ${typeof parent.description === 'string' ? parent.description : `a match for ${String(p.pattern)}`}`,
      };
    default:
      return { path: at, message: e.message ?? e.keyword };
  }
}

/** Validates `value` against `schema`; returns every problem found (empty when valid). */
export function validateJson(schema: JsonSchema, value: unknown): SchemaProblem[] {
  let validate = compiled.get(schema);
  if (!validate) {
    // ajv registers a schema under its $id: the same file parsed again is the schema already known.
    const known = typeof schema.$id === 'string' ? ajv().getSchema(schema.$id) : undefined;
    validate = known ?? ajv().compile(schema);
    compiled.set(schema, validate);
  }
  if (validate(value)) return [];
  return (validate.errors ?? []).map(problemOf);
}
