// A strict parser of Prometheus' text exposition format 0.0.4 (what node_exporter's textfile
// collector reads), for tests. Why not an npm parser: the only one (parse-prometheus-text-format)
// has not been released since 2019 and is lenient (it accepts duplicate series, a TYPE after its
// samples, split families, bad escapes), so a test using it could not fail on what the collector
// rejects. This follows the format's grammar and the collector's rules line by line.

export interface Sample {
  name: string;
  labels: Record<string, string>;
  value: number;
}

export interface MetricFamily {
  name: string;
  help?: string;
  type?: string;
  samples: Sample[];
}

const NAME = '[a-zA-Z_:][a-zA-Z0-9_:]*';
const LABEL_NAME = /^[a-zA-Z_][a-zA-Z0-9_]*$/;
const TYPES = new Set(['counter', 'gauge', 'histogram', 'summary', 'untyped']);
const FLOAT = /^[+-]?(?:(?:\d+\.?\d*|\.\d+)(?:[eE][+-]?\d+)?|Inf|NaN)$/;

/** Parses the text or throws an Error naming the line and what is wrong with it. */
export function parsePrometheusText(text: string): Map<string, MetricFamily> {
  if (text !== '' && !text.endsWith('\n')) throw new Error('the exposition must end with a newline');
  const families = new Map<string, MetricFamily>();
  const closed = new Set<string>(); // families whose block has ended: they may not come back
  let current: string | undefined;
  const family = (name: string, line: number) => {
    if (current !== name) {
      if (closed.has(name) || families.has(name)) throw new Error(`line ${line}: ${name} appears again after another metric family`);
      if (current) closed.add(current);
      current = name;
      families.set(name, { name, samples: [] });
    }
    return families.get(name)!;
  };
  const lines = text.split('\n');
  lines.pop();
  lines.forEach((raw, i) => {
    const n = i + 1;
    if (raw.trim() === '') return;
    if (raw.startsWith('#')) {
      const m = new RegExp(`^#\\s+(HELP|TYPE)\\s+(${NAME})(?:\\s(.*))?$`).exec(raw);
      if (!m) return; // a comment
      const [, kind, name, rest = ''] = m;
      const f = family(name!, n);
      if (kind === 'HELP') {
        if (f.help !== undefined) throw new Error(`line ${n}: second HELP for ${name}`);
        if (/\\[^\\n]/.test(rest.replace(/\\\\/g, ''))) throw new Error(`line ${n}: bad escape in HELP`);
        f.help = rest.replace(/\\(\\|n)/g, (_, c: string) => (c === 'n' ? '\n' : '\\'));
      } else {
        if (f.type !== undefined) throw new Error(`line ${n}: second TYPE for ${name}`);
        if (f.samples.length) throw new Error(`line ${n}: TYPE for ${name} after its samples`);
        if (!TYPES.has(rest.trim())) throw new Error(`line ${n}: unknown type "${rest}"`);
        f.type = rest.trim();
      }
      return;
    }
    const m = new RegExp(`^(${NAME})(\\{.*\\})?[ \\t]+(\\S+)(?:[ \\t]+(-?\\d+))?[ \\t]*$`).exec(raw);
    if (!m) throw new Error(`line ${n}: not a sample: ${raw}`);
    const [, name, labelText, valueText] = m;
    if (!FLOAT.test(valueText!)) throw new Error(`line ${n}: bad value ${valueText}`);
    const labels = parseLabels(labelText ?? '', n);
    const f = family(name!, n);
    const key = JSON.stringify(Object.entries(labels).sort());
    if (f.samples.some((s) => JSON.stringify(Object.entries(s.labels).sort()) === key))
      throw new Error(`line ${n}: duplicate series ${raw}`);
    const v = valueText!.replace(/^\+/, '');
    f.samples.push({ name: name!, labels, value: v === 'Inf' ? Infinity : v === '-Inf' ? -Infinity : Number(v) });
  });
  return families;
}

function parseLabels(text: string, line: number): Record<string, string> {
  const out: Record<string, string> = {};
  if (text === '') return out;
  let rest = text.slice(1, -1);
  while (rest.length) {
    const m = /^([^=]+)="((?:[^"\\\n]|\\[\\"n])*)"(,|$)/.exec(rest);
    if (!m) throw new Error(`line ${line}: bad label set {${text.slice(1, -1)}}`);
    const [all, name, value] = m;
    if (!LABEL_NAME.test(name!) || name!.startsWith('__')) throw new Error(`line ${line}: bad label name ${name}`);
    if (name! in out) throw new Error(`line ${line}: label ${name} twice`);
    out[name!] = value!.replace(/\\([\\"n])/g, (_, c: string) => (c === 'n' ? '\n' : c));
    rest = rest.slice(all!.length);
  }
  return out;
}
