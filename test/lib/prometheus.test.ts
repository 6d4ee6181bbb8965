// The Prometheus text exposition (src/lib/prometheus.ts), read back by the strict test parser of
// the format (test/support/prometheus-text.ts) so what node_exporter's textfile collector rejects fails here.
import { describe, expect, it } from 'vitest';
import { renderExposition, type Family } from '../../src/lib/prometheus';
import { parsePrometheusText } from '../support/prometheus-text';

describe('renderExposition', () => {
  it('writes one HELP and one TYPE line per family, then its samples', () => {
    const text = renderExposition([
      { name: 'streamctl_users', help: 'Users.', type: 'gauge', samples: [{ value: 3 }] },
      {
        name: 'streamctl_events_total',
        help: 'Events.',
        type: 'counter',
        samples: [
          { labels: { kind: 'view', outcome: 'refused' }, value: 7 },
          { labels: { kind: 'push', outcome: 'ok' }, value: 0 },
        ],
      },
    ]);
    expect(text).toBe(
      '# HELP streamctl_users Users.\n# TYPE streamctl_users gauge\nstreamctl_users 3\n' +
        '# HELP streamctl_events_total Events.\n# TYPE streamctl_events_total counter\n' +
        'streamctl_events_total{kind="view",outcome="refused"} 7\nstreamctl_events_total{kind="push",outcome="ok"} 0\n',
    );
    expect([...parsePrometheusText(text).keys()]).toEqual(['streamctl_users', 'streamctl_events_total']);
  });

  it.each([
    ['a backslash', 'C:\\dir', 'C:\\\\dir'],
    ['a newline', 'two\nlines', 'two\\nlines'],
    ['a double quote', 'say "hi"', 'say \\"hi\\"'],
    ['all three', '\\\n"', '\\\\\\n\\"'],
  ])('escapes %s in a label value and reads back the same value', (_what, raw, escaped) => {
    const text = renderExposition([{ name: 'm', help: 'h', type: 'gauge', samples: [{ labels: { channel: raw }, value: 1 }] }]);
    expect(text).toContain(`m{channel="${escaped}"} 1\n`);
    expect(parsePrometheusText(text).get('m')?.samples[0]?.labels).toEqual({ channel: raw });
  });

  it('escapes backslash and newline in HELP text but not the double quote', () => {
    expect(renderExposition([{ name: 'm', help: 'a "b"\\c\nd', type: 'gauge', samples: [] }])).toBe(
      '# HELP m a "b"\\\\c\\nd\n# TYPE m gauge\n',
    );
  });

  it.each([
    [NaN, 'NaN'],
    [Infinity, '+Inf'],
    [-Infinity, '-Inf'],
    [0.25, '0.25'],
    [-3, '-3'],
    [1e21, '1e+21'],
  ])('writes the value %d as %j', (v, text) => {
    const out = renderExposition([{ name: 'm', help: 'h', type: 'gauge', samples: [{ value: v }] }]);
    expect(out.endsWith(`m ${text}\n`)).toBe(true);
    expect(() => parsePrometheusText(out)).not.toThrow();
  });

  it.each<[string, Family]>([
    ['a metric name starting with a digit', { name: '1m', help: 'h', type: 'gauge', samples: [] }],
    ['a metric name with a dash', { name: 'a-b', help: 'h', type: 'gauge', samples: [] }],
    ['a label name with a dash', { name: 'm', help: 'h', type: 'gauge', samples: [{ labels: { 'a-b': 'x' }, value: 1 }] }],
    ['a reserved label name', { name: 'm', help: 'h', type: 'gauge', samples: [{ labels: { __name__: 'x' }, value: 1 }] }],
  ])('throws on %s', (_what, family) => {
    expect(() => renderExposition([family])).toThrow(/invalid (metric|label) name/);
  });

  it('renders nothing for no families', () => {
    expect(renderExposition([])).toBe('');
  });
});
