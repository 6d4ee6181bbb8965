// A small JSON Schema (draft-07, as every file in schemas/) validator for the subset our schema files use, so the schema file
// itself is what the CLI enforces (no second copy of the rules to drift). Unsupported keywords are
// an error in the schema, not silently ignored: a rule that is not checked must not look checked.

export type JsonSchema = { [keyword: string]: unknown };

/** One problem with a value, at a path such as `users[2].name` (`(root)` for the whole value). */
export interface SchemaProblem {
  path: string;
  message: string;
}

const KNOWN = new Set([
  '$schema', '$id', 'definitions', '$comment', 'title', 'description', 'examples', 'default', 'format',
  'type', 'enum', 'const', '$ref', 'properties', 'required', 'additionalProperties', 'items',
  'minItems', 'maxItems', 'minLength', 'maxLength', 'pattern', 'minimum', 'maximum',
]);

function typeOf(value: unknown): string {
  if (value === null) return 'null';
  if (Array.isArray(value)) return 'array';
  if (typeof value === 'number') return Number.isInteger(value) ? 'integer' : 'number';
  return typeof value;
}

function matchesType(value: unknown, type: string): boolean {
  const t = typeOf(value);
  return t === type || (type === 'number' && t === 'integer');
}

const show = (v: unknown) => JSON.stringify(v)?.slice(0, 60) ?? String(v);
const join = (path: string, key: string | number) =>
  typeof key === 'number' ? `${path}[${key}]` : /^[A-Za-z_][A-Za-z0-9_]*$/.test(key) ? (path ? `${path}.${key}` : key) : `${path}[${JSON.stringify(key)}]`;

/** Validates `value` against `schema`; returns every problem found (empty when valid). */
export function validateJson(schema: JsonSchema, value: unknown): SchemaProblem[] {
  const problems: SchemaProblem[] = [];
  const root = schema;
  const check = (s: JsonSchema, v: unknown, path: string): void => {
    const at = path || '(root)';
    for (const k of Object.keys(s)) if (!KNOWN.has(k)) throw new Error(`schema keyword "${k}" is not supported by src/lib/json-schema.ts`);
    if (typeof s.$ref === 'string') {
      const m = /^#\/definitions\/([A-Za-z0-9_-]+)$/.exec(s.$ref);
      const target = m ? ((root.definitions ?? {}) as Record<string, JsonSchema>)[m[1]!] : undefined;
      if (!target) throw new Error(`schema $ref "${s.$ref}" does not resolve`);
      check(target, v, path);
    }
    if (s.type !== undefined) {
      const types = Array.isArray(s.type) ? (s.type as string[]) : [s.type as string];
      if (!types.some((t) => matchesType(v, t))) {
        problems.push({ path: at, message: `expected ${types.join(' or ')}, got ${typeOf(v)}` });
        return;
      }
    }
    if (s.const !== undefined && v !== s.const) problems.push({ path: at, message: `must be ${show(s.const)}` });
    if (Array.isArray(s.enum) && !s.enum.includes(v)) problems.push({ path: at, message: `${show(v)} is not one of ${(s.enum as unknown[]).map(show).join(', ')}` });
    if (typeof v === 'string') {
      if (typeof s.minLength === 'number' && [...v].length < s.minLength) problems.push({ path: at, message: `shorter than ${s.minLength} character(s)` });
      if (typeof s.maxLength === 'number' && [...v].length > s.maxLength) problems.push({ path: at, message: `longer than ${s.maxLength} characters` });
      if (typeof s.pattern === 'string' && !new RegExp(s.pattern, 'u').test(v)) {
        problems.push({ path: at, message: `${show(v)} is invalid: expected ${typeof s.description === 'string' ? s.description : `a match for ${s.pattern}`}` });
      }
    }
    if (typeof v === 'number') {
      if (typeof s.minimum === 'number' && v < s.minimum) problems.push({ path: at, message: `${v} is below the minimum ${s.minimum}` });
      if (typeof s.maximum === 'number' && v > s.maximum) problems.push({ path: at, message: `${v} is above the maximum ${s.maximum}` });
    }
    if (Array.isArray(v)) {
      if (typeof s.minItems === 'number' && v.length < s.minItems) problems.push({ path: at, message: `fewer than ${s.minItems} item(s)` });
      if (typeof s.maxItems === 'number' && v.length > s.maxItems) problems.push({ path: at, message: `more than ${s.maxItems} items` });
      if (s.items && typeof s.items === 'object') v.forEach((item, i) => check(s.items as JsonSchema, item, join(path, i)));
    }
    if (typeOf(v) === 'object') {
      const obj = v as Record<string, unknown>;
      const props = (s.properties ?? {}) as Record<string, JsonSchema>;
      for (const name of (s.required ?? []) as string[]) if (!(name in obj)) problems.push({ path: at, message: `"${name}" is required` });
      for (const [name, child] of Object.entries(obj)) {
        if (props[name]) check(props[name]!, child, join(path, name));
        else if (s.additionalProperties === false) problems.push({ path: join(path, name), message: `unknown field (expected one of ${Object.keys(props).join(', ')})` });
        else if (s.additionalProperties && typeof s.additionalProperties === 'object') check(s.additionalProperties as JsonSchema, child, join(path, name));
      }
    }
  };
  check(schema, value, '');
  return problems;
}

